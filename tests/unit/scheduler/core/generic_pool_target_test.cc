#include "scheduler/core/generic_pool_target.h"

#include <catch2/catch.hpp>

using namespace flint::scheduler;

namespace {
GenericPoolTarget WithRefills(GenericPoolTargetOptions options, uint64_t refill_us) {
  GenericPoolTarget target(options);
  for (int i = 0; i < 10; ++i) target.Refilled(refill_us);
  return target;
}
}  // namespace

TEST_CASE("GenericPoolTarget keeps its floor while nothing is taken", "[generic]") {
  GenericPoolTargetOptions options;
  options.floor = 2;
  GenericPoolTarget target(options);
  CHECK(target.Target(0) == 2);
  CHECK(target.refill_ms() == options.default_refill_ms);
}

TEST_CASE("GenericPoolTarget with a floor of 0 keeps no pool at all", "[generic]") {
  GenericPoolTargetOptions options;
  options.floor = 0;
  GenericPoolTarget target(options);
  for (uint64_t t = 0; t < 100; t += 5) target.Took(t);
  CHECK(target.Target(100) == 0);
}

TEST_CASE("GenericPoolTarget covers the largest burst of takes within one refill time",
          "[generic]") {
  GenericPoolTarget target = WithRefills({}, 50'000);  // refills take 50 ms
  REQUIRE(target.refill_ms() == 50);
  // Ten cold starts 5 ms apart: all within one refill time.
  for (uint64_t t = 1'000; t < 1'050; t += 5) target.Took(t);
  CHECK(target.LargestBurst(1'050) == 10);
  CHECK(target.Target(1'050) == 11);
}

TEST_CASE("GenericPoolTarget sizes a steady rate of takes by rate times refill time", "[generic]") {
  GenericPoolTarget target = WithRefills({}, 50'000);
  // A cold start every 10 ms for a second: five come in any 50 ms.
  for (uint64_t t = 0; t < 1'000; t += 10) target.Took(t);
  CHECK(target.Target(1'000) == 6);
  // Refills four times slower need a pool four times larger.
  GenericPoolTarget slow = WithRefills({}, 200'000);
  for (uint64_t t = 0; t < 1'000; t += 10) slow.Took(t);
  CHECK(slow.Target(1'000) == 21);
}

TEST_CASE("GenericPoolTarget falls back to its floor once a burst leaves the window", "[generic]") {
  GenericPoolTargetOptions options;
  options.window_ms = 30'000;
  GenericPoolTarget target = WithRefills(options, 50'000);
  for (int i = 0; i < 20; ++i) target.Took(5'000);
  CHECK(target.Target(5'000) == 21);
  CHECK(target.Target(34'999) == 21);
  CHECK(target.Target(35'000) == 1);
}

TEST_CASE("GenericPoolTarget never exceeds its ceiling, the memory bound", "[generic]") {
  GenericPoolTargetOptions options;
  options.ceiling = 8;
  GenericPoolTarget target = WithRefills(options, 50'000);
  for (int i = 0; i < 50; ++i) target.Took(100);
  CHECK(target.Target(100) == 8);
}

TEST_CASE("GenericPoolTarget adds the caller's refill delay to the measured refill time",
          "[generic]") {
  GenericPoolTargetOptions options;
  options.refill_delay_ms = 100;
  GenericPoolTarget target = WithRefills(options, 20'000);
  CHECK(target.refill_ms() == 120);
}

TEST_CASE("GenericPoolTarget keeps a bounded number of take times", "[generic]") {
  GenericPoolTargetOptions options;
  options.max_takes = 16;
  options.ceiling = 1'000;
  GenericPoolTarget target = WithRefills(options, 50'000);
  for (int i = 0; i < 1'000; ++i) target.Took(10);
  CHECK(target.LargestBurst(10) == 16);
}
