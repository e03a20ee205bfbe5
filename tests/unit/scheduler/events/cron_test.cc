// CronSchedule: parsing, a table of expressions with their next fire times (UTC), and the
// missed-run rule, all on a clock the test controls.
#include "scheduler/events/cron.h"

#include <catch2/catch.hpp>

using flint::scheduler::events::CheckSchedule;
using flint::scheduler::events::CronSchedule;

namespace {
// Thursday 2026-01-15 10:17:30 UTC.
constexpr int64_t kBase = 1768472250000;
constexpr int64_t kMinute = 60'000;
}  // namespace

TEST_CASE("CronSchedule gives the next fire time of each expression", "[events][cron]") {
  struct Row {
    const char* expr;
    int64_t next;
  };
  const Row table[] = {
      {"* * * * *", 1768472280000},          // 10:18
      {"*/5 * * * *", 1768472400000},        // 10:20
      {"5/20 * * * *", 1768472700000},       // 10:25 (5, 25, 45)
      {"0,30 * * * *", 1768473000000},       // 10:30
      {"15-50/15 10 * * *", 1768473000000},  // 10:30 (15, 30, 45)
      {"0 * * * *", 1768474800000},          // 11:00
      {"@hourly", 1768474800000},
      {"0 22 * * *", 1768514400000},  // 22:00 today
      {"0 0 * * *", 1768521600000},   // Friday 00:00
      {"@daily", 1768521600000},
      {"@midnight", 1768521600000},
      {"0 0 * * 0", 1768694400000},  // Sunday the 18th
      {"0 0 * * 7", 1768694400000},
      {"0 0 * * sun", 1768694400000},
      {"@weekly", 1768694400000},
      {"0 9 * * MON", 1768813200000},  // Monday the 19th, 09:00
      {"0 0 20 * *", 1768867200000},   // the 20th
      {"0 0 20 * 0", 1768694400000},   // the 20th or a Sunday: Sunday comes first
      {"0 0 1 * *", 1769904000000},    // 1 February
      {"@monthly", 1769904000000},
      {"0 0 1 mar *", 1772323200000},         // 1 March
      {"0 12 1 jun *", 1780315200000},        // 1 June 12:00
      {"0 0 29 2 *", 1835395200000},          // the next leap day, 2028
      {"  0   12 1 Jun *  ", 1780315200000},  // spaces and case do not matter
  };
  for (const Row& row : table) {
    INFO(row.expr);
    auto s = CronSchedule::Parse(row.expr);
    REQUIRE(s.ok());
    CHECK(s->NextAfter(kBase) == row.next);
  }
}

TEST_CASE("CronSchedule fires strictly after the given time", "[events][cron]") {
  auto s = CronSchedule::Parse("*/5 * * * *");
  REQUIRE(s.ok());
  int64_t at = 1768472400000;  // exactly 10:20
  CHECK(s->NextAfter(at) == at + 5 * kMinute);
  CHECK(s->NextAfter(at - 1) == at);
}

TEST_CASE("CronSchedule @every is a fixed interval", "[events][cron]") {
  auto s = CronSchedule::Parse("@every 30s");
  REQUIRE(s.ok());
  CHECK(s->every_ms() == 30'000);
  CHECK(s->NextAfter(kBase) == kBase + 30'000);
  auto m = CronSchedule::Parse("@every 5m");
  REQUIRE(m.ok());
  CHECK(m->NextAfter(kBase) == kBase + 5 * kMinute);
}

TEST_CASE("CronSchedule refuses bad expressions with a clear message", "[events][cron]") {
  const char* bad[] = {"",           "61 * * * *",  "* * * *",      "* * * * * *",
                       "0 0 30 2 *", "5-1 * * * *", "*/0 * * * *",  "0 0 * * foo",
                       "0 24 * * *", "0 0 0 * *",   "0 0 * 13 *",   "@every 10ms",
                       "@every",     "@whenever",   "1,,2 * * * *", "a-b * * * *"};
  for (const char* expr : bad) {
    INFO(expr);
    auto s = CronSchedule::Parse(expr);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == flint::Code::kInvalidArgument);
    CHECK(s.status().message().rfind("cron: ", 0) == 0);
  }
  auto s = CronSchedule::Parse("61 * * * *");
  CHECK(s.status().message() == "cron: minute '61' is out of range 0-59");
}

TEST_CASE("CronSchedule refuses an expression that never fires, and only that", "[events][cron]") {
  for (const char* never : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb *"}) {
    INFO(never);
    auto s = CronSchedule::Parse(never);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().message() == "cron: '" + std::string(never) + "' never fires");
  }
  // A month that has the day, Feb 29 of leap years, or a weekday beside the day (either runs).
  for (const char* fires : {"0 0 31 4,5 *", "0 0 29 2 *", "0 0 30 2 mon", "0 0 31 * *"}) {
    INFO(fires);
    auto s = CronSchedule::Parse(fires);
    REQUIRE(s.ok());
    CHECK(s->NextAfter(kBase).has_value());
  }
}

