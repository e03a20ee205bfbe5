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
//  - bins are logarithmic (10 ms, then each 2% wider than the last, up to the range) rather
//    than 1 minute wide: sub-minute inter-arrival times, common for busy functions and for any
//    time-compressed replay, get a useful resolution, and a periodic function's window is a few
//    percent of its period wide, not 20%; the margin is 1% on top of the bins' width;
//  - the window is chosen by cost, not by fixed percentiles: among every window [P, E) whose
//    ends are edges of non-empty bins, the one that maximises
//        (calls it would find warm) - (worker time it would hold idle) / cold_start_cost_ms
//    over the histogram. A worker held idle for `cold_start_cost_ms` is worth one cold start
//    avoided (Pool: 1.2 times the fixed keep-alive). This is the optimum of "fewest idle
//    worker-seconds for a given number of cold starts" across functions (a Lagrangian: every
//    function trades at the same price); for a Poisson function it keeps the worker exactly
//    when the mean gap is below the cost, since each warm call of a Poisson function costs its
//    mean gap in idle time whatever the window, and the cheapest warm calls are bought first
//    (so on days of Poisson calls alone no policy saves much: see docs/autoscaling.md). A periodic
//    function gets a narrow window around its period (the paper's 5th/99th percentiles, without
//    their blind spots); a bursty one keeps its worker through the gaps inside a burst and lets it
//    go between bursts; a rare Poisson-like one (mean gap above the cost), whose next call no
//    window predicts cheaply, gets no window at all: its worker stops right after the call;
//  - gaps beyond the range count as misses of every window (the paper uses an ARIMA forecast
//    for them): a function called every few hours is not kept at all, rather than for a fixed
//    keep-alive that ends long before its next call;
//  - before the first gap the fixed keep-alive applies; with fewer than `min_samples` gaps the
//    cost rule applies without pre-warming (the paper waits for a representative histogram,
//    keeping a rare function's worker for the standard keep-alive meanwhile);
//  - counts are halved once they pass `max_samples`, so old behaviour fades out;
//  - the pre-warm starts `prewarm_lead_ms` earlier still, and Pool earlier again by a lead its
//    caller measures (PrewarmLead, below): the time a worker takes to be loaded, negligible
//    against minute-scale windows and decisive for short ones, grows tenfold on a busy node;
//  - a worker is unloaded only when its reload is cheap: flintd keeps it through its window
//    instead when no pre-warmed generic worker is ready and the pre-warm is due before one
//    could be spawned (Pool::TakeExpired), since the pre-warm would then be a process spawn,
//    later than the call and a further load on a node short of workers already; and when the
//    lead covers the whole pre-warm window (loading takes as long as the gap) it is kept from
//    the call on;
//  - the window is for one worker: Pool keeps the other idle workers of a function (started for
//    concurrent calls) no longer than the fixed keep-alive.
//
// Times are inter-arrival times (arrival to arrival), measured from the caller's `now_ms`; no
// clock of its own. Pure and single-threaded (loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "scheduler/core/latency_window.h"

namespace flint::scheduler {

struct AdaptiveKeepAliveOptions {
  uint64_t range_ms = 4 * 3600 * 1000;  // longest inter-arrival time the histogram holds
  // Below this many gaps: no pre-warming yet (the cost rule still chooses the keep-alive: a
  // function whose first gaps all exceed the cost is not kept).
  uint32_t min_samples = 3;
  // Idle worker time worth one cold start avoided (see the class comment); 0: 450 s. Pool
  // passes 1.2 times its fixed keep-alive, a value tuned with tools/bench/trace_replay.py on
  // every family of generated days: for calls with no pattern (Poisson), a price equal to the
  // fixed keep-alive gives about its cold starts; 1.2 times it keeps the adaptive policy's cold
  // starts below the fixed keep-alive's on every family (a lower cost trades more cold starts
  // for less idle time, a higher one the reverse).
  uint64_t cold_start_cost_ms = 0;
  // Each bin this much wider than the one before (after the first 10 ms ones). Narrow bins
  // keep a periodic function's window narrow; a window covers whole bins, so they also serve as
  // part of the margin.
  double bin_growth = 0.02;
  double margin = 0.01;  // pre-warm earlier and keep longer by this fraction
  // Least gain, in cold starts per call, for a window to be used at all, and for unloading
  // between calls to be preferred over keeping the worker from the call on.
  double min_gain = 0.05;
  uint32_t max_samples = 1000;  // counts are halved beyond this many
  // A window that holds every gap seen so far ends no sooner than this after the idle time's
  // start (Pool: the fixed keep-alive), since nothing is known of longer gaps.
  uint64_t unknown_tail_ms = 0;
  // Pre-warm this much earlier again: a pre-warm is a LOAD into a pre-warmed generic worker
  // (1-3 ms on a quiet node; flintd adds the lead it measures, see PrewarmLead); flintd's timer
  // fires on time (1 ms).
  uint64_t prewarm_lead_ms = 5;
};

// When to hold a worker, relative to the last arrival A: an idle worker is wanted during
// [A + prewarm_ms, A + prewarm_ms + keep_alive_ms). prewarm_ms 0: from A on (no unloading);
// both 0: not at all (the worker stops as soon as it is idle).
struct KeepAliveWindows {
  bool learned = false;  // false: no gap seen yet, use the fixed keep-alive; the rest are 0
  uint64_t prewarm_ms = 0;
  uint64_t keep_alive_ms = 0;
};

class AdaptiveKeepAlive {
 public:
  explicit AdaptiveKeepAlive(AdaptiveKeepAliveOptions options = {});

