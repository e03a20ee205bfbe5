#include "scheduler/meter/report.h"

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sdk/core/clock.h"
#include "sdk/core/text.h"

namespace flint::scheduler::meter {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int64_t* out) {
  if (pos + n > s.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

void AddSums(LedgerSums& into, const LedgerSums& s) {
  into.requests += s.requests;
  into.throttled += s.throttled;
  into.errors += s.errors;
  into.cold_starts += s.cold_starts;
  into.billed_ms += s.billed_ms;
  into.mb_ms += s.mb_ms;
  into.cpu_us += s.cpu_us;
}

std::string KeyOf(LedgerGroupBy by, const LedgerGroup& g) {
  switch (by) {
    case LedgerGroupBy::kNone:
      return "total";
    case LedgerGroupBy::kFunction:
      return g.function;
    case LedgerGroupBy::kVersion:
      return g.function + "@" + std::to_string(g.version);
    case LedgerGroupBy::kDay:
      return FormatTime(g.bucket_ms).substr(0, 10);
    case LedgerGroupBy::kHour:
      return FormatTime(g.bucket_ms).substr(0, 13) + ":00Z";
  }
  return "";
}

json RowObject(const ReportRow& row) {
  return {{"key", row.key},
          {"invocations", row.sums.requests},
          {"throttled", row.sums.throttled},
          {"errors", row.sums.errors},
          {"cold_starts", row.sums.cold_starts},
          {"billed_ms", row.sums.billed_ms},
          {"mb_ms", row.sums.mb_ms},
          {"gb_seconds", FormatGbSeconds(row.sums.mb_ms)},
          {"cpu_seconds", FormatSeconds(row.sums.cpu_us)},
          {"cost_picousd", row.cost_pico},
          {"cost_usd", FormatDollars(row.cost_pico)}};
}

std::string TimeOrOpen(int64_t t, bool from) {
  if (from && t == std::numeric_limits<int64_t>::min()) return "";
  if (!from && t == std::numeric_limits<int64_t>::max()) return "";
  return FormatTime(t);
}

}  // namespace

Result<int64_t> ParseTime(std::string_view text, int64_t now_ms) {
  auto bad = [&] {
    return InvalidArgument("invalid time '" + std::string(text) +
                           "': use RFC 3339 (2025-01-02T03:04:05Z), a date (2025-01-02), "
                           "epoch milliseconds, 'now', or a duration ago (24h, 7d)");
  };
  if (text.empty()) return bad();
  if (text == "now") return now_ms;
  // A duration ago: "24h", "-24h", "7d", "30m", "90s".
  std::string_view ago = text.front() == '-' ? text.substr(1) : text;
  if (!ago.empty() &&
      (ago.back() == 'd' || ago.back() == 'h' || ago.back() == 'm' || ago.back() == 's')) {
    if (ago.back() == 'd') {
      int64_t days = 0;
      if (!ParseDigits(ago, 0, ago.size() - 1, &days) || ago.size() < 2) return bad();
      return now_ms - days * kDayMs;
    }
    auto ms = ParseDurationMs(ago);
    if (!ms.ok()) return bad();
    return now_ms - static_cast<int64_t>(*ms);
  }
  int64_t y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
  if (text.size() >= 10 && text[4] == '-') {
    if (!ParseDigits(text, 0, 4, &y) || text[7] != '-' || !ParseDigits(text, 5, 2, &mo) ||
        !ParseDigits(text, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
      return bad();
    }
    size_t pos = 10;
    if (text.size() > 10) {
      if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
          !ParseDigits(text, 11, 2, &h) || text.size() < 16 || text[13] != ':' ||
          !ParseDigits(text, 14, 2, &mi) || h > 23 || mi > 59) {
        return bad();
      }
      pos = 16;
      if (pos < text.size() && text[pos] == ':') {
        if (!ParseDigits(text, pos + 1, 2, &s) || s > 60) return bad();
        pos += 3;
        if (pos < text.size() && text[pos] == '.') {
          size_t start = ++pos;
          int64_t frac = 0, digits = 0;
          while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 3) frac = frac * 10 + (text[pos] - '0'), ++digits;
            ++pos;
          }
          if (pos == start) return bad();
          while (digits < 3) frac *= 10, ++digits;
          ms = frac;
        }
      }
      if (pos >= text.size() ||
          !(text.substr(pos) == "Z" || text.substr(pos) == "z" || text.substr(pos) == "+00:00")) {
        return bad();
      }
    }
    return DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kDayMs +
           ((h * 60 + mi) * 60 + s) * 1000 + ms;
  }
  int64_t epoch = 0;
  if (text.size() <= 16 && ParseDigits(text, 0, text.size(), &epoch)) return epoch;
  return bad();
}

