#include "scheduler/events/cron.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "sdk/core/text.h"

namespace flint::scheduler::events {
namespace {

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] is the value names_base + i
  int names_count;
  int names_base;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

Status Bad(const Field& f, std::string_view part, const std::string& why) {
  return InvalidArgument("cron: " + std::string(f.name) + " '" + std::string(part) + "' " + why);
}

Result<int> ParseValue(const Field& f, std::string_view text) {
  if (text.empty()) return Bad(f, text, "is empty");
  std::string lower = Lower(text);
  for (int i = 0; i < f.names_count; ++i) {
    if (lower == f.names[i]) return f.names_base + i;
  }
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Bad(f, text, "is not a number or a name");
    v = v * 10 + (c - '0');
    if (v > 1000) break;
  }
  if (v < f.min || v > f.max) {
    return Bad(f, text, "is out of range " + std::to_string(f.min) + "-" + std::to_string(f.max));
  }
  return v;
}

// Sets the bits of one field ("*", "1-5/2,10"). `star` tells whether it was a bare "*" or "?".
template <size_t N>
Status ParseField(const Field& f, std::string_view text, std::bitset<N>* bits, bool* star) {
  *star = text == "*" || text == "?";
  for (std::string_view part : Split(text, ',')) {
    if (part.empty()) return Bad(f, text, "has an empty list item");
    int step = 1;
    std::string_view range = part;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      std::string_view step_text = part.substr(slash + 1);
      range = part.substr(0, slash);
      int s = 0;
      if (step_text.empty() || step_text.size() > 3) return Bad(f, part, "has a bad step");
      for (char c : step_text) {
        if (c < '0' || c > '9') return Bad(f, part, "has a bad step");
        s = s * 10 + (c - '0');
      }
      if (s == 0) return Bad(f, part, "has a zero step");
      step = s;
    }
    int lo = f.min, hi = f.max;
    if (range != "*" && range != "?") {
      if (size_t dash = range.find('-'); dash != std::string_view::npos) {
        FLINT_ASSIGN_OR_RETURN(auto a, ParseValue(f, range.substr(0, dash)));
        FLINT_ASSIGN_OR_RETURN(auto b, ParseValue(f, range.substr(dash + 1)));
        lo = a;
        hi = b;
        if (lo > hi) return Bad(f, part, "is a reversed range");
      } else {
        FLINT_ASSIGN_OR_RETURN(auto a, ParseValue(f, range));
        lo = a;
        // "5/10" means from 5 to the end in steps of 10; a bare "5" is just 5.
        hi = part.find('/') != std::string_view::npos ? f.max : lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v));
  }
  return Status::Ok();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  CronSchedule s;
  std::string trimmed(text);
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.pop_back();
  }
  size_t first = trimmed.find_first_not_of(" \t");
  trimmed = first == std::string::npos ? "" : trimmed.substr(first);
  s.text_ = trimmed;
  if (trimmed.empty()) return InvalidArgument("cron: the schedule is empty");
  std::string expr = trimmed;
  if (trimmed[0] == '@') {
    std::string lower = Lower(trimmed);
    if (lower.rfind("@every", 0) == 0) {
      std::string_view rest = std::string_view(trimmed).substr(6);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      auto ms = ParseDurationMs(rest);
      if (!ms.ok()) {
        return InvalidArgument("cron: '@every " + std::string(rest) +
                               "' needs an interval such as 30s, 5m or 1h");
      }
      if (*ms < 1000) return InvalidArgument("cron: @every needs an interval of at least 1s");
      s.every_ms_ = *ms;
      return s;
    }
    if (lower == "@yearly" || lower == "@annually") {
      expr = "0 0 1 1 *";
    } else if (lower == "@monthly") {
      expr = "0 0 1 * *";
    } else if (lower == "@weekly") {
      expr = "0 0 * * 0";
    } else if (lower == "@daily" || lower == "@midnight") {
      expr = "0 0 * * *";
    } else if (lower == "@hourly") {
      expr = "0 * * * *";
    } else {
      return InvalidArgument("cron: unknown macro '" + trimmed +
                             "' (use @yearly, @monthly, @weekly, @daily, @hourly or @every)");
    }
  }
  std::vector<std::string> fields;
  {
    std::string cur;
    for (char c : expr) {
      if (c == ' ' || c == '\t') {
        if (!cur.empty()) fields.push_back(std::move(cur));
        cur.clear();
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) fields.push_back(std::move(cur));
  }
  if (fields.size() != 5) {
    return InvalidArgument("cron: '" + trimmed + "' has " + std::to_string(fields.size()) +
                           " fields; use five: minute hour day-of-month month day-of-week");
  }
  static const Field kMinute{"minute", 0, 59, nullptr, 0, 0};
  static const Field kHour{"hour", 0, 23, nullptr, 0, 0};
  static const Field kDay{"day-of-month", 1, 31, nullptr, 0, 0};
  static const Field kMonth{"month", 1, 12, kMonthNames, 12, 1};
  static const Field kWeekday{"day-of-week", 0, 7, kDayNames, 7, 0};
  bool star = false;
  FLINT_RETURN_IF_ERROR(ParseField(kMinute, fields[0], &s.minutes_, &star));
  FLINT_RETURN_IF_ERROR(ParseField(kHour, fields[1], &s.hours_, &star));
  FLINT_RETURN_IF_ERROR(ParseField(kDay, fields[2], &s.days_, &s.days_star_));
  FLINT_RETURN_IF_ERROR(ParseField(kMonth, fields[3], &s.months_, &star));
  std::bitset<8> weekdays;
  FLINT_RETURN_IF_ERROR(ParseField(kWeekday, fields[4], &weekdays, &s.weekdays_star_));
  for (size_t d = 0; d < 7; ++d) s.weekdays_[d] = weekdays[d];
  if (weekdays[7]) s.weekdays_[0] = true;
  // An expression that never fires (e.g. "0 0 30 2 *") is refused now.
  if (!s.FiresSometime()) {
    return InvalidArgument("cron: '" + trimmed + "' never fires");
  }
  return s;
}