TEST_CASE("A schedule that missed runs during downtime fires once, then resumes",
          "[events][cron]") {
  auto s = CronSchedule::Parse("*/5 * * * *");
  REQUIRE(s.ok());
  int64_t due = *s->NextAfter(kBase);  // 10:20
  // Before the due time nothing fires.
  auto c = CheckSchedule(*s, due, due - 1);
  CHECK_FALSE(c.fire);
  CHECK(c.next_due_ms == due);
  // flintd was down from 10:18 to 11:03: twelve slots were missed; one run happens now.
  int64_t now = due + 43 * kMinute;
  c = CheckSchedule(*s, due, now);
  CHECK(c.fire);
  REQUIRE(c.next_due_ms.has_value());
  CHECK(*c.next_due_ms == due + 45 * kMinute);  // 11:05, the first slot after now
  // Checking again at the same time does not fire again.
  auto again = CheckSchedule(*s, *c.next_due_ms, now);
  CHECK_FALSE(again.fire);
  // A controllable clock walking minute by minute through two hours fires every 5 minutes.
  int fires = 0;
  int64_t next = *c.next_due_ms;
  for (int64_t t = now; t < now + 120 * kMinute; t += kMinute) {
    auto step = CheckSchedule(*s, next, t);
    if (step.fire) ++fires;
    next = *step.next_due_ms;
  }
  CHECK(fires == 24);
}

TEST_CASE("An @every schedule after downtime fires once and restarts its interval",
          "[events][cron]") {
  auto s = CronSchedule::Parse("@every 30s");
  REQUIRE(s.ok());
  int64_t due = kBase + 30'000;
  auto c = CheckSchedule(*s, due, due + 3600'000);
  CHECK(c.fire);
  CHECK(c.next_due_ms == due + 3600'000 + 30'000);
}

TEST_CASE("Clock steps neither run a schedule twice nor stall an interval", "[events][cron]") {
  // A clock the test steps, checked every second as flintd's timer does.
  auto walk = [](const CronSchedule& s, int64_t& due, int64_t from, int64_t to) {
    int fires = 0;
    for (int64_t t = from; t < to; t += 1000) {
      auto step = CheckSchedule(s, due, t);
      if (step.fire) ++fires;
      due = *step.next_due_ms;
    }
    return fires;
  };
  SECTION("a cron expression") {
    auto s = CronSchedule::Parse("*/5 * * * *");
    REQUIRE(s.ok());
    int64_t due = *s->NextAfter(kBase);                      // 10:20
    CHECK(walk(*s, due, kBase, kBase + 10 * kMinute) == 2);  // 10:20, 10:25
    // The clock steps back an hour (to 09:27:30): 09:30 ... 10:25 already ran and do not run
    // again; the next run is the next slot not yet run, 10:30.
    int64_t back = kBase + 10 * kMinute - 60 * kMinute;
    CHECK(walk(*s, due, back, back + 62 * kMinute) == 0);
    CHECK(due == kBase + 12 * kMinute + 30'000);  // 10:30
    // Stepping forward an hour runs once, not once per skipped slot.
    int64_t forward = back + 62 * kMinute + 60 * kMinute;
    auto c = CheckSchedule(*s, due, forward);
    CHECK(c.fire);
    CHECK_FALSE(CheckSchedule(*s, *c.next_due_ms, forward).fire);
  }
  SECTION("an @every interval") {
    auto s = CronSchedule::Parse("@every 30s");
    REQUIRE(s.ok());
    int64_t due = kBase + 30'000;
    CHECK(walk(*s, due, kBase, kBase + 120'000) == 3);
    // Back an hour: without the rule it would wait an hour; it runs 30 s later instead.
    int64_t back = kBase + 120'000 - 3600'000;
    CHECK(walk(*s, due, back, back + 95'000) == 3);
    // Forward an hour: one run at once, then every 30 s again.
    int64_t forward = back + 95'000 + 3600'000;
    CHECK(walk(*s, due, forward, forward + 1000) == 1);
    CHECK(walk(*s, due, forward + 1000, forward + 61'000) == 2);
  }
}
