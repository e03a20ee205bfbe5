#include "scheduler/meter/meter.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "sdk/core/clock.h"

namespace flint::scheduler::meter {
namespace {

constexpr size_t kMaxBatch = 8192;  // records per transaction when catching up
constexpr uint64_t kHourMs = 3'600'000;

PriceSheet FromRow(const PriceSheetRow& row) {
  PriceSheet s;
  s.id = row.id;
  s.effective_from_ms = row.effective_from_ms;
  s.per_million_requests_pico = row.per_million_requests_pico;
  s.per_gb_second_pico = row.per_gb_second_pico;
  s.bill_init = row.bill_init;
  return s;
}

PriceSheetRow ToRow(const PriceSheet& s) {
  PriceSheetRow row;
  row.effective_from_ms = s.effective_from_ms;
  row.per_million_requests_pico = s.per_million_requests_pico;
  row.per_gb_second_pico = s.per_gb_second_pico;
  row.bill_init = s.bill_init;
  return row;
}

}  // namespace

Meter::Meter(uv_loop_t* loop, std::shared_ptr<Ledger> ledger, std::unique_ptr<Journal> journal,
             MeterOptions options)
    : loop_(loop),
      ledger_(std::move(ledger)),
      journal_(std::move(journal)),
      options_(std::move(options)) {}

Result<std::unique_ptr<Meter>> Meter::Start(uv_loop_t* loop, std::shared_ptr<Ledger> ledger,
                                            MeterOptions options) {
  if (options.retention_ms < kHourMs) {
    return InvalidArgument("the ledger retention must be at least 1h");
  }
  FLINT_ASSIGN_OR_RETURN(auto journal, Journal::Open(options.journal_path, options.journal_slots));
  std::unique_ptr<Meter> meter(
      new Meter(loop, std::move(ledger), std::move(journal), std::move(options)));

  FLINT_RETURN_IF_ERROR(meter->LoadSheets());
  if (meter->sheets_.empty()) {
    FLINT_RETURN_IF_ERROR(meter->ledger_->AddPriceSheet(ToRow(DefaultPriceSheet())).status());
    FLINT_RETURN_IF_ERROR(meter->LoadSheets());
  }
  if (const auto& wanted = meter->options_.configured_prices) {
    int64_t now = WallClockMs();
    if (!wanted->SamePrices(SheetAt(meter->sheets_, now))) {
      PriceSheet sheet = *wanted;
      sheet.effective_from_ms = now + 1;  // records that started by now keep the old prices
      FLINT_RETURN_IF_ERROR(meter->ledger_->AddPriceSheet(ToRow(sheet)).status());
      FLINT_RETURN_IF_ERROR(meter->LoadSheets());
      spdlog::info("prices changed: ${} per million requests, ${} per GB-second, init {}",
                   FormatDollars(sheet.per_million_requests_pico),
                   FormatDollars(sheet.per_gb_second_pico),
                   sheet.bill_init ? "billed" : "not billed");
    }
  }

  // Replay what a previous flintd published but may not have committed. INSERT OR IGNORE on the
  // request id makes a replay of an already committed record a no-op.
  Journal::Recovered recovered = meter->journal_->Recover();
  for (size_t i = 0; i < recovered.records.size(); i += kMaxBatch) {
    size_t end = std::min(recovered.records.size(), i + kMaxBatch);
    std::vector<InvocationRecord> chunk(recovered.records.begin() + static_cast<ptrdiff_t>(i),
                                        recovered.records.begin() + static_cast<ptrdiff_t>(end));
    FLINT_RETURN_IF_ERROR(meter->Store(std::move(chunk)));
  }
  meter->journal_->MarkCommitted(recovered.last_seq);
  meter->recovered_ = recovered.records.size();
  if (!recovered.records.empty()) {
    spdlog::info("ledger: replayed {} record(s) from the journal", recovered.records.size());
  }

  meter->async_ = std::make_unique<loop::Async>(loop, [m = meter.get()] { m->OnAsync(); });
  meter->last_rollup_ms_ = 0;  // roll up on the writer's first pass
  meter->writer_ = std::thread([m = meter.get()] { m->WriterMain(); });
  return meter;
}

Meter::~Meter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    writer_sleeping_ = false;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  async_.reset();  // after the writer, which may Send until it ends
}

