// How an answered invocation becomes its InvocationRecord (journal.h): the one place that
// builds records, for invocations that ran and for those that never did (throttled, shut out).
//
// BuildRecord turns what flintd saw of the invocation (InvocationFacts) and what the worker
// measured (Measured, from its RESULT) into the record. WorkerUsage then adds what the kernel
// measured of the worker, from its cgroup: its peak memory so far and the CPU time of every
// process in it. Reading a cgroup (open, read, close of several files) cost the loop ~60 us per
// request (tools/bench/metering.py), so WorkerUsage reads a worker's cgroup at most once per
// kCgroupReadIntervalNs, and whenever the worker measured nothing (crash, timeout). In between
// a record carries the handler's thread CPU as the worker measured it; the record that reads
// the cgroup also carries the CPU the cgroup used beyond what the records since the previous
// read carried (GC and other threads), so the ledger's CPU total per worker equals the
// cgroup's.
//
// Pure logic, no I/O: the caller reads the cgroup. Loop thread only (WorkerUsage has state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "scheduler/meter/journal.h"

namespace flint::scheduler::meter {

// What flintd saw of one invocation by the time it answers it.
struct InvocationFacts {
  std::string request_id;
  std::string function;
  uint32_t version = 0;
  uint32_t memory_mb = 0;
  Trigger trigger = Trigger::kHttp;
  int64_t received_ms = 0;     // wall clock, when flintd received it
  uint64_t received_ns = 0;    // monotonic (uv_hrtime), the same moment
  uint64_t dispatched_ns = 0;  // monotonic, when it was sent to a worker; 0: it never was
  bool cold = false;
  uint64_t init_us = 0;  // cold: the LOAD's initialisation time
};

// What the worker measured of an invocation it answered (its RESULT).
struct Measured {
  uint64_t duration_us = 0;  // around the handler
  uint64_t cpu_us = 0;       // the handler thread's CPU time
};

// The outcome of an invocation answered without a RESULT: ok unless `error`; an error is a
// crash if it reached a worker, else it never ran (throttled).
Outcome OutcomeWithoutResult(bool error, bool dispatched);

// The record of an invocation answered at `now_ns` with `outcome`. Without `measured` the
// duration is the time since dispatch as flintd saw it (0 if it was never dispatched).
InvocationRecord BuildRecord(InvocationFacts facts, Outcome outcome, uint64_t now_ns,
                             std::optional<Measured> measured);

// The figures of a worker's cgroup, as WorkerUsage needs them.
struct CgroupReading {
  uint64_t cpu_us = 0;
  uint64_t peak_memory_bytes = 0;
};

inline constexpr uint64_t kCgroupReadIntervalNs = 1000 * 1'000'000ull;

class WorkerUsage {
 public:
  // Completes `record` of an invocation that ran on `worker` and was answered at `now_ns` with
  // the cgroup's figures. `measured`: the worker measured the invocation (record.cpu_us holds
  // its CPU). `read` is called when the cgroup must be read now; it returns the figures, or
  // nullopt when they cannot be read.
  template <typename ReadFn>
  void Complete(uint64_t worker, uint64_t now_ns, bool measured, InvocationRecord& record,
                ReadFn&& read) {
    Sample& sample = samples_[worker];
    sample.metered_cpu_us += record.cpu_us;
    if (!measured || sample.read_ns == 0 || now_ns - sample.read_ns >= kCgroupReadIntervalNs) {
      if (std::optional<CgroupReading> reading = read()) Apply(sample, now_ns, *reading, record);
    }
    if (sample.peak_memory_bytes > 0) record.peak_memory_bytes = sample.peak_memory_bytes;
  }
  // The worker is gone.
  void Forget(uint64_t worker) { samples_.erase(worker); }

 private:
  // Per worker, what was last read from its cgroup and the handler CPU metered since.
  struct Sample {
    uint64_t read_ns = 0;
    uint64_t cpu_us = 0;          // the cgroup's CPU time at the read
    uint64_t metered_cpu_us = 0;  // handler CPU in the records since the read
    uint64_t peak_memory_bytes = 0;
  };
  static void Apply(Sample& sample, uint64_t now_ns, const CgroupReading& reading,
                    InvocationRecord& record);

  std::unordered_map<uint64_t, Sample> samples_;
};

}  // namespace flint::scheduler::meter
