#include "runtime/api/timer_table.h"

#include <algorithm>
#include <string>

namespace flint::runtime {

Result<uint64_t> TimerTable::Add(uint64_t owner, Clock::time_point due, Clock::duration interval) {
  auto found = owners_.find(owner);
  size_t pending = found == owners_.end() ? 0 : found->second.pending;
  if (pending >= limits_.per_owner) {
    return Status(
        Code::kTooManyRequests,
        "too many pending timers: " + std::string(owner == 0 ? "the module" : "an invocation") +
            " may have at most " + std::to_string(limits_.per_owner) +
            " (clear those it no longer needs)");
  }
  if (live_ >= limits_.total) {
    return Status(Code::kTooManyRequests,
                  "too many pending timers: the function may have at most " +
                      std::to_string(limits_.total) + " across its invocations");
  }
  if (found == owners_.end()) found = owners_.emplace(owner, Owner{next_generation_++}).first;
  found->second.pending++;
  live_++;
  uint64_t id = next_id_++;
  timers_.emplace(id, Timer{owner, found->second.generation, due, interval});
  Push(due, id);
  return id;
}

std::optional<uint64_t> TimerTable::Remove(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return std::nullopt;
  Timer timer = it->second;
  timers_.erase(it);
  if (!Alive(timer)) return std::nullopt;
  auto owner = owners_.find(timer.owner);
  live_--;
  if (--owner->second.pending == 0) owners_.erase(owner);
  MaybeCompact();
  return timer.owner;
}

void TimerTable::DropOwner(uint64_t owner) {
  auto found = owners_.find(owner);
  if (found == owners_.end()) return;
  live_ -= found->second.pending;
  owners_.erase(found);
  MaybeCompact();
}

void TimerTable::Clear() {
  timers_.clear();
  owners_.clear();
  queue_.clear();
  live_ = 0;
}

std::optional<TimerTable::Clock::time_point> TimerTable::NextDue() {
  // Forgotten entries at the front are discarded here, so the wake-up is for a live timer.
  while (!queue_.empty()) {
    const QueueEntry& front = queue_.front();
    auto it = timers_.find(front.id);
    if (it != timers_.end() && Alive(it->second) && it->second.due == front.due) {
      return front.due;
    }
    if (it != timers_.end() && !Alive(it->second)) timers_.erase(it);
    std::pop_heap(queue_.begin(), queue_.end());
    queue_.pop_back();
  }
  return std::nullopt;
}

std::optional<TimerTable::Due> TimerTable::PopDue(Clock::time_point now) {
  std::optional<Clock::time_point> next = NextDue();
  if (!next || *next > now) return std::nullopt;
  uint64_t id = queue_.front().id;
  std::pop_heap(queue_.begin(), queue_.end());
  queue_.pop_back();
  auto it = timers_.find(id);
  Timer& timer = it->second;
  Due due{id, timer.owner, timer.interval > Clock::duration::zero()};
  if (due.repeat) {
    timer.due = now + timer.interval;
    Push(timer.due, id);
    return due;
  }
  auto owner = owners_.find(timer.owner);
  timers_.erase(it);
  live_--;
  if (--owner->second.pending == 0) owners_.erase(owner);
  return due;
}

size_t TimerTable::pending(uint64_t owner) const {
  auto found = owners_.find(owner);
  return found == owners_.end() ? 0 : found->second.pending;
}

bool TimerTable::Alive(const Timer& timer) const {
  auto owner = owners_.find(timer.owner);
  return owner != owners_.end() && owner->second.generation == timer.generation;
}

void TimerTable::Push(Clock::time_point due, uint64_t id) {
  queue_.push_back({due, id});
  std::push_heap(queue_.begin(), queue_.end());
}

void TimerTable::MaybeCompact() {
  // Each queue entry is a pending timer, a removed one, or a forgotten one; rebuild once the
  // dead outnumber the live (and are worth the pass).
  if (queue_.size() < 1024 || queue_.size() < 2 * live_ + 1) return;
  std::vector<QueueEntry> kept;
  kept.reserve(live_);
  for (const QueueEntry& entry : queue_) {
    auto it = timers_.find(entry.id);
    if (it == timers_.end() || it->second.due != entry.due) continue;
    if (!Alive(it->second)) {
      timers_.erase(it);
      continue;
    }
    kept.push_back(entry);
  }
  std::make_heap(kept.begin(), kept.end());
  queue_.swap(kept);
}

}  // namespace flint::runtime
