#include "scheduler/core/keep_alive.h"

#include <catch2/catch.hpp>
#include <random>

using namespace flint::scheduler;

namespace {
// Feeds arrivals separated by `gaps` (starting at t = 1000) and returns the last arrival time.
uint64_t Feed(AdaptiveKeepAlive& policy, const std::vector<uint64_t>& gaps) {
  uint64_t t = 1000;
  policy.RecordArrival(t);
  for (uint64_t g : gaps) policy.RecordArrival(t += g);
  return t;
}
}  // namespace

TEST_CASE("AdaptiveKeepAlive bins are 10 ms fine at first and about 2% wide after", "[keepalive]") {
  AdaptiveKeepAlive policy;
  CHECK(policy.BinOf(0) == 0);
  CHECK(policy.BinOf(9) == 0);
  CHECK(policy.BinOf(10) == 1);
  CHECK(policy.BinUpper(policy.bin_count() - 1) == 4u * 3600 * 1000);
  for (size_t i = 1; i < policy.bin_count(); ++i) {
    uint64_t lo = policy.BinLower(i), hi = policy.BinUpper(i);
    REQUIRE(hi > lo);
    if (lo >= 1000 && i + 1 < policy.bin_count()) CHECK(hi <= lo * 1.021 + 1);
    CHECK(policy.BinOf(lo) == i);
    CHECK(policy.BinOf(hi - 1) == i);
  }
  // Hundreds of bins, not millions: it is kept per function.
  CHECK(policy.bin_count() < 1000);
}

