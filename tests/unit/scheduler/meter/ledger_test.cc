// The ledger on a real SQLite database: idempotent inserts, rollups that keep every total,
// price sheets, and the meter's writer thread end to end.
#include "scheduler/store/ledger.h"

#include <uv.h>

#include <catch2/catch.hpp>

#include "scheduler/meter/invocation_id.h"
#include "scheduler/meter/meter.h"
#include "scheduler/meter/report.h"
#include "scheduler/store/store.h"
#include "sdk/core/clock.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;

namespace {

constexpr int64_t kHour = 3'600'000;

std::unique_ptr<Ledger> OpenLedger(const TempDir& dir) {
  auto store = Store::Open(dir.path());
  REQUIRE(store.ok());
  auto ledger = Ledger::Open((*store)->path());
  REQUIRE(ledger.ok());
  return std::move(ledger).value();
}

LedgerRecord Row(int i, int64_t start_ms, const std::string& fn = "hello") {
  LedgerRecord r;
  r.id = "id-" + std::to_string(i);
  r.function = fn;
  r.version = 1 + i % 2;
  r.trigger = "http";
  r.start_ms = start_ms;
  r.duration_us = 1000 * (i % 7) + 1;
  r.billed_ms = i % 7 + 1;
  r.memory_mb = 128;
  r.mb_ms = r.billed_ms * 128;
  r.cpu_us = 100 + i;
  r.cold = i % 5 == 0;
  r.outcome = i % 11 == 0 ? "throttled" : i % 3 == 0 ? "error" : "ok";
  if (r.outcome == "throttled") r.billed_ms = r.mb_ms = 0;
  r.price_sheet_id = 1;
  return r;
}

LedgerSums Total(Ledger& ledger, LedgerGroupBy by = LedgerGroupBy::kNone) {
  LedgerQuery q;
  q.by = by;
  auto groups = ledger.Query(q);
  REQUIRE(groups.ok());
  LedgerSums t;
  for (const auto& g : *groups) {
    t.requests += g.sums.requests;
    t.throttled += g.sums.throttled;
    t.errors += g.sums.errors;
    t.cold_starts += g.sums.cold_starts;
    t.billed_ms += g.sums.billed_ms;
    t.mb_ms += g.sums.mb_ms;
    t.cpu_us += g.sums.cpu_us;
  }
  return t;
}

bool Same(const LedgerSums& a, const LedgerSums& b) {
  return a.requests == b.requests && a.throttled == b.throttled && a.errors == b.errors &&
         a.cold_starts == b.cold_starts && a.billed_ms == b.billed_ms && a.mb_ms == b.mb_ms &&
         a.cpu_us == b.cpu_us;
}

}  // namespace

TEST_CASE("Ledger inserts a record id once, however often it is replayed", "[ledger]") {
  TempDir dir;
  auto ledger = OpenLedger(dir);
  std::vector<LedgerRecord> rows = {Row(1, 1000), Row(2, 2000)};
  CHECK(*ledger->Insert(rows) == 2);
  CHECK(*ledger->Insert(rows) == 0);
  CHECK(*ledger->CountRecords() == 2);
}

