// Meter: records every invocation in the ledger without slowing the event loop.
//
// The loop calls TryAppend (or AppendThen) before it sends an invocation's response: the record
// goes into the crash-safe Journal (a memcpy into a shared file mapping, see journal.h), so the
// response may leave at once. A writer thread copies journal records into SQLite (Ledger) in
// batches, one transaction each, billing each record under the price sheet in force at its
// start time; it also applies price changes and rolls old records up into hourly aggregates.
// Nothing on the loop touches SQLite or waits for the writer, except when the journal is full
// (SQLite stalled for longer than the journal holds): then responses wait in memory until their
// records fit (AppendThen), so the guarantee "a sent response has a durable record" holds.
//
// Threads: every public method on the loop thread, except the constructor work in Start, which
// recovers the journal synchronously (before flintd serves). Callbacks run on the loop thread.
// The Meter must outlive every caller; its destructor commits what is left and joins the writer.
#pragma once

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/meter/billing.h"
#include "scheduler/meter/journal.h"
#include "scheduler/store/ledger.h"
#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler::meter {

// The ledger row of `record`, billed under `sheet` (the one in force at its start).
LedgerRecord ToLedgerRow(InvocationRecord record, const PriceSheet& sheet);

struct MeterOptions {
  std::string journal_path;        // <data-dir>/ledger.journal
  uint32_t journal_slots = 65536;  // 16 MiB: over a second of records at full speed
  // Records older than this are rolled up into hourly aggregates. At least one hour.
  uint64_t retention_ms = 30ull * 24 * 3600 * 1000;
  uint64_t rollup_interval_ms = 60'000;
  // Under load the writer commits at most every this often, unless the journal is half full or
  // a Flush waits: bigger batches cost less CPU per record (one COMMIT and one write of each
  // touched page per batch) and wake the writer less often. Records are durable in the journal
  // meanwhile, and reports Flush first, so the interval delays nothing a client sees.
  uint64_t batch_interval_ms = 50;
  // Prices from flintd's options: if set and different from the sheet in force, a new sheet
  // starts now. If no sheet exists at all, DefaultPriceSheet() (from the epoch) is stored.
  std::optional<PriceSheet> configured_prices;
};

struct MeterStats {
  uint64_t appended = 0;   // records published into the journal by this process
  uint64_t committed = 0;  // records the writer stored in SQLite (replays included)
  uint64_t recovered = 0;  // records replayed from the journal at start
  uint64_t deferred = 0;   // responses that had to wait for journal space
  uint64_t batches = 0;
};

class Meter {
 public:
  // Opens the journal, replays what a previous flintd left in it into the ledger, applies
  // `options.configured_prices`, and starts the writer thread.
  static Result<std::unique_ptr<Meter>> Start(uv_loop_t* loop, std::shared_ptr<Ledger> ledger,
                                              MeterOptions options);
  ~Meter();
  Meter(const Meter&) = delete;
  Meter& operator=(const Meter&) = delete;

  // Appends `record` to the journal. False when the journal is full (or older deferred records
  // still wait): then call AppendThen.
  bool TryAppend(const InvocationRecord& record);
  // Appends `record` as soon as the journal has room, then runs `then` (on the loop).
  void AppendThen(const InvocationRecord& record, std::function<void()> then);

  // Runs `done` once every record appended before this call is committed to SQLite.
  void Flush(std::function<void()> done);
  // Starts `sheet`'s prices at sheet.effective_from_ms (0: now). Refused (InvalidArgument) if
  // that is in the past: a price change never applies to records already made.
  void SetPrices(PriceSheet sheet, std::function<void(Result<PriceSheet>)> done);

  const Ledger& ledger() const { return *ledger_; }
  MeterStats stats() const;

 private:
  Meter(uv_loop_t* loop, std::shared_ptr<Ledger> ledger, std::unique_ptr<Journal> journal,
        MeterOptions options);
  Status LoadSheets();
  // Bills and inserts `records` (writer thread, or Start before the thread exists).
  Status Store(std::vector<InvocationRecord> records);
  void WriterMain();
  void WakeWriter();
  void PostToLoop(std::function<void()> task);
  void OnAsync();
  void DrainDeferred();

  uv_loop_t* loop_;
  std::shared_ptr<Ledger> ledger_;
  std::unique_ptr<Journal> journal_;
  MeterOptions options_;
  std::unique_ptr<loop::Async> async_;  // the writer wakes the loop (OnAsync)

  // Writer thread only (and Start before it runs).
  std::vector<PriceSheet> sheets_;
  uint64_t last_rollup_ms_ = 0;

  // Loop thread only.
  struct Deferred {
    JournalSlot slot;
    std::function<void()> then;
  };
  std::deque<Deferred> deferred_;
  std::vector<std::function<void()>> flush_after_deferred_;

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_ = false;
  std::vector<std::function<void()>> writer_tasks_;  // run on the writer thread
  std::vector<std::pair<uint64_t, std::function<void()>>> flush_waiters_;
  std::vector<std::function<void()>> loop_tasks_;  // run on the loop thread

  std::atomic<bool> writer_sleeping_{false};
  std::atomic<uint64_t> appended_{0}, committed_count_{0}, recovered_{0}, deferred_count_{0},
      batches_{0};
  std::thread writer_;
};

}  // namespace flint::scheduler::meter