Status Meter::LoadSheets() {
  FLINT_ASSIGN_OR_RETURN(auto rows, ledger_->PriceSheets());
  sheets_.clear();
  for (const auto& row : rows) sheets_.push_back(FromRow(row));
  return Status::Ok();
}

LedgerRecord ToLedgerRow(InvocationRecord r, const PriceSheet& sheet) {
  Billed billed = Bill(r.outcome, r.duration_us, r.cold, r.init_us, r.memory_mb, sheet);
  LedgerRecord row;
  row.id = std::move(r.request_id);
  row.function = std::move(r.function);
  row.version = r.version;
  row.trigger = TriggerName(r.trigger);
  row.start_ms = r.start_ms;
  row.duration_us = r.duration_us;
  row.e2e_us = r.e2e_us;
  row.billed_ms = billed.billed_ms;
  row.memory_mb = r.memory_mb;
  row.mb_ms = billed.mb_ms;
  row.cpu_us = r.cpu_us;
  row.peak_memory_bytes = r.peak_memory_bytes;
  row.cold = r.cold;
  row.init_us = r.init_us;
  row.outcome = OutcomeName(r.outcome);
  row.price_sheet_id = sheet.id;
  return row;
}

Status Meter::Store(std::vector<InvocationRecord> records) {
  std::vector<LedgerRecord> rows;
  rows.reserve(records.size());
  for (InvocationRecord& r : records) {
    const PriceSheet& sheet = SheetAt(sheets_, r.start_ms);
    rows.push_back(ToLedgerRow(std::move(r), sheet));
  }
  FLINT_RETURN_IF_ERROR(ledger_->Insert(rows).status());
  committed_count_ += records.size();
  batches_++;
  return Status::Ok();
}

bool Meter::TryAppend(const InvocationRecord& record) {
  if (!deferred_.empty()) return false;
  JournalSlot slot;
  EncodeRecord(record, &slot);
  if (!journal_->Append(slot)) return false;
  appended_.fetch_add(1, std::memory_order_relaxed);
  // Invariant (with WriterMain): the writer either sees the new record before it sleeps or is
  // seen sleeping here (both sides use sequentially consistent operations).
  if (writer_sleeping_.load(std::memory_order_seq_cst)) WakeWriter();
  return true;
}

void Meter::AppendThen(const InvocationRecord& record, std::function<void()> then) {
  Deferred d;
  EncodeRecord(record, &d.slot);
  d.then = std::move(then);
  deferred_.push_back(std::move(d));
  deferred_count_++;
  DrainDeferred();
  WakeWriter();
}

void Meter::DrainDeferred() {
  while (!deferred_.empty() && journal_->Append(deferred_.front().slot)) {
    appended_.fetch_add(1, std::memory_order_relaxed);
    auto then = std::move(deferred_.front().then);
    deferred_.pop_front();
    then();
  }
  if (deferred_.empty() && !flush_after_deferred_.empty()) {
    auto waiting = std::move(flush_after_deferred_);
    flush_after_deferred_.clear();
    for (auto& done : waiting) Flush(std::move(done));
  }
}

void Meter::Flush(std::function<void()> done) {
  if (!deferred_.empty()) {
    // Deferred records count as appended: wait until they are in the journal, then flush.
    flush_after_deferred_.push_back(std::move(done));
    return;
  }
  uint64_t target = journal_->published();
  if (target <= journal_->committed()) return done();
  {
    std::lock_guard lock(mu_);
    flush_waiters_.emplace_back(target, std::move(done));
  }
  WakeWriter();
}

void Meter::SetPrices(PriceSheet sheet, std::function<void(Result<PriceSheet>)> done) {
  auto task = [this, sheet, done = std::move(done)]() mutable {
    int64_t now = WallClockMs();
    Result<PriceSheet> result = Internal("not run");
    if (sheet.effective_from_ms == 0) sheet.effective_from_ms = now + 1;
    if (sheet.effective_from_ms <= now) {
      result = InvalidArgument(
          "effective_from must be in the future: a price change never "
          "applies to invocations already made");
    } else {
      auto added = ledger_->AddPriceSheet(ToRow(sheet));
      if (!added.ok()) {
        result = added.status();
      } else {
        Status loaded = LoadSheets();
        result = loaded.ok() ? Result<PriceSheet>(FromRow(*added)) : Result<PriceSheet>(loaded);
      }
    }
    PostToLoop([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  };
  {
    std::lock_guard lock(mu_);
    writer_tasks_.push_back(std::move(task));
  }
  WakeWriter();
}

void Meter::WakeWriter() {
  {
    std::lock_guard lock(mu_);
    writer_sleeping_ = false;
  }
  cv_.notify_one();
}

void Meter::PostToLoop(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    loop_tasks_.push_back(std::move(task));
  }
  async_->Send();
}

void Meter::OnAsync() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(loop_tasks_);
  }
  for (auto& task : tasks) task();
  DrainDeferred();
}

