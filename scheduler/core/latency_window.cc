#include "scheduler/core/latency_window.h"

#include <algorithm>
#include <cmath>

#include "sdk/core/check.h"

namespace flint::scheduler {

LatencyWindow::LatencyWindow(size_t capacity) : capacity_(capacity) {
  FLINT_CHECK(capacity_ > 0);
  samples_.reserve(capacity_);
}

void LatencyWindow::Add(uint64_t micros) {
  total_++;
  if (samples_.size() < capacity_) {
    samples_.push_back(micros);
    return;
  }
  samples_[next_] = micros;
  next_ = (next_ + 1) % capacity_;
}

uint64_t LatencyWindow::Percentile(double p) const {
  if (samples_.empty()) return 0;
  std::vector<uint64_t> sorted = samples_;
  std::sort(sorted.begin(), sorted.end());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace flint::scheduler
