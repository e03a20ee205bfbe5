// flint-ledger-bench: how many invocation records per second the ledger stores on this machine,
// through the real path (Meter: journal append on the loop thread, writer thread, billing, one
// SQLite transaction per batch), against a baseline measured in the same run: the same records
// inserted by bare SQLite (one prepared statement, one transaction, no wrapping) into the same
// schema with the same settings. Also the loop's cost per append and the process CPU time per
// record. Driven by tools/bench/ledger.py; not a test.
//
//   flint-ledger-bench [--records N] [--reps R] [--random-ids] [--dir DIR]
//
// Each rep uses fresh databases in DIR (default: $TMPDIR or /tmp). Prints one line per
// measurement and a last line "FLINT_LEDGER_BENCH {json}" with every figure.
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "scheduler/meter/billing.h"
#include "scheduler/meter/invocation_id.h"
#include "scheduler/meter/meter.h"
#include "scheduler/meter/report.h"
#include "scheduler/store/ledger.h"
#include "scheduler/store/store.h"
#include "sdk/core/check.h"
#include "sdk/core/clock.h"

namespace fs = std::filesystem;
using flint::Status;
using flint::scheduler::Ledger;
using flint::scheduler::LedgerRecord;
using flint::scheduler::Store;
namespace meter = flint::scheduler::meter;

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time of the process (RUSAGE_SELF) or of the calling thread (RUSAGE_THREAD).
double CpuSeconds(int who = RUSAGE_SELF) {
  rusage ru;
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

[[noreturn]] void Die(const std::string& what, const Status& status) {
  std::fprintf(stderr, "flint-ledger-bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

// Records shaped like flintd's: time-ordered ids (invocation_id.h), or random version-4 UUIDs
// with --random-ids; a few functions, mostly warm and ok.
std::vector<meter::InvocationRecord> MakeRecords(size_t n, uint64_t seed, bool random_ids) {
  std::mt19937_64 rng(seed);
  int64_t start = flint::WallClockMs() - 1000;
  std::vector<meter::InvocationRecord> out(n);
  for (size_t i = 0; i < n; ++i) {
    meter::InvocationRecord& r = out[i];
    r.start_ms = start + static_cast<int64_t>(i / 50);  // 50,000 invocations a second
    uint64_t a = rng(), b = rng();
    if (random_ids) {  // version 4, as flintd made them before invocation_id.h
      r.request_id = meter::InvocationId(static_cast<int64_t>(rng() >> 16), a, b);
      r.request_id[14] = '4';
    } else {
      r.request_id = meter::InvocationId(r.start_ms, a, b);
    }
    r.function = "function-" + std::to_string(rng() % 20);
    r.version = 1 + static_cast<uint32_t>(rng() % 3);
    r.duration_us = 50 + rng() % 5000;
    r.e2e_us = r.duration_us + 40;
    r.cpu_us = r.duration_us / 2;
    r.memory_mb = 128u << (rng() % 4);
    r.peak_memory_bytes = 4'000'000 + rng() % 1'000'000;
    r.cold = rng() % 100 == 0;
    r.init_us = r.cold ? 2000 : 0;
    r.outcome = rng() % 50 == 0 ? meter::Outcome::kError : meter::Outcome::kOk;
  }
  return out;
}

// The rows the meter would store (billed under the default sheet, id 1).
std::vector<LedgerRecord> ToRows(const std::vector<meter::InvocationRecord>& records) {
  meter::PriceSheet sheet = meter::DefaultPriceSheet();
  std::vector<LedgerRecord> rows;
  rows.reserve(records.size());
  sheet.id = 1;
  for (const auto& r : records) rows.push_back(meter::ToLedgerRow(r, sheet));
  return rows;
}

// A fresh data directory with the store's migrations applied, and its ledger.
struct Fresh {
  std::string dir;
  std::unique_ptr<Store> store;
  std::shared_ptr<Ledger> ledger;
};

Fresh OpenFresh(const std::string& parent, const std::string& name) {
  Fresh f;
  f.dir = parent + "/" + name;
  fs::remove_all(f.dir);
  fs::create_directories(f.dir);
  auto store = Store::Open(f.dir);
  if (!store.ok()) Die("opening the store", store.status());
  f.store = std::move(store).value();
  auto ledger = Ledger::Open(f.store->path());
  if (!ledger.ok()) Die("opening the ledger", ledger.status());
  f.ledger = std::move(ledger).value();
  return f;
}

struct MeterRun {
  double seconds = 0;
  double cpu_seconds = 0;       // the whole process
  double loop_cpu_seconds = 0;  // the loop thread: encoding and appending
  double append_ns = 0;         // loop thread, per TryAppend that found room
  meter::MeterStats stats;
};

// Pushes every record through a Meter as fast as the loop can append them; done when the last
// one is committed to SQLite.
MeterRun RunMeter(Fresh& f, const std::vector<meter::InvocationRecord>& records) {
  uv_loop_t loop;
  FLINT_CHECK(uv_loop_init(&loop) == 0);
  uv_timer_t tick;  // the meter's async handle does not keep the loop alive
  uv_timer_init(&loop, &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 1, 1);
  meter::MeterOptions options;
  options.journal_path = f.dir + "/ledger.journal";
  MeterRun run;
  {
    auto started = meter::Meter::Start(&loop, f.ledger, options);
    if (!started.ok()) Die("starting the meter", started.status());
    meter::Meter& m = **started;
    double cpu0 = CpuSeconds(), loop_cpu0 = CpuSeconds(RUSAGE_THREAD);
    auto t0 = Clock::now();
    Clock::duration appending{};
    uint64_t fast = 0;
    for (const auto& r : records) {
      auto a = Clock::now();
      bool appended = m.TryAppend(r);
      if (appended) {
        appending += Clock::now() - a;
        fast++;
      } else {
        m.AppendThen(r, [] {});
      }
    }
    bool flushed = false;
    m.Flush([&] { flushed = true; });
    while (!flushed) uv_run(&loop, UV_RUN_ONCE);
    run.seconds = Seconds(Clock::now() - t0);
    run.cpu_seconds = CpuSeconds() - cpu0;
    run.loop_cpu_seconds = CpuSeconds(RUSAGE_THREAD) - loop_cpu0;
    run.append_ns = fast ? Seconds(appending) * 1e9 / static_cast<double>(fast) : 0;
    run.stats = m.stats();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  FLINT_CHECK(uv_loop_close(&loop) == 0);
  return run;
}

uint64_t Count(Ledger& ledger) {
  auto n = ledger.CountRecords();
  if (!n.ok()) Die("counting rows", n.status());
  return *n;
}

}  // namespace

int main(int argc, char** argv) {
  size_t records = 200'000;
  int reps = 3;
  bool random_ids = false;
  const char* tmp = std::getenv("TMPDIR");
  std::string parent = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      records = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--random-ids") {
      random_ids = true;
    } else if (a == "--dir" && i + 1 < argc) {
      parent = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--records N] [--reps R] [--random-ids] [--dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  if (records == 0 || reps <= 0) return 2;
  std::string root = parent + "/flint-ledger-bench-" + std::to_string(getpid());
  fs::create_directories(root);

  std::string json = "{\"records\": " + std::to_string(records) + ", \"runs\": [";
  for (int rep = 0; rep < reps; ++rep) {
    auto input = MakeRecords(records, 1000 + static_cast<uint64_t>(rep), random_ids);
    auto rows = ToRows(input);

    // Baseline: bare SQLite, one transaction.
    Fresh base = OpenFresh(root, "baseline");
    double base_cpu0 = CpuSeconds();
    auto t0 = Clock::now();
    auto inserted = base.ledger->InsertBaseline(rows);
    double base_s = Seconds(Clock::now() - t0);
    double base_cpu_us = (CpuSeconds() - base_cpu0) * 1e6 / static_cast<double>(records);
    if (!inserted.ok()) Die("baseline insert", inserted.status());
    FLINT_CHECK(*inserted == records && Count(*base.ledger) == records);

    // The real path: journal, writer thread, billing, batches.
    Fresh real = OpenFresh(root, "meter");
    MeterRun run = RunMeter(real, input);
    FLINT_CHECK(Count(*real.ledger) == records);

    double base_rate = static_cast<double>(records) / base_s;
    double rate = static_cast<double>(records) / run.seconds;
    double batch =
        run.stats.batches ? static_cast<double>(run.stats.committed) / run.stats.batches : 0;
    double cpu_us = run.cpu_seconds * 1e6 / static_cast<double>(records);
    double writer_cpu_us =
        (run.cpu_seconds - run.loop_cpu_seconds) * 1e6 / static_cast<double>(records);
    std::printf(
        "rep %d: bare SQLite %.0f records/s (%.1f us CPU each) | meter: journal, writer thread, "
        "SQLite %.0f records/s (%.2fx), %.1f us CPU each (writer thread %.1f), %llu batches of "
        "%.0f on average, append %.0f ns, %llu appends waited for journal room\n",
        rep, base_rate, base_cpu_us, rate, rate / base_rate, cpu_us, writer_cpu_us,
        static_cast<unsigned long long>(run.stats.batches), batch, run.append_ns,
        static_cast<unsigned long long>(run.stats.deferred));
    std::fflush(stdout);
    char item[512];
    std::snprintf(item, sizeof item,
                  "%s{\"baseline_per_s\": %.0f, \"baseline_cpu_us\": %.2f, \"meter_per_s\": %.0f, "
                  "\"meter_cpu_us\": %.2f, \"writer_cpu_us\": %.2f, \"batches\": %llu, "
                  "\"mean_batch\": %.1f, \"append_ns\": %.0f, \"deferred\": %llu}",
                  rep ? ", " : "", base_rate, base_cpu_us, rate, cpu_us, writer_cpu_us,
                  static_cast<unsigned long long>(run.stats.batches), batch, run.append_ns,
                  static_cast<unsigned long long>(run.stats.deferred));
    json += item;
    fs::remove_all(base.dir);
    fs::remove_all(real.dir);
  }
  json += "]}";
  std::printf("FLINT_LEDGER_BENCH %s\n", json.c_str());
  fs::remove_all(root);
  return 0;
}
