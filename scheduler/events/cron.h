// CronSchedule: a parsed schedule expression and its fire times, in UTC (docs/triggers.md).
//
// Accepted: five fields "minute hour day-of-month month day-of-week" with *, numbers, ranges
// (1-5), steps (*/15, 1-30/2, 5/10), lists (1,15,30), month names (jan..dec) and day names
// (sun..sat, 0 and 7 both Sunday), case-insensitive; the macros @yearly/@annually, @monthly,
// @weekly, @daily/@midnight, @hourly; and fixed intervals "@every 30s" (units ms, s, m, h; at
// least 1 s). As in Vixie cron, when both day fields are restricted a day matching either runs.
//
// Pure and immutable: no clock of its own (callers pass the time); safe to copy and to share
// between threads.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::scheduler::events {

class CronSchedule {
 public:
  // InvalidArgument naming the bad field, e.g. "cron: minute '61' is out of range 0-59".
  static Result<CronSchedule> Parse(std::string_view text);

  // The first fire time strictly after `after_ms` (epoch milliseconds, UTC); for a cron
  // expression always on a whole minute. Unset if none within about five years.
  std::optional<int64_t> NextAfter(int64_t after_ms) const;

  const std::string& text() const { return text_; }
  uint64_t every_ms() const { return every_ms_; }  // 0 unless "@every"

 private:
  CronSchedule() = default;
  // False when no time ever matches (a day of the month that none of the months has).
  bool FiresSometime() const;
  bool DayMatches(int mday, int wday) const;

  std::string text_;
  uint64_t every_ms_ = 0;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

// What a schedule does when it is checked at `now_ms` and was next due at `due_ms`: if due
// (due_ms <= now_ms) it runs once — after downtime or a forward clock step a missed run executes
// once, not once per missed slot — and the next due time is the first fire time after now_ms.
// After a backward clock step an "@every" schedule due more than one interval ahead is moved to
// one interval from now (no stall); a cron expression keeps its due time (no slot runs twice).
struct CatchUp {
  bool fire = false;
  std::optional<int64_t> next_due_ms;
};
CatchUp CheckSchedule(const CronSchedule& schedule, int64_t due_ms, int64_t now_ms);

}  // namespace flint::scheduler::events
