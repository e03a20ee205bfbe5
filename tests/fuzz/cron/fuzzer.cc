// Fuzzes the cron parser (scheduler/events/cron.h): schedule expressions come from API clients.
// Input: the expression. Checked for one that parses: it fires within five years of a fixed
// time, strictly after it, on a whole minute (or after exactly its interval for "@every"); the
// first fire time after (next - 1 ms) is next itself; and parsing its own text gives the same
// schedule.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scheduler/events/cron.h"
#include "tests/fuzz/fuzz_check.h"

using flint::scheduler::events::CronSchedule;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto schedule = CronSchedule::Parse(text);
  if (!schedule.ok()) return 0;
  constexpr int64_t kNow = 1'800'000'123'456;  // 2027-01-15, not on a minute
  auto next = schedule->NextAfter(kNow);
  FUZZ_CHECK(next.has_value());
  FUZZ_CHECK(*next > kNow);
  if (schedule->every_ms() != 0) {
    FUZZ_CHECK(*next == kNow + static_cast<int64_t>(schedule->every_ms()));
  } else {
    FUZZ_CHECK(*next % 60'000 == 0);
    FUZZ_CHECK(schedule->NextAfter(*next - 1) == next);
  }
  auto again = CronSchedule::Parse(schedule->text());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->NextAfter(kNow) == next);
  return 0;
}
