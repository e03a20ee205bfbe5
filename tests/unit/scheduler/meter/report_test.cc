// Reports: aggregation across price sheets, exact totals, parameters and rendering.
#include "scheduler/meter/report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace flint::scheduler;
using namespace flint::scheduler::meter;

namespace {

LedgerGroup Group(std::string fn, uint32_t version, int64_t bucket, int64_t sheet,
                  uint64_t requests, uint64_t mb_ms) {
  LedgerGroup g;
  g.function = std::move(fn);
  g.version = version;
  g.bucket_ms = bucket;
  g.price_sheet_id = sheet;
  g.sums.requests = requests;
  g.sums.mb_ms = mb_ms;
  g.sums.billed_ms = mb_ms / 128;
  g.sums.cpu_us = requests * 10;
  g.sums.errors = 1;
  return g;
}

std::vector<PriceSheet> TwoSheets() {
  std::vector<PriceSheet> sheets = {DefaultPriceSheet(), DefaultPriceSheet()};
  sheets[0].id = 1;
  sheets[1].id = 2;
  sheets[1].effective_from_ms = 1000;
  sheets[1].per_million_requests_pico *= 2;
  return sheets;
}

}  // namespace

TEST_CASE("BuildReport merges price sheets per key and totals the rows exactly", "[report]") {
  ReportParams params;
  params.by = LedgerGroupBy::kFunction;
  std::vector<LedgerGroup> groups = {Group("a", 0, 0, 1, 3, 384), Group("a", 0, 0, 2, 2, 256),
                                     Group("b", 0, 0, 1, 1, 128)};
  Report report = BuildReport(params, groups, TwoSheets());
  REQUIRE(report.rows.size() == 2);
  CHECK(report.rows[0].key == "a");
  CHECK(report.rows[0].sums.requests == 5);
  CHECK(report.rows[0].sums.mb_ms == 640);
  CHECK(report.rows[0].cost_pico ==
        CostPico(3, 384, TwoSheets()[0]) + CostPico(2, 256, TwoSheets()[1]));
  CHECK(report.rows[1].key == "b");
  CHECK(report.total.sums.requests == 6);
  CHECK(report.total.sums.errors == 3);
  CHECK(report.total.cost_pico == report.rows[0].cost_pico + report.rows[1].cost_pico);
}

TEST_CASE("Report keys name versions, days and hours", "[report]") {
  ReportParams params;
  params.by = LedgerGroupBy::kVersion;
  std::vector<LedgerGroup> groups = {Group("a", 2, 0, 1, 1, 0)};
  CHECK(BuildReport(params, groups, TwoSheets()).rows[0].key == "a@2");
  params.by = LedgerGroupBy::kDay;
  groups = {Group("", 0, 1'735'776'000'000, 1, 1, 0)};  // 2025-01-02T00:00Z
  CHECK(BuildReport(params, groups, TwoSheets()).rows[0].key == "2025-01-02");
  params.by = LedgerGroupBy::kHour;
  groups = {Group("", 0, 1'735'786'800'000, 1, 1, 0)};  // 2025-01-02T03:00Z
  CHECK(BuildReport(params, groups, TwoSheets()).rows[0].key == "2025-01-02T03:00Z");
}

TEST_CASE("ParseTime accepts RFC 3339, dates, epoch ms and durations ago", "[report]") {
  const int64_t now = 1'735'787'045'000;  // 2025-01-02T03:04:05Z
  CHECK(*ParseTime("2025-01-02T03:04:05Z", now) == now);
  CHECK(*ParseTime("2025-01-02T03:04:05.250Z", now) == now + 250);
  CHECK(*ParseTime("2025-01-02", now) == 1'735'776'000'000);
  CHECK(*ParseTime("1735787045000", now) == now);
  CHECK(*ParseTime("now", now) == now);
  CHECK(*ParseTime("24h", now) == now - 86'400'000);
  CHECK(*ParseTime("-24h", now) == now - 86'400'000);
  CHECK(*ParseTime("7d", now) == now - 7 * 86'400'000);
  CHECK_FALSE(ParseTime("yesterday", now).ok());
  CHECK_FALSE(ParseTime("2025-13-01", now).ok());
  CHECK_FALSE(ParseTime("2025-01-02T03:04:05", now).ok());  // no zone
  CHECK(FormatTime(now) == "2025-01-02T03:04:05.000Z");
}

TEST_CASE("ParseReportParams checks every parameter", "[report]") {
  using Q = std::vector<std::pair<std::string, std::string>>;
  Q ok = {{"from", "2025-01-01"},
          {"to", "2025-01-02"},
          {"function", "hello"},
          {"by", "day"},
          {"format", "csv"}};
  auto params = ParseReportParams(ok, 0);
  REQUIRE(params.ok());
  CHECK(params->by == LedgerGroupBy::kDay);
  CHECK(params->format == ReportFormat::kCsv);
  CHECK(params->function == "hello");
  CHECK_FALSE(ParseReportParams(Q{{"by", "week"}}, 0).ok());
  CHECK_FALSE(ParseReportParams(Q{{"format", "xml"}}, 0).ok());
  CHECK_FALSE(ParseReportParams(Q{{"function", "Bad_Name"}}, 0).ok());
  CHECK_FALSE(ParseReportParams(Q{{"color", "red"}}, 0).ok());
  CHECK_FALSE(ParseReportParams(Q{{"from", "2025-01-02"}, {"to", "2025-01-01"}}, 0).ok());
  auto split = SplitQuery("from=2025-01-02T03%3A04%3A05Z&by=hour&&x");
  REQUIRE(split.size() == 3);
  CHECK(split[0].second == "2025-01-02T03:04:05Z");
  CHECK(split[2].first == "x");
}

TEST_CASE("Rendered reports carry exact figures in every format", "[report]") {
  ReportParams params;
  params.by = LedgerGroupBy::kFunction;
  std::vector<LedgerGroup> groups = {Group("a", 0, 0, 1, 1, 128)};
  Report report = BuildReport(params, groups, TwoSheets());
  auto j = nlohmann::json::parse(ReportJson(report));
  CHECK(j["total"]["invocations"] == 1);
  CHECK(j["total"]["cost_picousd"] == 202'083);
  CHECK(j["total"]["cost_usd"] == "0.000000202083");
  CHECK(j["rows"][0]["gb_seconds"] == "0.000125");
  std::string csv = ReportCsv(report);
  CHECK(csv.find("a,1,0,1,0,1,0.000125,0.00001,0.000000202083\n") != std::string::npos);
  CHECK(csv.find("total,1,") != std::string::npos);
  std::string table = ReportTable(report);
  CHECK(table.find("0.000000202083") != std::string::npos);
}
