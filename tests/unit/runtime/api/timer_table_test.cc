#include "runtime/api/timer_table.h"

#include <catch2/catch.hpp>
#include <vector>

using flint::Code;
using flint::runtime::TimerLimits;
using flint::runtime::TimerTable;
using namespace std::chrono_literals;

namespace {

const TimerTable::Clock::time_point kStart{};

// Ids of the timers due at `now`, in the order they come.
std::vector<uint64_t> PopAll(TimerTable& table, TimerTable::Clock::time_point now) {
  std::vector<uint64_t> ids;
  while (auto due = table.PopDue(now)) ids.push_back(due->id);
  return ids;
}

}  // namespace

TEST_CASE("TimerTable gives timers in order of due time, then of creation", "[timers]") {
  TimerTable table;
  uint64_t late = *table.Add(1, kStart + 50ms, 0ms);
  uint64_t a = *table.Add(1, kStart + 10ms, 0ms);
  uint64_t b = *table.Add(2, kStart + 10ms, 0ms);
  uint64_t c = *table.Add(0, kStart + 20ms, 0ms);
  CHECK(table.NextDue() == kStart + 10ms);
  CHECK(PopAll(table, kStart + 5ms).empty());
  CHECK(PopAll(table, kStart + 20ms) == std::vector<uint64_t>{a, b, c});
  CHECK(table.size() == 1);
  CHECK(PopAll(table, kStart + 60ms) == std::vector<uint64_t>{late});
  CHECK_FALSE(table.NextDue().has_value());
}

TEST_CASE("TimerTable removes one timer, or forgets all of an owner's", "[timers]") {
  TimerTable table;
  uint64_t a = *table.Add(1, kStart + 10ms, 0ms);
  uint64_t b = *table.Add(1, kStart + 10ms, 0ms);
  uint64_t c = *table.Add(2, kStart + 10ms, 0ms);
  CHECK(table.Remove(a) == 1u);
  CHECK_FALSE(table.Remove(a).has_value());
  table.DropOwner(2);
  CHECK_FALSE(table.Remove(c).has_value());
  CHECK(table.pending(1) == 1);
  CHECK(table.pending(2) == 0);
  CHECK(PopAll(table, kStart + 10ms) == std::vector<uint64_t>{b});
}

TEST_CASE("TimerTable reschedules a repeating timer after it ran", "[timers]") {
  TimerTable table;
  uint64_t every = *table.Add(1, kStart + 10ms, 10ms);
  auto due = table.PopDue(kStart + 15ms);
  REQUIRE(due.has_value());
  CHECK(due->id == every);
  CHECK(due->repeat);
  CHECK(table.NextDue() == kStart + 25ms);
  CHECK(table.Remove(every) == 1u);
  CHECK_FALSE(table.NextDue().has_value());
}

TEST_CASE("TimerTable refuses timers beyond an owner's bound and the table's", "[timers]") {
  TimerTable table(TimerLimits{3, 5});
  for (int i = 0; i < 3; ++i) REQUIRE(table.Add(1, kStart + 1ms, 0ms).ok());
  auto refused = table.Add(1, kStart + 1ms, 0ms);
  CHECK(refused.status().code() == Code::kTooManyRequests);
  CHECK(refused.status().message() ==
        "too many pending timers: an invocation may have at most 3 (clear those it no longer "
        "needs)");
  for (int i = 0; i < 2; ++i) REQUIRE(table.Add(2, kStart + 1ms, 0ms).ok());
  CHECK(table.Add(3, kStart + 1ms, 0ms).status().message() ==
        "too many pending timers: the function may have at most 5 across its invocations");
  table.DropOwner(1);
  CHECK(table.Add(3, kStart + 1ms, 0ms).ok());
}

TEST_CASE("TimerTable forgets a flood of an owner's timers and reclaims their memory", "[timers]") {
  TimerTable table;
  auto add_many = [&](uint64_t owner, int n) {
    int added = 0;
    for (int i = 0; i < n; ++i) added += table.Add(owner, kStart + 1h, 0ms).ok() ? 1 : 0;
    return added;
  };
  CHECK(add_many(7, 100'000) == 100'000);
  uint64_t keep = *table.Add(8, kStart + 2h, 0ms);
  table.DropOwner(7);
  CHECK(table.size() == 1);
  CHECK(table.NextDue() == kStart + 2h);
  // A new owner gets its whole bound, and an owner id seen before starts afresh.
  CHECK(add_many(7, 100'000) == 100'000);
  CHECK(table.pending(7) == 100'000);
  table.DropOwner(7);
  CHECK(PopAll(table, kStart + 3h) == std::vector<uint64_t>{keep});
}