  // An invocation arrived at `now_ms` (monotonic, never decreasing): records the gap since the
  // previous arrival.
  void RecordArrival(uint64_t now_ms);
  // Records one gap directly (Pool: the idle time of one of a function's worker slots, from
  // the moment the slot was no longer needed to the moment it was needed again).
  void RecordGap(uint64_t gap_ms);
  // The windows learned so far (recomputed by RecordGap: after every gap while few samples are
  // known, then once per 1/16th of the samples, so a busy function pays little).
  const KeepAliveWindows& windows() const { return windows_; }
  std::optional<uint64_t> last_arrival_ms() const { return last_arrival_ms_; }
  uint64_t samples() const { return total_; }

  // The idle worker time worth one cold start avoided (the option, 0 resolved).
  uint64_t cold_start_cost_ms() const {
    return options_.cold_start_cost_ms != 0 ? options_.cold_start_cost_ms : 450'000;
  }

  // Exposed for tests: the bin an inter-arrival time falls in, and a bin's [lower, upper) ms.
  size_t BinOf(uint64_t gap_ms) const;
  uint64_t BinLower(size_t bin) const { return (*edges_)[bin]; }
  uint64_t BinUpper(size_t bin) const { return (*edges_)[bin + 1]; }
  size_t bin_count() const { return counts_.size(); }

 private:
  void Recompute();

  AdaptiveKeepAliveOptions options_;
  // Bin i is [edges[i], edges[i+1]); edges.back() == range. Shared by copies (a pool's
  // worker slots each copy one learner).
  std::shared_ptr<const std::vector<uint64_t>> edges_;
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;            // samples in counts_
  uint64_t out_of_range_ = 0;     // samples beyond the range (halved with counts_)
  uint64_t since_recompute_ = 0;  // arrivals since windows_ was last computed
  std::optional<uint64_t> last_arrival_ms_;
  KeepAliveWindows windows_;
};

// PrewarmLead: how much earlier than its window a pre-warm should start, learned from how long
// recent pre-warms took to be ready (from the pre-warm's start to the worker having loaded the
// function). A LOAD into a pre-warmed generic worker takes 1-3 ms on a quiet node, tens of ms
// on a busy one, and a pre-warm that must spawn a process hundreds: a fixed lead is either too
// short when the node is busy (the call comes first and is cold) or idle time wasted when it
// is quiet.
//
// The lead L trades the two at the pool's price of a cold start: starting L earlier holds the
// pre-warmed worker about L longer, and a pre-warm slower than L risks its call, so L
// minimises  L + cold_start_cost_ms * P(pre-warm time > L)  over the recent samples (taken at
// percentiles 50..100; 0 before any sample). At a real day's prices (a cold start is worth
// minutes of idle time) that is the slowest recent pre-warm; in a time-compressed replay, where
// a cold start is worth seconds, a high percentile short of the rare spawns. The lead comes on
// top of AdaptiveKeepAliveOptions::prewarm_lead_ms and the window's margin. Loop thread only.
class PrewarmLead {
 public:
  explicit PrewarmLead(size_t samples = 512) : latencies_us_(samples) {}

  // One pre-warm's time from its start to the worker having loaded the function.
  void Add(uint64_t micros);
  // The lead (ms) for a pool that prices a cold start at `cold_start_cost_ms`.
  uint64_t LeadMs(uint64_t cold_start_cost_ms) const;

 private:
  LatencyWindow latencies_us_;
  // Percentile -> latency (ms), recomputed when samples were added since (lazily, mutable:
  // LeadMs is asked once per pool per housekeeping pass).
  mutable std::vector<std::pair<double, uint64_t>> quantiles_ms_;
  mutable bool stale_ = false;
};

}  // namespace flint::scheduler
