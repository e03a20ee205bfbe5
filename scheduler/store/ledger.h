// Ledger: the invocation ledger, its hourly rollups and the price sheets, in the store's SQLite
// database (tables created by migration 2, see migrations.cc; the billing model is
// docs/billing.md and scheduler/meter/).
//
// A ledger row is one invocation keyed by its request id: Insert is INSERT OR IGNORE, so a
// record replayed after a crash is never stored (or billed) twice. Rollup folds rows older than
// a cutoff into per-hour aggregates (invocation_hours) and deletes them, in one transaction, so
// every sum a report reads is unchanged. Money is integer picodollars and memory x time integer
// MB-milliseconds: nothing here is floating point.
//
// Thread-safe. The ledger has its own two connections to the database: one for writes (the
// meter's writer thread: Insert, AddPriceSheet, Rollup) and one for reads (reports on libuv's
// thread pool), each behind its own mutex, so a report never waits for a batch being written
// (WAL readers do not block the writer). Open only after Store::Open applied the migrations.
// Calls do disk I/O: never call them on the event loop.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

// One invocation, as stored. `outcome` is one of ok, error, timeout, crash, oom, throttled;
// `trigger` one of http, async, cron, topic (scheduler/meter/billing.h names them).
struct LedgerRecord {
  std::string id;  // the request id (UUID)
  std::string function;
  uint32_t version = 0;
  std::string trigger;
  int64_t start_ms = 0;      // wall clock, when flintd received the request
  uint64_t duration_us = 0;  // execution time, measured in the worker around the handler
  uint64_t e2e_us = 0;       // received by flintd -> response handed to the connection
  uint64_t billed_ms = 0;
  uint32_t memory_mb = 0;
  uint64_t mb_ms = 0;  // memory_mb x billed_ms
  uint64_t cpu_us = 0;
  std::optional<uint64_t> peak_memory_bytes;
  bool cold = false;
  uint64_t init_us = 0;  // cold starts: the LOAD's init duration
  std::string outcome;
  int64_t price_sheet_id = 0;
};

// One price sheet, in force from effective_from_ms until the next sheet's effective_from_ms.
struct PriceSheetRow {
  int64_t id = 0;
  int64_t effective_from_ms = 0;
  int64_t per_million_requests_pico = 0;
  int64_t per_gb_second_pico = 0;
  bool bill_init = false;
  int64_t created_at_ms = 0;
};

enum class LedgerGroupBy { kNone, kFunction, kVersion, kDay, kHour };

struct LedgerQuery {
  int64_t from_ms = std::numeric_limits<int64_t>::min();  // start_ms >= from_ms
  int64_t to_ms = std::numeric_limits<int64_t>::max();    // start_ms < to_ms
  std::string function;                                   // empty: every function
  LedgerGroupBy by = LedgerGroupBy::kNone;
};

// Sums over a set of records. `requests` counts invocations that ran (every outcome but
// throttled); `errors` counts error, timeout, crash and oom.
struct LedgerSums {
  uint64_t requests = 0;
  uint64_t throttled = 0;
  uint64_t errors = 0;
  uint64_t cold_starts = 0;
  uint64_t billed_ms = 0;
  uint64_t mb_ms = 0;
  uint64_t cpu_us = 0;
};

// One group of a query: the grouping columns (unused ones are empty or 0) and the price sheet
// its records were billed under (a group spanning a price change comes back as several rows).
struct LedgerGroup {
  std::string function;
  uint32_t version = 0;
  int64_t bucket_ms = 0;  // start of the day or hour (UTC) for kDay and kHour
  int64_t price_sheet_id = 0;
  LedgerSums sums;
};

class Ledger {
 public:
  // Opens the database at `db_path` (Store::path()). Fails if migration 2 was not applied.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& db_path);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Stores `records` in one transaction, ignoring ids already present. Returns how many rows
  // were new.
  Result<uint64_t> Insert(std::span<const LedgerRecord> records);

  // Every price sheet, oldest effective_from_ms first.
  Result<std::vector<PriceSheetRow>> PriceSheets();
  // Adds a sheet (its id and created_at_ms are assigned). InvalidArgument if a sheet with the
  // same effective_from_ms exists. The caller checks that it takes effect in the future.
  Result<PriceSheetRow> AddPriceSheet(const PriceSheetRow& sheet);

  // Moves every row with start_ms < cutoff_ms into invocation_hours (adding to existing hours)
  // and deletes it, in one transaction. Returns the number of rows rolled up.
  Result<uint64_t> Rollup(int64_t cutoff_ms);

  // Sums of ledger rows and hourly rollups matching `query`, grouped by query.by and price sheet.
  // A rolled-up hour matches when its hour start lies in [from_ms, to_ms).
  Result<std::vector<LedgerGroup>> Query(const LedgerQuery& query);

  // Rows in the raw ledger and in invocation_hours (tests and diagnostics).
  Result<uint64_t> CountRecords();
  Result<uint64_t> CountHours();

  // Benchmark baseline only (scheduler/meter/ledger_bench.cc): inserts `records` into the same
  // table as Insert, in one transaction, on a connection of its own, with a bare prepared
  // statement and none of the store's wrapping, i.e. as fast as SQLite itself can store them
  // with this schema and these settings. Returns the number of new rows.
  Result<uint64_t> InsertBaseline(std::span<const LedgerRecord> records);

 private:
  struct Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::scheduler
