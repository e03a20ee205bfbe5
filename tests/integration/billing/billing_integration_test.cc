// Metering and billing end to end: a real flintd, real workers, the ledger read back through
// GET /v1/billing and its SQLite table. Nothing asserts on latency: a handler's billed time is
// checked against the duration the worker measured (rounded up to the millisecond, never less
// than the handler's own wait), which holds however loaded the machine is.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/flintd_fixture.h"
#include "tests/support/ledger_ids.h"
#include "tests/support/require.h"

using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::LedgerIds;
using flint::testing::StartOrFail;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json Bill(const FlintdProcess& flintd, std::vector<std::pair<std::string, std::string>> query) {
  auto client = flintd.Client();
  query.emplace_back("format", "json");
  auto body = client.Billing(query);
  INFO(body.status().ToString());
  REQUIRE(body.ok());
  json j = json::parse(*body, nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

const char* kQuick = "export const handler = async () => 'ok';\n";

// One invocation's row of the ledger.
struct LedgerRow {
  uint64_t duration_us = 0;
  uint64_t billed_ms = 0;
  uint64_t memory_mb = 0;
  uint64_t mb_ms = 0;
};

// The ledger's rows of `function`, read from its SQLite table (read-only).
std::vector<LedgerRow> LedgerRows(const std::string& db_path, const std::string& function) {
  std::vector<LedgerRow> rows;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT duration_us, billed_ms, memory_mb, mb_ms FROM invocations "
                             "WHERE function = ?",
                             -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, function.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    LedgerRow row;
    row.duration_us = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    row.billed_ms = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
    row.memory_mb = static_cast<uint64_t>(sqlite3_column_int64(stmt, 2));
    row.mb_ms = static_cast<uint64_t>(sqlite3_column_int64(stmt, 3));
    rows.push_back(row);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

}  // namespace

TEST_CASE("A handler that waits 50 ms is billed its duration rounded up, at least 50 ms",
          "[billing]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "sleepy",
                 "export const handler = async () => {\n"
                 "  await new Promise((r) => setTimeout(r, 50));\n"
                 "  return 'slept';\n"
                 "};\n");
  auto client = flintd.Client();
  constexpr size_t kRuns = 5;
  for (size_t i = 0; i < kRuns; ++i) {
    auto r = client.Invoke("sleepy", {});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
  }
  // The report flushes the meter: every answered invocation is in the ledger after it.
  json report = Bill(flintd, {{"by", "none"}});
  std::vector<LedgerRow> rows = LedgerRows(flintd.data_dir() + "/flint.db", "sleepy");
  REQUIRE(rows.size() == kRuns);
  uint64_t billed = 0, mb_ms = 0;
  for (const LedgerRow& row : rows) {
    INFO("duration " << row.duration_us << " us, billed " << row.billed_ms << " ms");
    // The default price sheet bills execution alone (not a cold start's init), rounded up to
    // the millisecond; the wait alone is 50 ms.
    CHECK(row.billed_ms == (row.duration_us + 999) / 1000);
    CHECK(row.billed_ms >= 50);
    CHECK(row.memory_mb == 128);
    CHECK(row.mb_ms == row.billed_ms * row.memory_mb);
    billed += row.billed_ms;
    mb_ms += row.mb_ms;
  }
  CHECK(report["total"]["invocations"] == kRuns);
  CHECK(report["total"]["billed_ms"] == billed);
  CHECK(report["total"]["mb_ms"] == mb_ms);
}

TEST_CASE("10,000 invocations give 10,000 records whose sums are the report's totals",
          "[billing]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "quick", kQuick);
  auto client = flintd.Client();
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) {
    auto r = client.Invoke("quick", {});
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    for (const auto& [name, value] : r->headers) {
      if (name == "x-flint-request-id") ids.insert(value);
    }
  }
  CHECK(ids.size() == 10'000);
  for (const char* by : {"function", "version", "hour", "day", "none"}) {
    json report = Bill(flintd, {{"by", by}});
    INFO("by " << by << ": " << report.dump());
    CHECK(report["total"]["invocations"] == 10'000);
    CHECK(report["total"]["errors"] == 0);
    CHECK(report["total"]["cold_starts"] == 1);
    uint64_t invocations = 0, billed = 0, mb_ms = 0, cost = 0;
    for (const auto& row : report["rows"]) {
      invocations += row["invocations"].get<uint64_t>();
      billed += row["billed_ms"].get<uint64_t>();
      mb_ms += row["mb_ms"].get<uint64_t>();
      cost += row["cost_picousd"].get<uint64_t>();
    }
    CHECK(invocations == 10'000);
    CHECK(billed == report["total"]["billed_ms"]);
    CHECK(mb_ms == report["total"]["mb_ms"]);
    CHECK(mb_ms == billed * 128);
    CHECK(cost == report["total"]["cost_picousd"]);
  }
  // The CLI prints the same totals.
  CliResult table = flintd.RunCli({"bill", "--by", "function"});
  INFO(table.Describe());
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("10000") != std::string::npos);
  CliResult describe = flintd.RunCli({"describe", "quick"});
  CHECK(describe.out.find("Usage (last 24 hours)") != std::string::npos);
}

TEST_CASE("kill -9 loses no record of an answered invocation and bills none twice",
          "[billing][crash]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "quick", kQuick);
  constexpr int kClients = 2;
  std::mutex mu;
  std::set<std::string> answered;
  std::atomic<uint64_t> attempts{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      auto client = flintd.Client();
      while (!stop) {
        attempts++;
        auto r = client.Invoke("quick", {});
        if (!r.ok()) break;  // flintd is gone
        for (const auto& [name, value] : r->headers) {
          if (name == "x-flint-request-id") {
            std::lock_guard lock(mu);
            answered.insert(value);
          }
        }
      }
    });
  }
  REQUIRE(flint::testing::WaitUntil(
      [&] {
        std::lock_guard lock(mu);
        return answered.size() >= 2000;
      },
      30s, 5ms));
  flintd.Kill9();
  stop = true;
  for (auto& t : clients) t.join();
  StartOrFail(flintd);
  json report = Bill(flintd, {{"by", "none"}});
  uint64_t recorded = report["total"]["invocations"];
  INFO("answered " << answered.size() << ", attempted " << attempts << ", recorded " << recorded);
  // Every answered invocation is recorded; at most the kClients in flight at the kill (which
  // ran but whose responses were lost) are recorded besides, and none twice.
  CHECK(recorded >= answered.size());
  CHECK(recorded <= answered.size() + kClients);
  CHECK(recorded <= attempts);
  // Against the client's log, id by id: the ledger (read straight from SQLite, which the
  // restarted flintd has replayed the journal into, before this report) holds every answered
  // request id, and nothing but answered ids and the few in flight.
  std::set<std::string> ledger_ids = LedgerIds(flintd.data_dir() + "/flint.db");
  size_t missing = 0;
  for (const auto& id : answered) missing += ledger_ids.count(id) == 0;
  CHECK(missing == 0);
  CHECK(ledger_ids.size() == recorded + report["total"]["throttled"].get<uint64_t>());
}