TEST_CASE(
    "AdaptiveKeepAlive uses the fixed keep-alive until the first gap, pre-warms only after "
    "min_samples gaps",
    "[keepalive]") {
  AdaptiveKeepAlive policy;
  CHECK_FALSE(policy.windows().learned);
  policy.RecordArrival(1000);
  CHECK_FALSE(policy.windows().learned);  // one call: no gap yet
  policy.RecordArrival(61'000);
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  // One 60 s gap, below the cost: kept from the call on, just past the gap.
  CHECK(w.prewarm_ms == 0);
  CHECK(w.keep_alive_ms >= 60'000);
  CHECK(w.keep_alive_ms < 63'000);
  policy.RecordArrival(121'000);
  CHECK(policy.windows().prewarm_ms == 0);  // two gaps: still not enough to unload
  policy.RecordArrival(181'000);
  CHECK(policy.samples() == 3);
  CHECK(policy.windows().prewarm_ms > 50'000);  // three: pre-warm before the next call
}

TEST_CASE("AdaptiveKeepAlive pre-warms before a periodic call and keeps a short window",
          "[keepalive]") {
  AdaptiveKeepAlive policy;
  Feed(policy, std::vector<uint64_t>(20, 300'000));  // every 5 minutes
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  // Pre-warm at most 10% + one bin before the call, and the window covers it.
  CHECK(w.prewarm_ms >= 300'000 * 0.9 * 0.9);
  CHECK(w.prewarm_ms < 300'000);
  CHECK(w.prewarm_ms + w.keep_alive_ms > 300'000);
  CHECK(w.prewarm_ms + w.keep_alive_ms <= 300'000 * 1.1 * 1.11);
  // A window a few percent of the period wide: far less held than a 10-minute keep-alive.
  CHECK(w.keep_alive_ms < 30'000);
}

TEST_CASE("AdaptiveKeepAlive keeps sub-second gaps at sub-second resolution", "[keepalive]") {
  AdaptiveKeepAlive policy;
  Feed(policy, std::vector<uint64_t>(30, 250));
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms + w.keep_alive_ms >= 250);
  CHECK(w.prewarm_ms + w.keep_alive_ms < 400);
}

TEST_CASE("AdaptiveKeepAlive does not pre-warm an unpredictable (spread) function", "[keepalive]") {
  AdaptiveKeepAlive policy;
  std::mt19937_64 rng(42);
  std::exponential_distribution<double> gap(1.0 / 20'000);  // Poisson, mean 20 s
  std::vector<uint64_t> gaps;
  for (int i = 0; i < 400; ++i) gaps.push_back(static_cast<uint64_t>(gap(rng)) + 1);
  Feed(policy, gaps);
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms == 0);
  // Kept up to about the 99th percentile (4.6 x the mean for an exponential), with margin.
  CHECK(w.keep_alive_ms > 60'000);
  CHECK(w.keep_alive_ms < 200'000);
}

TEST_CASE("AdaptiveKeepAlive holds no worker when every gap exceeds its range", "[keepalive]") {
  AdaptiveKeepAliveOptions options;
  options.range_ms = 60'000;
  AdaptiveKeepAlive policy(options);
  Feed(policy, std::vector<uint64_t>(10, 120'000));
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms == 0);
  CHECK(w.keep_alive_ms == 0);
}

TEST_CASE("AdaptiveKeepAlive keeps a Poisson function only when its mean gap is below the cost",
          "[keepalive]") {
  auto windows_for = [](double mean_gap_ms) {
    AdaptiveKeepAliveOptions options;
    options.cold_start_cost_ms = 60'000;
    AdaptiveKeepAlive policy(options);
    std::mt19937_64 rng(7);
    std::exponential_distribution<double> gap(1.0 / mean_gap_ms);
    std::vector<uint64_t> gaps;
    for (int i = 0; i < 400; ++i) gaps.push_back(static_cast<uint64_t>(gap(rng)) + 1);
    Feed(policy, gaps);
    return policy.windows();
  };
  KeepAliveWindows frequent = windows_for(20'000);  // a third of the cost
  REQUIRE(frequent.learned);
  CHECK(frequent.prewarm_ms == 0);
  CHECK(frequent.keep_alive_ms > 60'000);        // most of its gaps
  KeepAliveWindows rare = windows_for(180'000);  // three times the cost
  REQUIRE(rare.learned);
  CHECK(rare.prewarm_ms == 0);
  CHECK(rare.keep_alive_ms == 0);  // unloaded after each call
}

TEST_CASE("AdaptiveKeepAlive keeps a bursty function through its bursts, not between them",
          "[keepalive]") {
  AdaptiveKeepAliveOptions options;
  options.cold_start_cost_ms = 60'000;
  AdaptiveKeepAlive policy(options);
  std::vector<uint64_t> gaps;
  for (int burst = 0; burst < 40; ++burst) {
    for (int i = 0; i < 4; ++i) gaps.push_back(1'000 + 500 * i);  // calls 1-2.5 s apart
    gaps.push_back(3'600'000 - 3'000 * burst);                    // about an hour between
  }
  Feed(policy, gaps);
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms == 0);
  CHECK(w.keep_alive_ms >= 2'500);
  CHECK(w.keep_alive_ms < 3'000);
}

TEST_CASE("AdaptiveKeepAlive forgets old behaviour as counts are halved", "[keepalive]") {
  AdaptiveKeepAliveOptions options;
  options.max_samples = 50;
  AdaptiveKeepAlive policy(options);
  uint64_t t = Feed(policy, std::vector<uint64_t>(50, 100'000));
  for (int i = 0; i < 300; ++i) policy.RecordArrival(t += 2'000);
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms + w.keep_alive_ms < 10'000);
  CHECK(policy.samples() <= 50);
}

TEST_CASE("AdaptiveKeepAlive keeps a worker from the call on for a mostly back-to-back function",
          "[keepalive]") {
  AdaptiveKeepAlive policy;
  std::vector<uint64_t> gaps(100, 5);  // bursts
  gaps[50] = 30'000;                   // one pause between them
  Feed(policy, gaps);
  KeepAliveWindows w = policy.windows();
  REQUIRE(w.learned);
  // The head is in the first bin: nothing to gain from unloading.
  CHECK(w.prewarm_ms == 0);
}

TEST_CASE("AdaptiveKeepAlive learns the same from gaps as from the arrivals they separate",
          "[keepalive]") {
  AdaptiveKeepAlive from_arrivals, from_gaps;
  std::vector<uint64_t> gaps = {300'000, 299'000, 301'000, 300'500, 299'500, 300'000};
  Feed(from_arrivals, gaps);
  for (uint64_t g : gaps) from_gaps.RecordGap(g);
  CHECK(from_gaps.samples() == from_arrivals.samples());
  CHECK(from_gaps.windows().prewarm_ms == from_arrivals.windows().prewarm_ms);
  CHECK(from_gaps.windows().keep_alive_ms == from_arrivals.windows().keep_alive_ms);
  CHECK_FALSE(from_gaps.last_arrival_ms().has_value());
}

TEST_CASE("AdaptiveKeepAlive holds a window covering every gap seen for the unknown tail",
          "[keepalive]") {
  AdaptiveKeepAliveOptions options;
  options.unknown_tail_ms = 600'000;
  // Gaps of 1-3 s: kept from the call on, and since no gap was ever longer, for at least the
  // unknown tail (a longer gap is not known to be rare).
  AdaptiveKeepAlive busy(options);
  for (int i = 0; i < 200; ++i) busy.RecordGap(1'000 + (i * 37) % 2'000);
  CHECK(busy.windows().prewarm_ms == 0);
  CHECK(busy.windows().keep_alive_ms == 600'000);
  // The same with one gap in ten of 40 minutes: the histogram knows the long gaps, and holding
  // through them does not pay; the window ends after the short ones.
  AdaptiveKeepAlive bursty(options);
  for (int i = 0; i < 200; ++i)
    bursty.RecordGap(i % 10 == 9 ? 2'400'000 : 1'000 + (i * 37) % 2'000);
  CHECK(bursty.windows().prewarm_ms == 0);
  CHECK(bursty.windows().keep_alive_ms < 10'000);
}

TEST_CASE("PrewarmLead is zero before any pre-warm has been measured", "[keepalive][lead]") {
  PrewarmLead lead;
  CHECK(lead.LeadMs(450'000) == 0);
}

namespace {
// 980 pre-warms that took 2 ms, 15 that took 25 ms (a busy node), 5 that took 500 ms (spawns).
PrewarmLead MeasuredLead() {
  PrewarmLead lead(1000);
  for (int i = 0; i < 980; ++i) lead.Add(2'000);
  for (int i = 0; i < 15; ++i) lead.Add(25'000);
  for (int i = 0; i < 5; ++i) lead.Add(500'000);
  return lead;
}
}  // namespace

TEST_CASE("PrewarmLead covers even rare slow pre-warms when a cold start costs minutes",
          "[keepalive][lead]") {
  // 500 ms more idle per pre-warm is cheaper than one in 200 calls cold at 450 s each.
  CHECK(MeasuredLead().LeadMs(450'000) == 500);
}

TEST_CASE("PrewarmLead stops short of rare spawns when a cold start costs seconds",
          "[keepalive][lead]") {
  // Priced at 3 s (a day compressed 144x): covering the 25 ms ones pays, the 500 ms ones not.
  CHECK(MeasuredLead().LeadMs(3'000) == 25);
  // Priced at 100 ms: only the common case.
  CHECK(MeasuredLead().LeadMs(100) == 2);
}

TEST_CASE("PrewarmLead follows the node: recent samples replace old ones", "[keepalive][lead]") {
  PrewarmLead lead(100);
  for (int i = 0; i < 100; ++i) lead.Add(40'000);
  CHECK(lead.LeadMs(3'000) == 40);
  for (int i = 0; i < 100; ++i) lead.Add(1'500);
  CHECK(lead.LeadMs(3'000) == 2);  // rounded up to whole milliseconds
}
