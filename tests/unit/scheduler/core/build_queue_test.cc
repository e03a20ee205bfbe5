#include "scheduler/core/build_queue.h"

#include <catch2/catch.hpp>

using namespace flint::scheduler;
using Admission = BuildQueue::Admission;

namespace {

BuildQueueOptions Options(size_t running, size_t waiting, uint64_t max_wait_ms = 1000) {
  BuildQueueOptions options;
  options.max_running = running;
  options.max_waiting = waiting;
  options.max_wait_ms = max_wait_ms;
  options.initial_build_ms = 10'000;
  return options;
}

}  // namespace

TEST_CASE("BuildQueue runs builds up to its limit, then queues, then rejects", "[build_queue]") {
  BuildQueue queue(Options(2, 2));
  CHECK(queue.Admit(1, 0) == Admission::kRun);
  CHECK(queue.Admit(2, 0) == Admission::kRun);
  CHECK(queue.Admit(3, 0) == Admission::kWait);
  CHECK(queue.Admit(4, 0) == Admission::kWait);
  CHECK(queue.Admit(5, 0) == Admission::kRejected);
  CHECK(queue.running() == 2);
  CHECK(queue.waiting() == 2);
}

TEST_CASE("BuildQueue hands a freed slot to the oldest waiting build", "[build_queue]") {
  BuildQueue queue(Options(1, 3));
  CHECK(queue.Admit(1, 0) == Admission::kRun);
  CHECK(queue.Admit(2, 10) == Admission::kWait);
  CHECK(queue.Admit(3, 20) == Admission::kWait);
  CHECK(queue.Finish(1, 500) == std::optional<BuildId>(2));
  CHECK(queue.running() == 1);
  CHECK(queue.waiting() == 1);
  CHECK(queue.Finish(2, 500) == std::optional<BuildId>(3));
  CHECK(queue.Finish(3, 500) == std::nullopt);
  CHECK(queue.running() == 0);
  // A free slot is used at once: nothing waits while one is free.
  CHECK(queue.Admit(4, 30) == Admission::kRun);
}

TEST_CASE("BuildQueue lets a waiting build be cancelled", "[build_queue]") {
  BuildQueue queue(Options(1, 3));
  CHECK(queue.Admit(1, 0) == Admission::kRun);
  CHECK(queue.Admit(2, 0) == Admission::kWait);
  CHECK(queue.Admit(3, 0) == Admission::kWait);
  CHECK(queue.Cancel(2));
  CHECK_FALSE(queue.Cancel(2));
  CHECK_FALSE(queue.Cancel(1));  // running, not waiting
  CHECK(queue.Finish(1, 0) == std::optional<BuildId>(3));
}

TEST_CASE("BuildQueue expires builds that waited longer than the limit, oldest first",
          "[build_queue]") {
  BuildQueue queue(Options(1, 5, 1000));
  CHECK(queue.NextExpiry() == std::nullopt);
  CHECK(queue.Admit(1, 0) == Admission::kRun);
  CHECK(queue.Admit(2, 100) == Admission::kWait);
  CHECK(queue.Admit(3, 600) == Admission::kWait);
  REQUIRE(queue.NextExpiry().has_value());
  CHECK(*queue.NextExpiry() == 1101);
  CHECK(queue.Expire(1100).empty());  // exactly the limit: still waiting
  CHECK(queue.Expire(1101) == std::vector<BuildId>{2});
  CHECK(*queue.NextExpiry() == 1601);
  CHECK(queue.Expire(5000) == std::vector<BuildId>{3});
  CHECK(queue.waiting() == 0);
  CHECK(queue.NextExpiry() == std::nullopt);
  CHECK(queue.running() == 1);  // expiry never touches a running build
}

TEST_CASE("BuildQueue learns how long builds take and bases Retry-After on it", "[build_queue]") {
  BuildQueue queue(Options(2, 10));
  CHECK(queue.typical_build_ms() == 10'000);
  CHECK(queue.RetryAfterSeconds() == 10);  // nothing running: one build's time
  CHECK(queue.Admit(1, 0) == Admission::kRun);
  CHECK(queue.Finish(1, 2'000) == std::nullopt);
  CHECK(queue.typical_build_ms() == 8'000);  // 3/4 of the old estimate, 1/4 of the new
  REQUIRE(queue.Admit(2, 0) == Admission::kRun);
  CHECK(queue.Finish(2, 0) == std::nullopt);
  CHECK(queue.typical_build_ms() == 8'000);  // a build that never ran teaches nothing
  for (BuildId id = 10; id < 16; ++id) queue.Admit(id, 0);  // 2 running, 4 waiting
  CHECK(queue.RetryAfterSeconds() == 24);                   // 3 rounds of 2 builds of 8 s
}

TEST_CASE("BuildQueue keeps Retry-After between 1 s and 10 minutes", "[build_queue]") {
  BuildQueueOptions fast = Options(1, 1);
  fast.initial_build_ms = 1;
  CHECK(BuildQueue(fast).RetryAfterSeconds() == 1);
  BuildQueueOptions slow = Options(1, 100);
  slow.initial_build_ms = 100'000;
  BuildQueue queue(slow);
  for (BuildId id = 1; id <= 50; ++id) queue.Admit(id, 0);
  CHECK(queue.RetryAfterSeconds() == 600);
}