bool CronSchedule::FiresSometime() const {
  // Every field has a value, so only the days can rule every time out: days of the month alone
  // (any weekday) that no selected month has. Decided from the fields rather than by scanning
  // years of calendar for the first fire time, which took ~0.4 ms per refused expression.
  if (days_star_ || !weekdays_star_) return true;
  static constexpr int kLongestMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int month = 1; month <= 12; ++month) {
    if (!months_[static_cast<size_t>(month)]) continue;
    for (int day = 1; day <= kLongestMonth[month]; ++day) {
      if (days_[static_cast<size_t>(day)]) return true;
    }
  }
  return false;
}

bool CronSchedule::DayMatches(int mday, int wday) const {
  bool dom = days_[static_cast<size_t>(mday)];
  bool dow = weekdays_[static_cast<size_t>(wday)];
  if (days_star_ && weekdays_star_) return true;
  if (days_star_) return dow;
  if (weekdays_star_) return dom;
  return dom || dow;
}

std::optional<int64_t> CronSchedule::NextAfter(int64_t after_ms) const {
  if (every_ms_ != 0) return after_ms + static_cast<int64_t>(every_ms_);
  // The next whole minute strictly after `after_ms`.
  int64_t t = (FloorDiv(after_ms, 60'000) + 1) * 60;  // seconds
  int64_t limit = t + 5LL * 366 * 24 * 3600;
  while (t <= limit) {
    time_t secs = static_cast<time_t>(t);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (!months_[static_cast<size_t>(tm.tm_mon + 1)]) {
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = 0;
      tm.tm_min = 0;
      tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    if (!DayMatches(tm.tm_mday, tm.tm_wday)) {
      tm.tm_mday += 1;
      tm.tm_hour = 0;
      tm.tm_min = 0;
      tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    if (!hours_[static_cast<size_t>(tm.tm_hour)]) {
      tm.tm_hour += 1;
      tm.tm_min = 0;
      tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    if (!minutes_[static_cast<size_t>(tm.tm_min)]) {
      t += 60;
      continue;
    }
    return t * 1000;
  }
  return std::nullopt;
}

CatchUp CheckSchedule(const CronSchedule& schedule, int64_t due_ms, int64_t now_ms) {
  CatchUp out;
  if (due_ms > now_ms) {
    out.next_due_ms = due_ms;
    // The wall clock stepped backwards past a fixed interval: due_ms is further away than one
    // interval, and waiting for it would stall the schedule for as long as the step. An
    // interval counts elapsed time, so the next run is one interval from now. (A cron
    // expression names wall-clock times instead: its slots that already ran are not run again,
    // so it waits for due_ms, as Vixie cron does.)
    if (uint64_t every = schedule.every_ms(); every != 0 && due_ms - now_ms > int64_t(every)) {
      out.next_due_ms = now_ms + static_cast<int64_t>(every);
    }
    return out;
  }
  out.fire = true;
  out.next_due_ms = schedule.NextAfter(now_ms);
  return out;
}

}  // namespace flint::scheduler::events
