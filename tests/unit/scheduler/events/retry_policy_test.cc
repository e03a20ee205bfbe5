// RetryPolicy: backoff, retry counts and dead-lettering, with the time and jitter passed in.
#include "scheduler/events/retry_policy.h"

#include <catch2/catch.hpp>

using flint::scheduler::events::BackoffMs;
using flint::scheduler::events::DecideAfterFailure;
using flint::scheduler::events::Expired;
using flint::scheduler::events::RetryDecision;
using flint::scheduler::events::RetryPolicy;

TEST_CASE("Backoff doubles per retry and is capped", "[events][retry]") {
  RetryPolicy p;
  p.base_delay_ms = 1000;
  p.max_delay_ms = 10'000;
  // jitter 1.0 (the top of the range) gives the full delay; 0 gives half of it.
  CHECK(BackoffMs(p, 1, 1.0) == 1000);
  CHECK(BackoffMs(p, 2, 1.0) == 2000);
  CHECK(BackoffMs(p, 3, 1.0) == 4000);
  CHECK(BackoffMs(p, 4, 1.0) == 8000);
  CHECK(BackoffMs(p, 5, 1.0) == 10'000);
  CHECK(BackoffMs(p, 60, 1.0) == 10'000);
  CHECK(BackoffMs(p, 1, 0.0) == 500);
  CHECK(BackoffMs(p, 3, 0.0) == 2000);
  CHECK(BackoffMs(p, 3, 0.5) == 3000);
}

TEST_CASE("Jitter keeps every backoff between half and all of the delay", "[events][retry]") {
  RetryPolicy p;
  for (uint32_t retry = 1; retry < 12; ++retry) {
    for (double j : {0.0, 0.1, 0.37, 0.5, 0.99, 1.0}) {
      uint64_t full = BackoffMs(p, retry, 1.0);
      uint64_t b = BackoffMs(p, retry, j);
      CHECK(b >= full / 2);
      CHECK(b <= full);
    }
  }
}

TEST_CASE("A failed event is retried max_retries times, then dead-lettered", "[events][retry]") {
  RetryPolicy p;  // Lambda's default: 2 retries
  int64_t created = 1'000'000, now = created;
  RetryDecision d = DecideAfterFailure(p, 1, created, now, 0.0);
  CHECK(d.kind == RetryDecision::Kind::kRetry);
  CHECK(d.retry_at_ms == now + 500);
  now = d.retry_at_ms;
  d = DecideAfterFailure(p, 2, created, now, 1.0);
  CHECK(d.kind == RetryDecision::Kind::kRetry);
  CHECK(d.retry_at_ms == now + 2000);
  now = d.retry_at_ms;
  d = DecideAfterFailure(p, 3, created, now, 0.5);
  CHECK(d.kind == RetryDecision::Kind::kDeadLetter);
  CHECK(d.reason == "retries exhausted after 3 attempts");

  p.max_retries = 0;
  d = DecideAfterFailure(p, 1, created, created, 0.5);
  CHECK(d.kind == RetryDecision::Kind::kDeadLetter);
  CHECK(d.reason == "retries exhausted after 1 attempt");
}

TEST_CASE("An event past its maximum age is dead-lettered, not retried", "[events][retry]") {
  RetryPolicy p;
  p.max_event_age_ms = 60'000;
  p.base_delay_ms = 10'000;
  int64_t created = 0;
  CHECK_FALSE(Expired(p, created, 60'000));
  CHECK(Expired(p, created, 60'001));
  // A retry that would start after the age limit dead-letters now.
  RetryDecision d = DecideAfterFailure(p, 1, created, 55'000, 1.0);
  CHECK(d.kind == RetryDecision::Kind::kDeadLetter);
  CHECK(d.reason.find("expired") != std::string::npos);
  d = DecideAfterFailure(p, 1, created, 40'000, 1.0);
  CHECK(d.kind == RetryDecision::Kind::kRetry);
  CHECK(d.retry_at_ms == 50'000);
}
