// Billing reports: turning the ledger's grouped integer sums into rows with costs, and printing
// them as JSON, CSV or a table (the body of GET /v1/billing and `flint bill`). Pure logic: the
// sums come from Ledger::Query, the clock is a parameter. Thread-safe (no state).
//
// Exactness: every count and sum is an integer; a row's cost is the sum over the price sheets
// its records were billed under of CostPico (one rounding per sheet and row), and the total's
// cost and sums are the sums of the rows, so a report always adds up to the picodollar.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/meter/billing.h"
#include "scheduler/store/ledger.h"
#include "sdk/core/status.h"

namespace flint::scheduler::meter {

enum class ReportFormat { kJson, kCsv, kTable };

struct ReportParams {
  int64_t from_ms = std::numeric_limits<int64_t>::min();
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  std::string function;
  LedgerGroupBy by = LedgerGroupBy::kFunction;
  ReportFormat format = ReportFormat::kJson;
};

struct ReportRow {
  std::string key;  // "hello", "hello@3", "2025-01-02", "2025-01-02T03:00Z" or "total"
  LedgerSums sums;
  int64_t cost_pico = 0;
};

struct Report {
  ReportParams params;
  std::vector<ReportRow> rows;  // ordered by key
  ReportRow total;
};

// Parses the query parameters of /v1/billing (from, to, function, by, format) given as
// key/value pairs. `now_ms` resolves relative times. InvalidArgument names the bad parameter.
Result<ReportParams> ParseReportParams(std::span<const std::pair<std::string, std::string>> query,
                                       int64_t now_ms);

// A time for --from/--to: RFC 3339 UTC ("2025-01-02T03:04:05Z", fractional seconds allowed),
// a date ("2025-01-02", midnight UTC), milliseconds since the epoch ("1735787045000"), "now",
// or a duration ago ("24h", "30m", "7d", also written "-24h").
Result<int64_t> ParseTime(std::string_view text, int64_t now_ms);
Result<LedgerGroupBy> ParseGroupBy(std::string_view text);
Result<ReportFormat> ParseFormat(std::string_view text);
const char* GroupByName(LedgerGroupBy by);

// "2025-01-02T03:04:05.006Z".
std::string FormatTime(int64_t epoch_ms);

// Builds the report: one row per group key (merging the rows of different price sheets), costs
// from `sheets` (every sheet referenced by `groups` must be there; an unknown id costs nothing
// and is a bug in the caller).
Report BuildReport(const ReportParams& params, std::span<const LedgerGroup> groups,
                   std::span<const PriceSheet> sheets);

std::string ReportJson(const Report& report);
std::string ReportCsv(const Report& report);
std::string ReportTable(const Report& report);
// The body for report.params.format, and its content type.
std::string RenderReport(const Report& report, std::string* content_type);

// The fields of a ReportRow as a JSON object text (used by describe's "usage").
std::string RowJson(const ReportRow& row);

// Splits a raw query string ("a=1&b=x%20y") into percent-decoded pairs ('+' is a space).
std::vector<std::pair<std::string, std::string>> SplitQuery(std::string_view raw);

// Queries `ledger` and builds the report (disk I/O: never on the event loop).
Result<Report> RunReport(Ledger& ledger, const ReportParams& params);

}  // namespace flint::scheduler::meter
