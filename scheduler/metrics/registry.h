// Registry: the invocation metrics flintd keeps per function version, counted as invocations
// are answered and written out only when /metrics is scraped.
//
// FunctionMetrics holds one function version's series: invocations per outcome, the duration
// histogram of those that ran, cold starts (invocations that waited for their worker's LOAD)
// and the latency of the cold starts (a worker started for a request until it was LOADED),
// and the GB-seconds billed. Counting is a few additions on the loop thread; the Dispatcher
// keeps a pointer to its pool's series so the warm path does no lookup.
//
// Cardinality stays bounded: series exist only for functions in the store (names are
// validated and deleting a function drops its series, Forget) and, per function, for the
// kVersionsKept newest versions that were invoked since flintd started; an older version's
// series are dropped when a newer one appears beyond that. Label values are function names
// and version numbers only, never request data.
//
// Loop thread only. A FunctionMetrics stays valid while anyone holds it, also once dropped
// from the registry (what it counts then is not written).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/metrics/exposition.h"
#include "scheduler/metrics/histogram.h"

namespace flint::scheduler::metrics {

inline constexpr size_t kVersionsKept = 4;
// 1 GB-second in MB-milliseconds (meter/billing.h's unit).
inline constexpr double kMbMsPerGbSecond = 1024.0 * 1000.0;

class FunctionMetrics {
 public:
  explicit FunctionMetrics(size_t outcomes) : invocations_(outcomes, 0) {}

  // One answered invocation: `outcome` indexes the registry's outcome names; `ran`: it reached
  // a worker (its duration is observed); `cold`: it waited for its worker's LOAD.
  void Record(size_t outcome, bool ran, bool cold, uint64_t duration_us, uint64_t billed_mb_ms) {
    if (outcome < invocations_.size()) invocations_[outcome]++;
    if (ran) duration_.Observe(duration_us);
    if (cold) cold_starts_++;
    billed_mb_ms_ += billed_mb_ms;
  }
  // A worker started for a waiting request took `latency_us` to be LOADED.
  void RecordColdStartLatency(uint64_t latency_us) { cold_start_latency_.Observe(latency_us); }

  uint64_t invocations(size_t outcome) const { return invocations_.at(outcome); }
  uint64_t cold_starts() const { return cold_starts_; }
  uint64_t billed_mb_ms() const { return billed_mb_ms_; }
  const Histogram& duration() const { return duration_; }
  const Histogram& cold_start_latency() const { return cold_start_latency_; }

 private:
  std::vector<uint64_t> invocations_;
  Histogram duration_;
  Histogram cold_start_latency_;
  uint64_t cold_starts_ = 0;
  uint64_t billed_mb_ms_ = 0;
};

class Registry {
 public:
  // `outcome_names`: the outcome label of each index FunctionMetrics::Record takes, e.g. "ok",
  // "error", "timeout", "crash", "oom", "throttled"; `throttled` is the index counted again as
  // flint_throttles_total.
  Registry(std::vector<std::string> outcome_names, size_t throttled);

  // The series of `function` at `version`, created if needed.
  std::shared_ptr<FunctionMetrics> For(const std::string& function, uint32_t version);
  // The function was deleted: its series go.
  void Forget(const std::string& function);
  size_t series_count() const;

  // Writes every family (flint_invocations_total, flint_throttles_total,
  // flint_invocation_duration_seconds, flint_cold_starts_total,
  // flint_cold_start_duration_seconds, flint_billed_gigabyte_seconds_total), functions by name and
  // versions ascending.
  void WriteTo(Exposition& out) const;

 private:
  std::vector<std::string> outcomes_;
  size_t throttled_;
  std::map<std::string, std::map<uint32_t, std::shared_ptr<FunctionMetrics>>> functions_;
};

}  // namespace flint::scheduler::metrics