Result<LedgerGroupBy> ParseGroupBy(std::string_view text) {
  if (text == "function") return LedgerGroupBy::kFunction;
  if (text == "version") return LedgerGroupBy::kVersion;
  if (text == "day") return LedgerGroupBy::kDay;
  if (text == "hour") return LedgerGroupBy::kHour;
  if (text == "none" || text == "total") return LedgerGroupBy::kNone;
  return InvalidArgument("invalid 'by' '" + std::string(text) +
                         "': use function, version, day, hour or none");
}

Result<ReportFormat> ParseFormat(std::string_view text) {
  if (text == "json") return ReportFormat::kJson;
  if (text == "csv") return ReportFormat::kCsv;
  if (text == "table") return ReportFormat::kTable;
  return InvalidArgument("invalid format '" + std::string(text) + "': use json, csv or table");
}

const char* GroupByName(LedgerGroupBy by) {
  switch (by) {
    case LedgerGroupBy::kNone:
      return "none";
    case LedgerGroupBy::kFunction:
      return "function";
    case LedgerGroupBy::kVersion:
      return "version";
    case LedgerGroupBy::kDay:
      return "day";
    case LedgerGroupBy::kHour:
      return "hour";
  }
  return "none";
}

Result<ReportParams> ParseReportParams(std::span<const std::pair<std::string, std::string>> query,
                                       int64_t now_ms) {
  ReportParams params;
  for (const auto& [key, value] : query) {
    if (key == "from" || key == "to") {
      auto t = ParseTime(value, now_ms);
      if (!t.ok()) return Status(t.status().code(), key + ": " + t.status().message());
      (key == "from" ? params.from_ms : params.to_ms) = *t;
    } else if (key == "function") {
      if (!value.empty()) {
        FLINT_RETURN_IF_ERROR(ValidateFunctionName(value));
        params.function = value;
      }
    } else if (key == "by") {
      FLINT_ASSIGN_OR_RETURN(params.by, ParseGroupBy(value));
    } else if (key == "format") {
      FLINT_ASSIGN_OR_RETURN(params.format, ParseFormat(value));
    } else {
      return InvalidArgument("unknown parameter '" + key +
                             "' (known: from, to, function, by, format)");
    }
  }
  if (params.from_ms >= params.to_ms) return InvalidArgument("'from' must be before 'to'");
  return params;
}

std::string FormatTime(int64_t epoch_ms) {
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  int64_t millis = epoch_ms - secs * 1000;
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[80];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return buf;
}

Report BuildReport(const ReportParams& params, std::span<const LedgerGroup> groups,
                   std::span<const PriceSheet> sheets) {
  Report report;
  report.params = params;
  report.total.key = "total";
  std::map<std::string, ReportRow> rows;
  for (const LedgerGroup& g : groups) {
    std::string key = KeyOf(params.by, g);
    ReportRow& row = rows[key];
    row.key = key;
    AddSums(row.sums, g.sums);
    auto sheet = std::find_if(sheets.begin(), sheets.end(),
                              [&](const PriceSheet& s) { return s.id == g.price_sheet_id; });
    if (sheet != sheets.end()) row.cost_pico += CostPico(g.sums.requests, g.sums.mb_ms, *sheet);
  }
  for (auto& [key, row] : rows) {
    AddSums(report.total.sums, row.sums);
    report.total.cost_pico += row.cost_pico;
    report.rows.push_back(std::move(row));
  }
  return report;
}

std::string RowJson(const ReportRow& row) { return RowObject(row).dump(); }

std::vector<std::pair<std::string, std::string>> SplitQuery(std::string_view raw) {
  auto decode = [](std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      auto hex = [](char c) {
        return c >= '0' && c <= '9'   ? c - '0'
               : c >= 'a' && c <= 'f' ? c - 'a' + 10
               : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                      : -1;
      };
      if (in[i] == '+') {
        out += ' ';
      } else if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
        out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
        i += 2;
      } else {
        out += in[i];
      }
    }
    return out;
  };
  std::vector<std::pair<std::string, std::string>> out;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    out.emplace_back(decode(part.substr(0, eq)),
                     eq == std::string_view::npos ? std::string() : decode(part.substr(eq + 1)));
  }
  return out;
}

