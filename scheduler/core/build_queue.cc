#include "scheduler/core/build_queue.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

BuildQueue::BuildQueue(BuildQueueOptions options)
    : options_(options), typical_build_ms_(options.initial_build_ms) {
  FLINT_CHECK(options_.max_running > 0);
}

BuildQueue::Admission BuildQueue::Admit(BuildId id, uint64_t now_ms) {
  FLINT_CHECK(running_.count(id) == 0);
  if (running_.size() < options_.max_running) {
    running_.insert(id);
    return Admission::kRun;
  }
  if (waiting_.size() >= options_.max_waiting) return Admission::kRejected;
  waiting_.push_back({id, now_ms});
  return Admission::kWait;
}

std::optional<BuildId> BuildQueue::Finish(BuildId id, uint64_t duration_ms) {
  FLINT_CHECK(running_.erase(id) == 1);
  if (duration_ms > 0) {
    // Weight 1/4 for the newest: a few builds move the estimate, one outlier does not set it.
    typical_build_ms_ = (3 * typical_build_ms_ + duration_ms) / 4;
  }
  if (waiting_.empty()) return std::nullopt;
  BuildId next = waiting_.front().id;
  waiting_.pop_front();
  running_.insert(next);
  return next;
}

bool BuildQueue::Cancel(BuildId id) {
  auto it =
      std::find_if(waiting_.begin(), waiting_.end(), [id](const Waiting& w) { return w.id == id; });
  if (it == waiting_.end()) return false;
  waiting_.erase(it);
  return true;
}

std::vector<BuildId> BuildQueue::Expire(uint64_t now_ms) {
  std::vector<BuildId> expired;
  while (!waiting_.empty() && now_ms - waiting_.front().since_ms > options_.max_wait_ms) {
    expired.push_back(waiting_.front().id);
    waiting_.pop_front();
  }
  return expired;
}

std::optional<uint64_t> BuildQueue::NextExpiry() const {
  if (waiting_.empty()) return std::nullopt;
  return waiting_.front().since_ms + options_.max_wait_ms + 1;
}

uint32_t BuildQueue::RetryAfterSeconds() const {
  // Rounds of max_running builds until a new one would start: everything queued, plus the
  // round running now (on average half done, counted whole: better late than early).
  uint64_t rounds = (running_.size() + waiting_.size()) / options_.max_running;
  if (rounds == 0) rounds = 1;
  uint64_t seconds = (rounds * typical_build_ms_ + 999) / 1000;
  return static_cast<uint32_t>(std::clamp<uint64_t>(seconds, 1, 600));
}

}  // namespace flint::scheduler
