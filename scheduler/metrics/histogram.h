// Histogram: a Prometheus histogram of durations with fixed buckets, counted in microseconds
// and written in seconds (Prometheus's base unit).
//
// Observe() is a binary search over the bounds and two additions: cheap enough for every
// invocation on the loop thread. WriteTo() turns the per-bucket counts into Prometheus's
// cumulative buckets: NAME_bucket{le="B"} counts the observations <= B, the last bucket is
// le="+Inf" and equals NAME_count; NAME_sum is the sum of the observations in seconds.
//
// Invariant: counts_ has one slot per bound plus one for the observations above every bound;
// count_ is their sum. Pure; one thread (flintd's loop).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "scheduler/metrics/exposition.h"

namespace flint::scheduler::metrics {

// Invocation durations and cold starts: fine below a millisecond (warm invocations of small
// functions take tens of microseconds) up to Flint's longest timeout's order (10 s and above
// land in +Inf). 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s.
inline constexpr std::array<uint64_t, 16> kDurationBucketsUs = {
    100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

class Histogram {
 public:
  // `bounds_us`: ascending, and must outlive the histogram (a constant such as the above).
  explicit Histogram(std::span<const uint64_t> bounds_us = kDurationBucketsUs);

  void Observe(uint64_t value_us);
  // Writes the family's samples (the caller writes its Family line) with `labels` plus le.
  void WriteTo(Exposition& out, std::string_view name, const Labels& labels) const;

  uint64_t count() const { return count_; }
  uint64_t sum_us() const { return sum_us_; }
  // The observations <= bounds_us[i] (cumulative); i == bounds size: all of them.
  uint64_t CumulativeCount(size_t i) const;

 private:
  std::span<const uint64_t> bounds_us_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_us_ = 0;
};

}  // namespace flint::scheduler::metrics
