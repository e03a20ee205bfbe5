#include "scheduler/metrics/histogram.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler::metrics {

Histogram::Histogram(std::span<const uint64_t> bounds_us)
    : bounds_us_(bounds_us), counts_(bounds_us.size() + 1, 0) {
  FLINT_CHECK(std::is_sorted(bounds_us.begin(), bounds_us.end()));
}

void Histogram::Observe(uint64_t value_us) {
  // The first bound >= value: Prometheus's buckets are inclusive (le).
  size_t i = static_cast<size_t>(std::lower_bound(bounds_us_.begin(), bounds_us_.end(), value_us) -
                                 bounds_us_.begin());
  counts_[i]++;
  count_++;
  sum_us_ += value_us;
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t j = 0; j <= i && j < counts_.size(); ++j) total += counts_[j];
  return total;
}

void Histogram::WriteTo(Exposition& out, std::string_view name, const Labels& labels) const {
  std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_us_.size(); ++i) {
    cumulative += counts_[i];
    std::string le = FormatValue(static_cast<double>(bounds_us_[i]) / 1e6);
    with_le.back().second = le;
    out.Sample(bucket, with_le, cumulative);
  }
  with_le.back().second = "+Inf";
  out.Sample(bucket, with_le, count_);
  out.Sample(std::string(name) + "_sum", labels, static_cast<double>(sum_us_) / 1e6);
  out.Sample(std::string(name) + "_count", labels, count_);
}

}  // namespace flint::scheduler::metrics