MeterStats Meter::stats() const {
  MeterStats s;
  s.appended = appended_.load();
  s.committed = committed_count_.load();
  s.recovered = recovered_.load();
  s.deferred = deferred_count_.load();
  s.batches = batches_.load();
  return s;
}

void Meter::WriterMain() {
  // Named so that top -H and /proc/<pid>/task/*/comm tell it from the loop (tools/bench).
  pthread_setname_np(pthread_self(), "flint-ledger");
  bool busy = false;
  uint64_t failures = 0;
  while (true) {
    std::vector<std::function<void()>> tasks;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      if (busy) {
        // Under load: let a batch accumulate, unless something else needs the writer or the
        // journal is filling up (AppendThen wakes the writer when it is full).
        cv_.wait_for(lock, std::chrono::milliseconds(options_.batch_interval_ms), [&] {
          return stop_ || !writer_tasks_.empty() || !flush_waiters_.empty() ||
                 journal_->published() - journal_->committed() >= journal_->slot_count() / 2;
        });
      } else {
        writer_sleeping_.store(true, std::memory_order_seq_cst);
        cv_.wait_for(lock, std::chrono::milliseconds(options_.rollup_interval_ms), [&] {
          return stop_ || !writer_tasks_.empty() || !writer_sleeping_.load() ||
                 journal_->published() != journal_->committed();
        });
        writer_sleeping_.store(false, std::memory_order_seq_cst);
      }
      tasks.swap(writer_tasks_);
      stopping = stop_;
    }

    uint64_t committed = journal_->committed();
    uint64_t published = journal_->published();
    busy = published > committed;
    if (busy) {
      uint64_t through = std::min(published, committed + kMaxBatch);
      Status stored = Store(journal_->Read(committed, through));
      if (stored.ok()) {
        journal_->MarkCommitted(through);
        failures = 0;
      } else {
        // The records stay in the journal and are retried; responses keep flowing until the
        // journal fills up.
        if (failures++ % 100 == 0) {
          spdlog::error("ledger: cannot store records (will retry): {}", stored.message());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (stopping) break;  // the journal keeps them for the next start
        continue;
      }
    }

    for (auto& task : tasks) task();

    bool wake_loop = false;
    {
      std::lock_guard lock(mu_);
      uint64_t now_committed = journal_->committed();
      for (auto it = flush_waiters_.begin(); it != flush_waiters_.end();) {
        if (it->first <= now_committed) {
          loop_tasks_.push_back(std::move(it->second));
          it = flush_waiters_.erase(it);
        } else {
          ++it;
        }
      }
      wake_loop = !loop_tasks_.empty();
    }
    // Deferred responses wait for journal space, which this batch just freed.
    if (busy && deferred_count_.load() > 0) wake_loop = true;
    if (wake_loop) async_->Send();

    int64_t now = WallClockMs();
    if (now - static_cast<int64_t>(last_rollup_ms_) >=
        static_cast<int64_t>(options_.rollup_interval_ms)) {
      last_rollup_ms_ = static_cast<uint64_t>(now);
      int64_t cutoff = now - static_cast<int64_t>(options_.retention_ms);
      cutoff -= cutoff % static_cast<int64_t>(kHourMs);
      auto rolled = ledger_->Rollup(cutoff);
      if (!rolled.ok()) {
        spdlog::error("ledger: rollup failed: {}", rolled.status().message());
      } else if (*rolled > 0) {
        spdlog::info("ledger: rolled {} record(s) older than {} ms into hourly aggregates", *rolled,
                     options_.retention_ms);
      }
    }

    if (stopping && journal_->published() == journal_->committed()) break;
  }
}

}  // namespace flint::scheduler::meter
