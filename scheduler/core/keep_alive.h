// AdaptiveKeepAlive: learns one function's inter-arrival times and says how long to keep an idle
// worker and when to pre-warm one, after the hybrid histogram policy of "Serverless in the Wild"
// (Shahrad et al., USENIX ATC 2020, section 4.2).
//
// The paper keeps, per application, a histogram of idle times at 1-minute granularity over
// 4 hours. The pre-warm window is its 5th percentile (minus a 10% margin) and the keep-alive
// window its 99th percentile (plus 10%) minus the pre-warm window: after an invocation the
// worker is unloaded, loaded again (pre-warmed) when the pre-warm window has passed, and kept
// until the keep-alive window ends. When the histogram is not representative (its coefficient
// of variation is low) the paper falls back to a conservative standard keep-alive.
//
// Differences, and why:
//  - bins are logarithmic (10 ms, then each 10% wider than the last, up to the range) rather
//    than 1 minute wide: sub-minute inter-arrival times, common for busy functions and for any
//    time-compressed replay, get a useful resolution, and the 10% bin width equals the margin;
//  - too few samples, or too many beyond the range, mean "not learned": the function's fixed
//    keep-alive applies (the paper uses an ARIMA forecast for the out-of-range case);
//  - a low coefficient of variation (arrivals spread over many bins, e.g. Poisson) does not
//    discard the histogram: it only disables pre-warming (unloading between calls of an
//    unpredictable function causes cold starts), keeping a worker up to the 99th percentile;
//  - counts are halved once they pass `max_samples`, so old behaviour fades out;
//  - the pre-warm starts `prewarm_lead_ms` earlier still, for the time a worker takes to be
//    noticed and loaded (negligible against minute-scale windows, decisive for short ones);
//  - Pool caps the keep-alive of a function it cannot predict (no pre-warm) at the fixed
//    keep-alive, so such a function never holds a worker longer than the fixed policy would.
//
// Times are inter-arrival times (arrival to arrival), measured from the caller's `now_ms`; no
// clock of its own. Pure and single-threaded (loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace flint::scheduler {

struct AdaptiveKeepAliveOptions {
  uint64_t range_ms = 4 * 3600 * 1000;  // longest inter-arrival time the histogram holds
  uint32_t min_samples = 5;             // below: not learned
  double cv_threshold = 2.0;            // below: no pre-warming (the paper's threshold)
  double head_percentile = 5.0;         // pre-warm window
  double tail_percentile = 99.0;        // end of the keep-alive window
  double margin = 0.10;                 // pre-warm earlier and keep longer by this fraction
  double max_out_of_range = 0.5;        // fraction of samples beyond range_ms: not learned
  uint32_t max_samples = 1000;          // counts are halved beyond this many
  // Pre-warm this much earlier again: a pre-warm is noticed by a periodic check (100 ms in
  // flintd) and then takes a LOAD (about 1 ms, more when a process must be spawned).
  uint64_t prewarm_lead_ms = 150;
};

// When to hold a worker, relative to the last arrival A: an idle worker is wanted during
// [A + prewarm_ms, A + prewarm_ms + keep_alive_ms). prewarm_ms 0: from A on (no unloading).
struct KeepAliveWindows {
  bool learned = false;  // false: use the fixed keep-alive; the windows below are 0
  uint64_t prewarm_ms = 0;
  uint64_t keep_alive_ms = 0;
};

class AdaptiveKeepAlive {
 public:
  explicit AdaptiveKeepAlive(AdaptiveKeepAliveOptions options = {});

  // An invocation arrived at `now_ms` (monotonic, never decreasing).
  void RecordArrival(uint64_t now_ms);
  // The windows learned so far (recomputed by RecordArrival).
  const KeepAliveWindows& windows() const { return windows_; }
  std::optional<uint64_t> last_arrival_ms() const { return last_arrival_ms_; }
  uint64_t samples() const { return total_; }

  // Exposed for tests: the bin an inter-arrival time falls in, and a bin's [lower, upper) ms.
  size_t BinOf(uint64_t gap_ms) const;
  uint64_t BinLower(size_t bin) const { return edges_[bin]; }
  uint64_t BinUpper(size_t bin) const { return edges_[bin + 1]; }
  size_t bin_count() const { return counts_.size(); }

 private:
  void Recompute();

  AdaptiveKeepAliveOptions options_;
  std::vector<uint64_t> edges_;  // bin i is [edges_[i], edges_[i+1]); edges_.back() == range
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;         // samples in counts_
  uint64_t out_of_range_ = 0;  // samples beyond the range (halved with counts_)
  std::optional<uint64_t> last_arrival_ms_;
  KeepAliveWindows windows_;
};

}  // namespace flint::scheduler
