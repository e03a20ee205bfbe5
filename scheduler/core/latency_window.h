// LatencyWindow: the most recent latency samples of one kind (e.g. a pool's cold starts) and
// their percentiles, in a fixed-size ring so memory stays bounded however long flintd runs.
//
// Invariant: holds at most `capacity` samples, the newest ones. Pure; loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace flint::scheduler {

class LatencyWindow {
 public:
  explicit LatencyWindow(size_t capacity = 1024);

  void Add(uint64_t micros);
  // The nearest-rank percentile (0 < p <= 100) of the samples held, 0 when there are none.
  uint64_t Percentile(double p) const;
  size_t size() const { return samples_.size(); }
  uint64_t total() const { return total_; }  // samples ever added

 private:
  size_t capacity_;
  size_t next_ = 0;  // where the next sample goes once the ring is full
  uint64_t total_ = 0;
  std::vector<uint64_t> samples_;
};

}  // namespace flint::scheduler
