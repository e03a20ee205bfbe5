#include "scheduler/core/keep_alive.h"

#include <algorithm>
#include <cmath>

#include "sdk/core/check.h"

namespace flint::scheduler {
namespace {

constexpr uint64_t kFinestBinMs = 10;
constexpr double kBinGrowth = 1.10;

}  // namespace

AdaptiveKeepAlive::AdaptiveKeepAlive(AdaptiveKeepAliveOptions options) : options_(options) {
  FLINT_CHECK(options_.range_ms > kFinestBinMs);
  edges_.push_back(0);
  uint64_t edge = kFinestBinMs;
  while (edge < options_.range_ms) {
    edges_.push_back(edge);
    edge = std::max(edge + kFinestBinMs, static_cast<uint64_t>(std::ceil(edge * kBinGrowth)));
  }
  edges_.push_back(options_.range_ms);
  counts_.assign(edges_.size() - 1, 0);
}

size_t AdaptiveKeepAlive::BinOf(uint64_t gap_ms) const {
  FLINT_CHECK(gap_ms < options_.range_ms);
  // The last edge <= gap_ms.
  auto it = std::upper_bound(edges_.begin(), edges_.end(), gap_ms);
  return static_cast<size_t>(it - edges_.begin()) - 1;
}

void AdaptiveKeepAlive::RecordArrival(uint64_t now_ms) {
  if (last_arrival_ms_) {
    uint64_t gap = now_ms >= *last_arrival_ms_ ? now_ms - *last_arrival_ms_ : 0;
    if (gap >= options_.range_ms) {
      out_of_range_++;
    } else {
      counts_[BinOf(gap)]++;
      total_++;
    }
    if (total_ + out_of_range_ > options_.max_samples) {
      total_ = 0;
      for (auto& c : counts_) {
        c /= 2;
        total_ += c;
      }
      out_of_range_ /= 2;
    }
    Recompute();
  }
  last_arrival_ms_ = now_ms;
}

void AdaptiveKeepAlive::Recompute() {
  windows_ = {};
  uint64_t all = total_ + out_of_range_;
  if (total_ < options_.min_samples) return;
  if (static_cast<double>(out_of_range_) > options_.max_out_of_range * static_cast<double>(all)) {
    return;
  }
  // Percentiles over the in-range samples: the head bin's lower edge (pre-warm no later than
  // the earliest likely call) and the tail bin's upper edge (keep until the latest likely one).
  auto bin_at = [&](double percentile) {
    auto rank = static_cast<uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(total_)));
    rank = std::max<uint64_t>(rank, 1);
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return i;
    }
    return counts_.size() - 1;
  };
  uint64_t head = BinLower(bin_at(options_.head_percentile));
  uint64_t tail = BinUpper(bin_at(options_.tail_percentile));

  double mean = static_cast<double>(total_) / static_cast<double>(counts_.size());
  double var = 0;
  for (uint64_t c : counts_)
    var += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
  double cv = std::sqrt(var / static_cast<double>(counts_.size())) / mean;

  auto end = static_cast<uint64_t>(std::ceil(static_cast<double>(tail) * (1.0 + options_.margin)));
  uint64_t prewarm = 0;
  if (cv >= options_.cv_threshold) {
    prewarm = static_cast<uint64_t>(static_cast<double>(head) * (1.0 - options_.margin));
    prewarm = prewarm > options_.prewarm_lead_ms ? prewarm - options_.prewarm_lead_ms : 0;
  }
  windows_.learned = true;
  windows_.prewarm_ms = prewarm;
  windows_.keep_alive_ms = end > prewarm ? end - prewarm : 0;
}

}  // namespace flint::scheduler
