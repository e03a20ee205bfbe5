#include "scheduler/events/retry_policy.h"

#include <algorithm>

namespace flint::scheduler::events {

uint64_t BackoffMs(const RetryPolicy& policy, uint32_t retry, double jitter_unit) {
  uint32_t shift = retry == 0 ? 0 : std::min<uint32_t>(retry - 1, 40);
  uint64_t delay = policy.base_delay_ms;
  for (uint32_t i = 0; i < shift && delay < policy.max_delay_ms; ++i) delay *= 2;
  delay = std::min(delay, policy.max_delay_ms);
  double unit = std::clamp(jitter_unit, 0.0, 1.0);
  uint64_t half = delay / 2;
  uint64_t jitter = static_cast<uint64_t>(static_cast<double>(delay - half) * unit);
  return std::min(delay, half + jitter);
}

bool Expired(const RetryPolicy& policy, int64_t created_ms, int64_t now_ms) {
  return now_ms - created_ms > static_cast<int64_t>(policy.max_event_age_ms);
}

RetryDecision DecideAfterFailure(const RetryPolicy& policy, uint32_t attempts, int64_t created_ms,
                                 int64_t now_ms, double jitter_unit) {
  RetryDecision d;
  if (attempts > policy.max_retries) {
    d.kind = RetryDecision::Kind::kDeadLetter;
    d.reason = "retries exhausted after " + std::to_string(attempts) + " attempt" +
               (attempts == 1 ? "" : "s");
    return d;
  }
  int64_t at = now_ms + static_cast<int64_t>(BackoffMs(policy, attempts, jitter_unit));
  if (Expired(policy, created_ms, at)) {
    d.kind = RetryDecision::Kind::kDeadLetter;
    d.reason = "event expired: older than the maximum event age of " +
               std::to_string(policy.max_event_age_ms / 1000) + " s";
    return d;
  }
  d.retry_at_ms = at;
  return d;
}

}  // namespace flint::scheduler::events