TEST_CASE("A price change applies only to invocations after it", "[billing][prices]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "quick", kQuick);
  auto client = flintd.Client();
  for (int i = 0; i < 20; ++i) REQUIRE(client.Invoke("quick", {}).ok());
  json before = Bill(flintd, {{"by", "none"}});
  REQUIRE(before["total"]["invocations"] == 20);

  // Not in the past.
  flint::client::HttpRequest put;
  put.method = "PUT";
  put.target = "/v1/billing/prices";
  put.headers = {{"authorization", "Bearer " + flintd.token()},
                 {"content-type", "application/json"}};
  put.body = R"({"per_million_requests_usd": "200", "per_gb_second_usd": "0",)"
             R"( "effective_from": "2020-01-01T00:00:00Z"})";
  auto refused = flintd.Http(put);
  REQUIRE(refused.ok());
  CHECK(refused->status == 400);

  put.body = R"({"per_million_requests_usd": "200", "per_gb_second_usd": "0"})";
  auto accepted = flintd.Http(put);
  REQUIRE(accepted.ok());
  INFO(accepted->body);
  REQUIRE(accepted->status == 201);
  std::string effective =
      json::parse(accepted->body)["price_sheet"]["effective_from"].get<std::string>();
  std::this_thread::sleep_for(5ms);  // past the new sheet's effective time
  for (int i = 0; i < 10; ++i) REQUIRE(client.Invoke("quick", {}).ok());

  json old_part = Bill(flintd, {{"by", "none"}, {"to", effective}});
  CHECK(old_part["total"]["invocations"] == 20);
  CHECK(old_part["total"]["cost_picousd"] == before["total"]["cost_picousd"]);
  json new_part = Bill(flintd, {{"by", "none"}, {"from", effective}});
  CHECK(new_part["total"]["invocations"] == 10);
  // $200 per million requests = 200,000,000 picodollars each; GB-seconds are free now.
  CHECK(new_part["total"]["cost_picousd"] == 10 * 200'000'000);
  json all = Bill(flintd, {{"by", "none"}});
  CHECK(all["total"]["cost_picousd"].get<int64_t>() ==
        before["total"]["cost_picousd"].get<int64_t>() + 10 * 200'000'000);
}
