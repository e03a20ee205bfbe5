#include "scheduler/core/keep_alive.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sdk/core/check.h"

namespace flint::scheduler {
namespace {

constexpr uint64_t kFinestBinMs = 10;

}  // namespace

AdaptiveKeepAlive::AdaptiveKeepAlive(AdaptiveKeepAliveOptions options) : options_(options) {
  FLINT_CHECK(options_.range_ms > kFinestBinMs);
  FLINT_CHECK(options_.bin_growth > 0);
  auto edges = std::make_shared<std::vector<uint64_t>>();
  edges->push_back(0);
  uint64_t edge = kFinestBinMs;
  while (edge < options_.range_ms) {
    edges->push_back(edge);
    edge = std::max(
        edge + kFinestBinMs,
        static_cast<uint64_t>(std::ceil(static_cast<double>(edge) * (1.0 + options_.bin_growth))));
  }
  edges->push_back(options_.range_ms);
  counts_.assign(edges->size() - 1, 0);
  edges_ = std::move(edges);
}

size_t AdaptiveKeepAlive::BinOf(uint64_t gap_ms) const {
  FLINT_CHECK(gap_ms < options_.range_ms);
  // The last edge <= gap_ms.
  auto it = std::upper_bound(edges_->begin(), edges_->end(), gap_ms);
  return static_cast<size_t>(it - edges_->begin()) - 1;
}

void AdaptiveKeepAlive::RecordArrival(uint64_t now_ms) {
  if (last_arrival_ms_) RecordGap(now_ms >= *last_arrival_ms_ ? now_ms - *last_arrival_ms_ : 0);
  last_arrival_ms_ = now_ms;
}

void AdaptiveKeepAlive::RecordGap(uint64_t gap_ms) {
  if (gap_ms >= options_.range_ms) {
    out_of_range_++;
  } else {
    counts_[BinOf(gap_ms)]++;
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
  // Recomputing costs O(non-empty bins^2): every gap while learning, then once per 1/16th of
  // the samples (a function called 1000 times a second recomputes every ~40 calls).
  if (++since_recompute_ >= std::max<uint64_t>(1, (total_ + out_of_range_) / 16)) {
    since_recompute_ = 0;
    Recompute();
  }
}

void AdaptiveKeepAlive::Recompute() {
  windows_ = {};
  uint64_t all = total_ + out_of_range_;
  if (all == 0) return;
  // Few gaps say little about when the next call comes: no pre-warming yet.
  bool may_prewarm = total_ >= options_.min_samples;
  // Candidate windows [P, E): P is 0 or the lower edge of a non-empty bin, E the upper edge of
  // a non-empty bin at or after P's (anything else holds a worker longer for the same calls).
  // A gap in bin i is taken to be at the bin's middle m_i. For the window (a, b) over the
  // non-empty bins a..b:
  //   warm  = sum_{a..b} n_i
  //   idle  = sum_{a..b} n_i (m_i - P) + (gaps beyond b, out of range included) * (E - P)
  // and the best window maximises warm - idle / cost (0: hold no worker at all).
  struct Bin {
    double lower, upper, count, weighted;  // weighted: count * middle
  };
  std::vector<Bin> bins;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    double lo = static_cast<double>(BinLower(i)), hi = static_cast<double>(BinUpper(i));
    double n = static_cast<double>(counts_[i]);
    bins.push_back({lo, hi, n, n * (lo + hi) / 2});
  }
  double cost = options_.cold_start_cost_ms != 0 ? static_cast<double>(options_.cold_start_cost_ms)
                                                 : 450'000.0;
  // Prefix sums: before[k] over bins 0..k-1.
  std::vector<double> count_before(bins.size() + 1, 0), weighted_before(bins.size() + 1, 0);
  for (size_t k = 0; k < bins.size(); ++k) {
    count_before[k + 1] = count_before[k] + bins[k].count;
    weighted_before[k + 1] = weighted_before[k] + bins[k].weighted;
  }
  double samples = static_cast<double>(all);
  // The best window from the call on (P = 0), and the best with unloading (P > 0).
  double best[2] = {0, 0}, best_p[2] = {0, 0}, best_e[2] = {0, 0}, best_beyond[2] = {0, 0};
  // A window that unloads must hold enough calls to be a prediction rather than a few lucky
  // samples (with few samples, a narrow window around one gap always looks worth it).
  double min_prewarm_warm = std::max(static_cast<double>(options_.min_samples), 0.1 * samples);
  for (size_t a = 0; a < bins.size(); ++a) {
    // P = 0 is a candidate only with the first bin (a later a with P = 0 is dominated).
    for (int zero = (a == 0 ? 1 : 0); zero >= (may_prewarm ? 0 : 1); --zero) {
      double p = zero ? 0.0 : bins[a].lower;
      int kind = p > 0 ? 1 : 0;
      for (size_t b = a; b < bins.size(); ++b) {
        double e = bins[b].upper;
        double warm = count_before[b + 1] - count_before[a];
        if (kind == 1 && warm < min_prewarm_warm) continue;
        double held = (weighted_before[b + 1] - weighted_before[a]) - warm * p;
        double beyond = samples - count_before[b + 1];
        double value = warm - (held + beyond * (e - p)) / cost;
        if (value > best[kind]) {
          best[kind] = value;
          best_p[kind] = p;
          best_e[kind] = e;
          best_beyond[kind] = beyond;
        }
      }
    }
  }
  windows_.learned = true;
  // A window must pay `min_gain` of a cold start per call, and unloading as much again over
  // keeping from the call on: each unload and pre-warm costs a LOAD the objective does not
  // count, and a narrow window around a few lucky samples is noise, not a prediction.
  double floor = options_.min_gain * samples;
  int kind = best[1] - std::max(best[0], 0.0) >= floor ? 1 : 0;
  if (best[kind] < floor) return;  // no window pays: hold no worker
  auto end = static_cast<uint64_t>(std::ceil(best_e[kind] * (1.0 + options_.margin)));
  // A window that holds every gap seen knows nothing of longer ones: it is held at least as
  // long as the default for what is not known, the fixed keep-alive. This costs idle time only
  // when the expected call does not come, and spares a busy function a cold start each time
  // one of its thousands of gaps is longer than the few hundred its histogram remembers.
  if (best_beyond[kind] == 0) end = std::max(end, options_.unknown_tail_ms);
  auto prewarm = static_cast<uint64_t>(best_p[kind] * (1.0 - options_.margin));
  prewarm = prewarm > options_.prewarm_lead_ms ? prewarm - options_.prewarm_lead_ms : 0;
  windows_.prewarm_ms = prewarm;
  windows_.keep_alive_ms = end > prewarm ? end - prewarm : 0;
}

void PrewarmLead::Add(uint64_t micros) {
  latencies_us_.Add(micros);
  stale_ = true;
}

uint64_t PrewarmLead::LeadMs(uint64_t cold_start_cost_ms) const {
  if (latencies_us_.size() == 0) return 0;
  if (stale_) {
    quantiles_ms_.clear();
    for (double p : {50.0, 75.0, 90.0, 95.0, 98.0, 99.0, 99.5, 99.8, 100.0}) {
      quantiles_ms_.emplace_back(p, (latencies_us_.Percentile(p) + 999) / 1000);
    }
    stale_ = false;
  }
  double cost = static_cast<double>(cold_start_cost_ms);
  uint64_t best_lead = 0;
  double best = std::numeric_limits<double>::infinity();
  for (const auto& [p, lead_ms] : quantiles_ms_) {
    double value = static_cast<double>(lead_ms) + cost * (100.0 - p) / 100.0;
    if (value < best) {
      best = value;
      best_lead = lead_ms;
    }
  }
  return best_lead;
}

}  // namespace flint::scheduler
