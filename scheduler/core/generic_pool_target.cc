#include "scheduler/core/generic_pool_target.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

GenericPoolTarget::GenericPoolTarget(GenericPoolTargetOptions options)
    : options_(options), refills_us_(std::max<size_t>(1, options.refill_samples)) {
  FLINT_CHECK(options_.max_takes > 0);
}

void GenericPoolTarget::Took(uint64_t now_ms) {
  Forget(now_ms);
  takes_.push_back(now_ms);
  if (takes_.size() > options_.max_takes) takes_.pop_front();
}

void GenericPoolTarget::Refilled(uint64_t micros) { refills_us_.Add(micros); }

uint64_t GenericPoolTarget::refill_ms() const {
  uint64_t spawn = refills_us_.size() == 0 ? options_.default_refill_ms
                                           : (refills_us_.Percentile(90) + 999) / 1000;
  return spawn + options_.refill_delay_ms;
}

void GenericPoolTarget::Forget(uint64_t now_ms) {
  while (!takes_.empty() && takes_.front() + options_.window_ms <= now_ms) takes_.pop_front();
}

uint32_t GenericPoolTarget::LargestBurst(uint64_t now_ms) const {
  // The most take times within any interval [t, t + R): a sweep over the sorted times, from
  // the first still inside the window.
  uint64_t r = std::max<uint64_t>(1, refill_ms());
  size_t start = 0;
  while (start < takes_.size() && takes_[start] + options_.window_ms <= now_ms) ++start;
  size_t best = 0, first = start;
  for (size_t last = start; last < takes_.size(); ++last) {
    while (takes_[first] + r <= takes_[last]) ++first;
    best = std::max(best, last - first + 1);
  }
  return static_cast<uint32_t>(best);
}

uint32_t GenericPoolTarget::Target(uint64_t now_ms) const {
  if (options_.floor == 0 || options_.ceiling == 0) return 0;
  uint32_t burst = LargestBurst(now_ms);
  uint32_t want = burst == 0 ? 0 : burst + 1;
  return std::clamp(std::max(want, options_.floor), options_.floor,
                    std::max(options_.floor, options_.ceiling));
}

}  // namespace flint::scheduler
