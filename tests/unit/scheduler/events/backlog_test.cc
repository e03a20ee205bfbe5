// EventBacklog: due times, per-function in-flight limits and round-robin fairness.
#include "scheduler/events/backlog.h"

#include <catch2/catch.hpp>

using flint::scheduler::events::EventBacklog;

namespace {
auto Limit(uint32_t n) {
  return [n](const std::string&) { return n; };
}
}  // namespace

TEST_CASE("EventBacklog hands out only due events, earliest first", "[events][backlog]") {
  EventBacklog b;
  b.Push("f", 1, 100);
  b.Push("f", 2, 50);
  b.Push("f", 3, 200);
  CHECK(b.TakeDue(10, Limit(10)).empty());
  CHECK(b.NextDue() == 50);
  auto due = b.TakeDue(150, Limit(10));
  REQUIRE(due.size() == 2);
  CHECK(due[0].second == 2);
  CHECK(due[1].second == 1);
  CHECK(b.depth("f") == 3);
  CHECK(b.running("f") == 2);
  CHECK(b.NextDue() == 200);
}

TEST_CASE("EventBacklog keeps each function under its in-flight limit", "[events][backlog]") {
  EventBacklog b;
  for (uint64_t k = 1; k <= 10; ++k) b.Push("f", k, 0);
  CHECK(b.TakeDue(0, Limit(3)).size() == 3);
  CHECK(b.TakeDue(0, Limit(3)).empty());
  b.Done("f");
  auto next = b.TakeDue(0, Limit(3));
  REQUIRE(next.size() == 1);
  CHECK(next[0].second == 4);
  CHECK(b.depth("f") == 10 - 1);
}

TEST_CASE("EventBacklog serves functions round-robin", "[events][backlog]") {
  EventBacklog b;
  for (uint64_t k = 1; k <= 100; ++k) b.Push("big", k, 0);
  b.Push("small", 1000, 0);
  auto due = b.TakeDue(0, Limit(2));
  REQUIRE(due.size() == 3);
  int small = 0;
  for (auto& [f, k] : due) small += f == "small";
  CHECK(small == 1);
}

TEST_CASE("EventBacklog drops a function's queued events but not its running ones",
          "[events][backlog]") {
  EventBacklog b;
  for (uint64_t k = 1; k <= 5; ++k) b.Push("f", k, 0);
  CHECK(b.TakeDue(0, Limit(2)).size() == 2);
  auto dropped = b.DropQueued("f");
  CHECK(dropped.size() == 3);
  CHECK(b.depth("f") == 2);
  CHECK(b.total_queued() == 0);
}
