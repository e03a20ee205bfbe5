// RetryPolicy: what happens to an async event after a failed attempt (docs/triggers.md).
//
// A failed attempt (error, timeout, crash, out of memory) is retried after an exponential
// backoff with jitter, up to `max_retries` retries (Lambda's default is 2, so at most 3
// attempts); after that, or once the event is older than `max_event_age_ms`, the event moves to
// the dead-letter list with its last error. Pure: the caller passes the time and the random
// number, so every decision is reproducible in tests.
#pragma once

#include <cstdint>
#include <string>

namespace flint::scheduler::events {

struct RetryPolicy {
  uint32_t max_retries = 2;                     // retries after the first attempt
  uint64_t base_delay_ms = 1'000;               // backoff before the first retry (before jitter)
  uint64_t max_delay_ms = 300'000;              // backoff cap
  uint64_t max_event_age_ms = 6 * 3600'000ull;  // older events are dead-lettered, not run
};

struct RetryDecision {
  enum class Kind { kRetry, kDeadLetter };
  Kind kind = Kind::kRetry;
  int64_t retry_at_ms = 0;  // kRetry: when the next attempt may start
  std::string reason;       // kDeadLetter: why ("retries exhausted", "event expired")
};

// The backoff before retry number `retry` (1 for the first retry): base * 2^(retry-1), capped at
// max_delay_ms, then "equal jitter": half of it fixed and half scaled by `jitter_unit` in [0, 1).
uint64_t BackoffMs(const RetryPolicy& policy, uint32_t retry, double jitter_unit);

// True when an event created at `created_ms` is too old to start at `now_ms`.
bool Expired(const RetryPolicy& policy, int64_t created_ms, int64_t now_ms);

// The decision after attempt number `attempts` (1-based, the attempt that just failed) of an
// event created at `created_ms`. A retry that would start after the event's maximum age is a
// dead letter now rather than later.
RetryDecision DecideAfterFailure(const RetryPolicy& policy, uint32_t attempts, int64_t created_ms,
                                 int64_t now_ms, double jitter_unit);

}  // namespace flint::scheduler::events
