// GenericPoolTarget: how many pre-warmed generic workers of one runtime flintd keeps (ready or
// spawning), from the recent rate at which cold starts and pre-warms take them and the time a
// refill takes.
//
// A take empties one slot of the pool; refilling it is a process spawn that takes `R` (the p90
// of recent spawn-to-ready times, plus the caller's refill delay). A burst of takes that comes
// faster than refills finds the pool empty once it has taken what was ready, and every take
// after that waits for a spawn. So the pool holds the largest number of takes seen in any
// interval R long over the recent window (`window_ms`), plus one: a burst as large as the
// largest recent one finds a ready worker for every call, and a steady rate of takes is
// covered by the workers refilling meanwhile. As the window slides past a burst the target
// falls back to the floor by itself (the caller stops the surplus one at a time).
//
// Bounds: never below `floor` (flintd's --prewarm; 0 turns the pool off), never above
// `ceiling` (the memory the caller allows generic workers of this runtime, in workers).
//
// Pure: no clock of its own (callers pass now_ms), no I/O. Loop thread only. Memory is bounded:
// at most `max_takes` take times and `refill_samples` refill times are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "scheduler/core/latency_window.h"

namespace flint::scheduler {

struct GenericPoolTargetOptions {
  uint32_t floor = 1;
  uint32_t ceiling = 32;
  uint64_t window_ms = 30'000;
  // A refill's time before any has been measured, and added to every measured one (the
  // caller's delay between a take and the spawn that replaces it).
  uint64_t default_refill_ms = 100;
  uint64_t refill_delay_ms = 0;
  size_t refill_samples = 64;
  size_t max_takes = 4096;
};

class GenericPoolTarget {
 public:
  explicit GenericPoolTarget(GenericPoolTargetOptions options = {});

  // A worker was taken from the pool at `now_ms` (monotonic, never decreasing).
  void Took(uint64_t now_ms);
  // A refill completed: the spawned worker was ready `micros` after its spawn started.
  void Refilled(uint64_t micros);
  // Workers to keep ready or spawning at `now_ms`.
  uint32_t Target(uint64_t now_ms) const;
  // The refill time R in force (ms).
  uint64_t refill_ms() const;
  // The most takes in any interval R long within the window (the burst the target covers).
  uint32_t LargestBurst(uint64_t now_ms) const;
  const GenericPoolTargetOptions& options() const { return options_; }

 private:
  void Forget(uint64_t now_ms);

  GenericPoolTargetOptions options_;
  std::deque<uint64_t> takes_;  // take times within the window, oldest first
  LatencyWindow refills_us_;
};

}  // namespace flint::scheduler