TEST_CASE("Ledger query sums what was inserted", "[ledger]") {
  TempDir dir;
  auto ledger = OpenLedger(dir);
  std::vector<LedgerRecord> rows;
  LedgerSums expect;
  for (int i = 1; i <= 500; ++i) {
    rows.push_back(Row(i, i * 60'000));
    const LedgerRecord& r = rows.back();
    bool throttled = r.outcome == "throttled";
    expect.requests += !throttled;
    expect.throttled += throttled;
    expect.errors += r.outcome == "error";
    expect.cold_starts += r.cold;
    expect.billed_ms += r.billed_ms;
    expect.mb_ms += r.mb_ms;
    expect.cpu_us += r.cpu_us;
  }
  REQUIRE(ledger->Insert(rows).ok());
  CHECK(Same(Total(*ledger), expect));
  CHECK(Same(Total(*ledger, LedgerGroupBy::kHour), expect));
  CHECK(Same(Total(*ledger, LedgerGroupBy::kVersion), expect));
  LedgerQuery q;
  q.from_ms = 60'000;
  q.to_ms = 120'000;  // only record 1
  auto one = ledger->Query(q);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK(one->front().sums.cpu_us == 101);
}

TEST_CASE("Rollup keeps every report's totals and empties the raw ledger", "[ledger][rollup]") {
  TempDir dir;
  auto ledger = OpenLedger(dir);
  std::vector<LedgerRecord> rows;
  for (int i = 1; i <= 600; ++i) rows.push_back(Row(i, i * 37'000, i % 4 ? "a" : "b"));
  REQUIRE(ledger->Insert(rows).ok());
  std::vector<std::vector<LedgerGroup>> before;
  for (auto by : {LedgerGroupBy::kNone, LedgerGroupBy::kFunction, LedgerGroupBy::kVersion,
                  LedgerGroupBy::kDay, LedgerGroupBy::kHour}) {
    LedgerQuery q;
    q.by = by;
    before.push_back(*ledger->Query(q));
  }
  // Half first, then everything (the second rollup adds to hours the first one made).
  REQUIRE(ledger->Rollup(3 * kHour).ok());
  auto rolled = ledger->Rollup(1000 * kHour);
  REQUIRE(rolled.ok());
  CHECK(*ledger->CountRecords() == 0);
  CHECK(*ledger->CountHours() > 0);
  size_t k = 0;
  for (auto by : {LedgerGroupBy::kNone, LedgerGroupBy::kFunction, LedgerGroupBy::kVersion,
                  LedgerGroupBy::kDay, LedgerGroupBy::kHour}) {
    LedgerQuery q;
    q.by = by;
    auto after = *ledger->Query(q);
    REQUIRE(after.size() == before[k].size());
    for (size_t i = 0; i < after.size(); ++i) {
      CHECK(after[i].function == before[k][i].function);
      CHECK(after[i].bucket_ms == before[k][i].bucket_ms);
      CHECK(Same(after[i].sums, before[k][i].sums));
    }
    ++k;
  }
}

TEST_CASE("Price sheets are listed in effective order and unique per time", "[ledger][prices]") {
  TempDir dir;
  auto ledger = OpenLedger(dir);
  PriceSheetRow later;
  later.effective_from_ms = 5000;
  later.per_million_requests_pico = 1;
  PriceSheetRow first;
  first.effective_from_ms = 0;
  REQUIRE(ledger->AddPriceSheet(later).ok());
  REQUIRE(ledger->AddPriceSheet(first).ok());
  CHECK_FALSE(ledger->AddPriceSheet(first).ok());
  auto sheets = ledger->PriceSheets();
  REQUIRE(sheets.ok());
  REQUIRE(sheets->size() == 2);
  CHECK(sheets->at(0).effective_from_ms == 0);
  CHECK(sheets->at(1).per_million_requests_pico == 1);
}

TEST_CASE("Meter stores appended records, replays its journal and prices forward only", "[meter]") {
  TempDir dir;
  std::shared_ptr<Ledger> ledger = OpenLedger(dir);
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  // The meter's async handle does not keep a loop alive; this timer makes uv_run poll.
  uv_timer_t tick;
  uv_timer_init(&loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 1, 1);
  meter::MeterOptions options;
  options.journal_path = dir.Sub("ledger.journal");
  options.journal_slots = 64;
  int64_t now = flint::WallClockMs();
  {
    auto started = meter::Meter::Start(&loop, ledger, options);
    REQUIRE(started.ok());
    auto& m = **started;
    for (int i = 0; i < 200; ++i) {  // more than the journal holds: some wait for room
      meter::InvocationRecord r;
      r.request_id = "r" + std::to_string(i);
      r.function = "hello";
      r.start_ms = now;
      r.duration_us = 1500;
      r.memory_mb = 128;
      if (!m.TryAppend(r)) m.AppendThen(r, [] {});
    }
    bool flushed = false;
    m.Flush([&] { flushed = true; });
    while (!flushed) uv_run(&loop, UV_RUN_ONCE);
    CHECK(*ledger->CountRecords() == 200);

    // A price change in the past is refused; one in the future is accepted.
    meter::PriceSheet past = meter::DefaultPriceSheet();
    past.effective_from_ms = now - 1000;
    std::optional<bool> past_ok, future_ok;
    m.SetPrices(past, [&](flint::Result<meter::PriceSheet> r) { past_ok = r.ok(); });
    meter::PriceSheet future = meter::DefaultPriceSheet();
    future.per_gb_second_pico *= 2;
    future.effective_from_ms = now + 3'600'000;
    m.SetPrices(future, [&](flint::Result<meter::PriceSheet> r) { future_ok = r.ok(); });
    while (!past_ok || !future_ok) uv_run(&loop, UV_RUN_ONCE);
    CHECK_FALSE(*past_ok);
    CHECK(*future_ok);
  }
  meter::ReportParams params;
  params.by = LedgerGroupBy::kNone;
  auto report = meter::RunReport(*ledger, params);
  REQUIRE(report.ok());
  CHECK(report->total.sums.requests == 200);
  CHECK(report->total.sums.billed_ms == 400);
  // Every record was billed under the first (default) sheet.
  CHECK(report->total.cost_pico == meter::CostPico(200, 400 * 128, meter::DefaultPriceSheet()));
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("Meter replays what a killed flintd left in the journal and bills each record once",
          "[meter][crash]") {
  TempDir dir;
  std::shared_ptr<Ledger> ledger = OpenLedger(dir);
  int64_t now = flint::WallClockMs();
  auto record = [&](int i) {
    meter::InvocationRecord r;
    r.request_id = meter::InvocationId(now, 0, static_cast<uint64_t>(i));
    r.function = "hello";
    r.start_ms = now;
    r.duration_us = 2500;  // 3 ms
    r.memory_mb = 128;
    return r;
  };
  {
    // A flintd appended 10 records and was killed; its writer had stored records 0..3 in SQLite
    // but not yet advanced the journal's committed mark.
    auto journal = meter::Journal::Open(dir.Sub("ledger.journal"), 64);
    REQUIRE(journal.ok());
    (*journal)->Recover();
    for (int i = 0; i < 10; ++i) {
      meter::JournalSlot slot;
      meter::EncodeRecord(record(i), &slot);
      REQUIRE((*journal)->Append(slot));
    }
  }
  std::vector<LedgerRecord> stored;
  for (int i = 0; i < 4; ++i) {
    LedgerRecord row = Row(i, now);
    row.id = record(i).request_id;
    stored.push_back(row);
  }
  REQUIRE(*ledger->Insert(stored) == 4);

  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  meter::MeterOptions options;
  options.journal_path = dir.Sub("ledger.journal");
  for (int start = 0; start < 2; ++start) {
    auto started = meter::Meter::Start(&loop, ledger, options);
    REQUIRE(started.ok());
    // Every record is in the ledger once; a second start finds nothing left to replay.
    CHECK((*started)->stats().recovered == (start == 0 ? 10u : 0u));
    CHECK(*ledger->CountRecords() == 10);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // closes the meters' handles
  CHECK(uv_loop_close(&loop) == 0);
  LedgerQuery q;
  auto groups = ledger->Query(q);
  REQUIRE(groups.ok());
  REQUIRE(groups->size() == 1);
  CHECK(groups->front().sums.requests + groups->front().sums.throttled == 10);
}
