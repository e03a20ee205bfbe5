// HybridHistogram: the hybrid histogram keep-alive policy of "Serverless in the Wild"
// (Shahrad et al., USENIX ATC 2020, section 4.2) as the paper describes it, the baseline the
// adaptive policy (AdaptiveKeepAlive) is compared with in tools/bench/trace_replay.py's
// simulator (Pool's KeepAliveMode::kHybridHistogram). flintd does not offer it.
//
// Per function, a histogram of idle times (from the end of one invocation to the start of the
// next) in 1-minute bins over 4 hours, and:
//  - when at least half of the idle times lie beyond the range (out of bounds), the next idle
//    time is forecast and the worker is unloaded, pre-warmed at 85% of the forecast and kept
//    for 30% of it (a 15% margin each side). The paper fits an ARIMA model to the idle times;
//    here the forecast is the mean of the last 8 of them (a function whose gaps exceed 4 hours
//    has a handful a day, to which an ARIMA fit is close to their mean);
//  - else, when the histogram is representative (the coefficient of variation of its bin counts
//    is at least 2), the pre-warm window is the lower edge of the 5th percentile's bin less 10%
//    and the worker is kept until the upper edge of the 99th percentile's bin plus 10%;
//  - else (no idle time yet, or too spread): the paper's conservative fallback, a keep-alive as
//    long as the histogram's range (4 hours) with no pre-warming.
// Windows are relative to the end of the function's last invocation (Pool applies them to
// every idle worker of the function). Pure and single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "scheduler/core/keep_alive.h"

namespace flint::scheduler {

struct HybridHistogramOptions {
  uint64_t range_ms = 4 * 3600 * 1000;
  uint64_t bin_ms = 60'000;
  double cv_threshold = 2.0;   // representative histogram: CV of the bin counts at least this
  double oob_threshold = 0.5;  // forecast when this fraction of idle times is out of bounds
  double head = 0.05;          // pre-warm: this percentile's bin
  double tail = 0.99;          // keep until: this percentile's bin
  double histogram_margin = 0.10;
  double forecast_margin = 0.15;
  size_t forecast_samples = 8;

  // The paper's values scaled by `factor` (range and bin width): a time-compressed replay
  // divides every duration by its compression.
  static HybridHistogramOptions Scaled(double factor);
};

class HybridHistogram {
 public:
  explicit HybridHistogram(HybridHistogramOptions options = {});

  // One idle time (end of an invocation to the start of the next; 0 when they overlapped).
  void RecordIdle(uint64_t idle_ms);
  // {learned = true, pre-warm, keep-alive}, relative to the end of the last invocation.
  KeepAliveWindows windows() const;
  uint64_t samples() const { return in_range_ + out_of_range_; }

 private:
  HybridHistogramOptions options_;
  std::vector<uint64_t> counts_;
  uint64_t in_range_ = 0;
  uint64_t out_of_range_ = 0;
  std::deque<uint64_t> recent_;  // the last forecast_samples idle times
  mutable bool stale_ = true;
  mutable KeepAliveWindows windows_;
};

}  // namespace flint::scheduler
