#include "scheduler/auth/rate_limiter.h"

#include <catch2/catch.hpp>

using namespace flint;
using namespace flint::scheduler::auth;

TEST_CASE("RateLimiter lets a burst through, then refuses with the seconds to wait", "[auth]") {
  RateLimiter limiter(RateLimit{1, 3});
  CHECK(limiter.Take("a", 1000) == 0);
  CHECK(limiter.Take("a", 1000) == 0);
  CHECK(limiter.Take("a", 1000) == 0);
  CHECK(limiter.Take("a", 1000) == 1);
  // Another key has its own bucket.
  CHECK(limiter.Take("b", 1000) == 0);
  // One request per second refills.
  CHECK(limiter.Take("a", 2000) == 0);
  CHECK(limiter.Take("a", 2000) == 1);
}

TEST_CASE("RateLimiter's Retry-After covers the time to the next whole request", "[auth]") {
  RateLimiter limiter(RateLimit{0.25, 1});  // one request every four seconds
  CHECK(limiter.Take("a", 0) == 0);
  CHECK(limiter.Take("a", 0) == 4);
  CHECK(limiter.Take("a", 1000) == 3);
  CHECK(limiter.Take("a", 4000) == 0);
}

TEST_CASE("A disabled RateLimiter never refuses and keeps no state", "[auth]") {
  RateLimiter limiter(RateLimit{});
  for (int i = 0; i < 1000; ++i) CHECK(limiter.Take("a", 0) == 0);
  CHECK(limiter.keys() == 0);
}

TEST_CASE("RateLimiter keeps at most max_keys buckets", "[auth]") {
  RateLimiter limiter(RateLimit{10, 10}, /*max_keys=*/100);
  for (int i = 0; i < 1000; ++i) limiter.Take("k" + std::to_string(i), 5000);
  CHECK(limiter.keys() <= 100);
  // Refilled buckets are dropped first: a key seen long ago starts afresh.
  for (int i = 0; i < 1000; ++i) limiter.Take("n" + std::to_string(i), 100'000);
  CHECK(limiter.keys() <= 100);
}

TEST_CASE("ParseRateLimit reads RATE and RATE/BURST", "[auth]") {
  auto plain = ParseRateLimit("100");
  REQUIRE(plain.ok());
  CHECK(plain->per_second == 100);
  CHECK(plain->burst == 100);
  auto burst = ParseRateLimit("5/20");
  REQUIRE(burst.ok());
  CHECK(burst->per_second == 5);
  CHECK(burst->burst == 20);
  auto off = ParseRateLimit("off");
  REQUIRE(off.ok());
  CHECK_FALSE(off->enabled());
  CHECK_FALSE(ParseRateLimit("fast").ok());
  CHECK_FALSE(ParseRateLimit("-1").ok());
  CHECK_FALSE(ParseRateLimit("10/").ok());
}
