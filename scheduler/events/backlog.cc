#include "scheduler/events/backlog.h"

namespace flint::scheduler::events {

void EventBacklog::Push(const std::string& function, EventKey key, int64_t due_ms) {
  functions_[function].queued.emplace(due_ms, seq_++, key);
  total_queued_++;
}

std::vector<std::pair<std::string, EventKey>> EventBacklog::TakeDue(
    int64_t now_ms, const std::function<uint32_t(const std::string&)>& limit) {
  std::vector<std::pair<std::string, EventKey>> out;
  if (functions_.empty()) return out;
  // Round-robin: one event per function per pass, starting after the function served last.
  bool progress = true;
  while (progress) {
    progress = false;
    auto start = functions_.upper_bound(last_served_);
    for (size_t n = 0, count = functions_.size(); n < count; ++n) {
      if (start == functions_.end()) start = functions_.begin();
      auto it = start++;
      PerFunction& f = it->second;
      if (f.queued.empty() || std::get<0>(*f.queued.begin()) > now_ms) continue;
      if (f.running >= limit(it->first)) continue;
      out.emplace_back(it->first, std::get<2>(*f.queued.begin()));
      f.queued.erase(f.queued.begin());
      f.running++;
      total_queued_--;
      last_served_ = it->first;
      progress = true;
    }
  }
  // Forget idle functions so the map does not grow with every name ever seen.
  for (auto it = functions_.begin(); it != functions_.end();) {
    it =
        it->second.queued.empty() && it->second.running == 0 ? functions_.erase(it) : std::next(it);
  }
  return out;
}

void EventBacklog::Done(const std::string& function) {
  auto it = functions_.find(function);
  if (it == functions_.end() || it->second.running == 0) return;
  it->second.running--;
}

std::vector<EventKey> EventBacklog::DropQueued(const std::string& function) {
  std::vector<EventKey> out;
  auto it = functions_.find(function);
  if (it == functions_.end()) return out;
  for (const auto& q : it->second.queued) out.push_back(std::get<2>(q));
  total_queued_ -= it->second.queued.size();
  it->second.queued.clear();
  return out;
}

size_t EventBacklog::depth(const std::string& function) const {
  auto it = functions_.find(function);
  return it == functions_.end() ? 0 : it->second.queued.size() + it->second.running;
}

std::vector<std::string> EventBacklog::FunctionsWithDepthAtLeast(size_t depth) const {
  std::vector<std::string> out;
  for (const auto& [function, f] : functions_) {
    if (f.queued.size() + f.running >= depth) out.push_back(function);
  }
  return out;
}

size_t EventBacklog::running(const std::string& function) const {
  auto it = functions_.find(function);
  return it == functions_.end() ? 0 : it->second.running;
}

std::optional<int64_t> EventBacklog::NextDue() const {
  std::optional<int64_t> best;
  for (const auto& [name, f] : functions_) {
    if (f.queued.empty()) continue;
    int64_t due = std::get<0>(*f.queued.begin());
    if (!best || due < *best) best = due;
  }
  return best;
}

}  // namespace flint::scheduler::events
