#include "scheduler/core/hybrid_histogram.h"

#include <algorithm>
#include <cmath>

#include "sdk/core/check.h"

namespace flint::scheduler {

HybridHistogramOptions HybridHistogramOptions::Scaled(double factor) {
  HybridHistogramOptions o;
  o.range_ms = std::max<uint64_t>(
      2, static_cast<uint64_t>(std::llround(static_cast<double>(o.range_ms) * factor)));
  o.bin_ms = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::llround(static_cast<double>(o.bin_ms) * factor)));
  return o;
}

HybridHistogram::HybridHistogram(HybridHistogramOptions options) : options_(options) {
  FLINT_CHECK(options_.bin_ms > 0 && options_.range_ms >= options_.bin_ms);
  counts_.assign((options_.range_ms + options_.bin_ms - 1) / options_.bin_ms, 0);
}

void HybridHistogram::RecordIdle(uint64_t idle_ms) {
  if (idle_ms >= options_.range_ms) {
    out_of_range_++;
  } else {
    counts_[idle_ms / options_.bin_ms]++;
    in_range_++;
  }
  recent_.push_back(idle_ms);
  if (recent_.size() > options_.forecast_samples) recent_.pop_front();
  stale_ = true;
}

KeepAliveWindows HybridHistogram::windows() const {
  if (!stale_) return windows_;
  stale_ = false;
  KeepAliveWindows w;
  w.learned = true;
  uint64_t all = in_range_ + out_of_range_;
  if (all > 0 &&
      static_cast<double>(out_of_range_) >= options_.oob_threshold * static_cast<double>(all)) {
    double sum = 0;
    for (uint64_t x : recent_) sum += static_cast<double>(x);
    double forecast = sum / static_cast<double>(recent_.size());
    w.prewarm_ms = static_cast<uint64_t>(forecast * (1.0 - options_.forecast_margin));
    w.keep_alive_ms = static_cast<uint64_t>(forecast * 2.0 * options_.forecast_margin);
    return windows_ = w;
  }
  // Coefficient of variation of the bin counts (sample standard deviation over the bins).
  double n = static_cast<double>(counts_.size());
  double mean = static_cast<double>(in_range_) / n;
  double squares = 0;
  for (uint64_t c : counts_)
    squares += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
  double cv = in_range_ > 0 && n > 1 ? std::sqrt(squares / (n - 1)) / mean : 0.0;
  if (cv < options_.cv_threshold) {
    w.prewarm_ms = 0;
    w.keep_alive_ms = options_.range_ms;
    return windows_ = w;
  }
  auto percentile_bin = [&](double p) {
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (static_cast<double>(seen) >= p * static_cast<double>(in_range_)) return i;
    }
    return counts_.size() - 1;
  };
  size_t head = percentile_bin(options_.head), tail = percentile_bin(options_.tail);
  double bin = static_cast<double>(options_.bin_ms);
  auto prewarm =
      static_cast<uint64_t>(static_cast<double>(head) * bin * (1.0 - options_.histogram_margin));
  auto end = static_cast<uint64_t>(static_cast<double>(tail + 1) * bin *
                                   (1.0 + options_.histogram_margin));
  w.prewarm_ms = prewarm;
  w.keep_alive_ms = end > prewarm ? end - prewarm : 0;
  return windows_ = w;
}

}  // namespace flint::scheduler