Result<Report> RunReport(Ledger& ledger, const ReportParams& params) {
  LedgerQuery query;
  query.from_ms = params.from_ms;
  query.to_ms = params.to_ms;
  query.function = params.function;
  query.by = params.by;
  FLINT_ASSIGN_OR_RETURN(auto groups, ledger.Query(query));
  FLINT_ASSIGN_OR_RETURN(auto rows, ledger.PriceSheets());
  std::vector<PriceSheet> sheets;
  for (const auto& r : rows) {
    PriceSheet s;
    s.id = r.id;
    s.effective_from_ms = r.effective_from_ms;
    s.per_million_requests_pico = r.per_million_requests_pico;
    s.per_gb_second_pico = r.per_gb_second_pico;
    s.bill_init = r.bill_init;
    sheets.push_back(s);
  }
  return BuildReport(params, groups, sheets);
}

std::string ReportJson(const Report& report) {
  json rows = json::array();
  for (const auto& row : report.rows) rows.push_back(RowObject(row));
  json j = {{"from", TimeOrOpen(report.params.from_ms, true)},
            {"to", TimeOrOpen(report.params.to_ms, false)},
            {"function", report.params.function},
            {"by", GroupByName(report.params.by)},
            {"rows", rows},
            {"total", RowObject(report.total)}};
  return j.dump();
}

std::string ReportCsv(const Report& report) {
  std::ostringstream out;
  out << GroupByName(report.params.by)
      << ",invocations,throttled,errors,cold_starts,billed_ms,gb_seconds,cpu_seconds,cost_usd\n";
  auto line = [&](const ReportRow& r) {
    // Keys are function names, versions or times: never a comma or quote.
    out << r.key << ',' << r.sums.requests << ',' << r.sums.throttled << ',' << r.sums.errors << ','
        << r.sums.cold_starts << ',' << r.sums.billed_ms << ',' << FormatGbSeconds(r.sums.mb_ms)
        << ',' << FormatSeconds(r.sums.cpu_us) << ',' << FormatDollars(r.cost_pico) << '\n';
  };
  for (const auto& row : report.rows) line(row);
  line(report.total);
  return out.str();
}

std::string ReportTable(const Report& report) {
  std::vector<std::vector<std::string>> cells;
  std::string first = GroupByName(report.params.by);
  for (char& c : first) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  cells.push_back({first == "NONE" ? "" : first, "INVOCATIONS", "ERRORS", "COLD", "THROTTLED",
                   "GB-SECONDS", "CPU-SECONDS", "COST (USD)"});
  auto add = [&](const ReportRow& r) {
    cells.push_back({r.key, std::to_string(r.sums.requests), std::to_string(r.sums.errors),
                     std::to_string(r.sums.cold_starts), std::to_string(r.sums.throttled),
                     FormatGbSeconds(r.sums.mb_ms), FormatSeconds(r.sums.cpu_us),
                     FormatDollars(r.cost_pico)});
  };
  for (const auto& row : report.rows) add(row);
  add(report.total);
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::ostringstream out;
  out << "From "
      << (TimeOrOpen(report.params.from_ms, true).empty() ? "the beginning"
                                                          : TimeOrOpen(report.params.from_ms, true))
      << " to "
      << (TimeOrOpen(report.params.to_ms, false).empty() ? "now"
                                                         : TimeOrOpen(report.params.to_ms, false))
      << (report.params.function.empty() ? "" : ", function " + report.params.function) << "\n";
  for (size_t l = 0; l < cells.size(); ++l) {
    const auto& line = cells[l];
    for (size_t i = 0; i < line.size(); ++i) {
      // The key is left-aligned, the figures right-aligned.
      if (i == 0) {
        out << line[i] << std::string(width[i] - line[i].size(), ' ');
      } else {
        out << "  " << std::string(width[i] - line[i].size(), ' ') << line[i];
      }
    }
    out << '\n';
  }
  return out.str();
}

std::string RenderReport(const Report& report, std::string* content_type) {
  switch (report.params.format) {
    case ReportFormat::kCsv:
      *content_type = "text/csv; charset=utf-8";
      return ReportCsv(report);
    case ReportFormat::kTable:
      *content_type = "text/plain; charset=utf-8";
      return ReportTable(report);
    case ReportFormat::kJson:
      break;
  }
  *content_type = "application/json";
  return ReportJson(report);
}

}  // namespace flint::scheduler::meter
