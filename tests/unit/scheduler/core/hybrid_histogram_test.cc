#include "scheduler/core/hybrid_histogram.h"

#include <catch2/catch.hpp>

#include "scheduler/core/pool.h"

using namespace flint::scheduler;

namespace {
constexpr uint64_t kMinute = 60'000;
constexpr uint64_t kHour = 60 * kMinute;
}  // namespace

TEST_CASE(
    "HybridHistogram keeps a worker for its 4-hour range until it has a representative "
    "histogram",
    "[hybrid]") {
  HybridHistogram policy;
  KeepAliveWindows w = policy.windows();
  CHECK(w.learned);
  CHECK(w.prewarm_ms == 0);
  CHECK(w.keep_alive_ms == 4 * kHour);
  // Idle times spread evenly over the range: a low coefficient of variation, no pattern.
  for (uint64_t m = 0; m < 240; m += 2) policy.RecordIdle(m * kMinute + 30'000);
  w = policy.windows();
  CHECK(w.prewarm_ms == 0);
  CHECK(w.keep_alive_ms == 4 * kHour);
}

TEST_CASE("HybridHistogram pre-warms at the 5th percentile and keeps past the 99th", "[hybrid]") {
  HybridHistogram policy;
  for (int i = 0; i < 20; ++i) policy.RecordIdle(15 * kMinute + 20'000);  // bin 15
  KeepAliveWindows w = policy.windows();
  // Head bin 15 less 10%, tail bin 15's upper edge (16 minutes) plus 10%.
  CHECK(w.prewarm_ms == 15 * kMinute * 9 / 10);
  CHECK(w.prewarm_ms + w.keep_alive_ms == 16 * kMinute * 11 / 10);
}

TEST_CASE("HybridHistogram forecasts the next idle time when most are beyond its range",
          "[hybrid]") {
  HybridHistogram policy;
  for (uint64_t h : {5, 6, 7}) policy.RecordIdle(h * kHour);
  KeepAliveWindows w = policy.windows();
  // The mean of the recent idle times (6 hours), pre-warmed at 85%, kept for 30%.
  CHECK(w.prewarm_ms == 6 * kHour * 85 / 100);
  CHECK(w.keep_alive_ms == 6 * kHour * 30 / 100);
}

TEST_CASE("HybridHistogram scales its range and bins for a compressed replay", "[hybrid]") {
  HybridHistogramOptions o = HybridHistogramOptions::Scaled(1.0 / 144);
  CHECK(o.range_ms == 100'000);
  CHECK(o.bin_ms == 417);
}

TEST_CASE(
    "Pool in hybrid histogram mode unloads every idle worker before the window and "
    "pre-warms one",
    "[hybrid][pool]") {
  PoolPolicy policy;
  policy.keep_alive_mode = KeepAliveMode::kHybridHistogram;
  Pool pool(policy);
  uint64_t t = 0;
  WorkerId w = 1;
  for (int i = 0; i < 10; ++i, t += 30 * kMinute) {
    auto a = pool.Admit(i + 1, t);
    REQUIRE(a.kind == Pool::Admission::Kind::kQueued);
    pool.AddStarting(w);
    (void)pool.WorkerReady(w, t);
    (void)pool.InvocationDone(w, t + 1);
    // Before any representative histogram the worker would be kept 4 hours: drained here.
    (void)pool.TakeIdle(t + 2);
    ++w;
  }
  // The last call's worker: the function's window says unload at once, pre-warm later.
  auto a = pool.Admit(100, t);
  REQUIRE(a.kind == Pool::Admission::Kind::kQueued);
  pool.AddStarting(w);
  (void)pool.WorkerReady(w, t);
  (void)pool.InvocationDone(w, t + 1);
  KeepAliveWindows win = pool.windows();
  REQUIRE(win.prewarm_ms > 20 * kMinute);
  CHECK(pool.NextExpiry() == t + 1);
  CHECK(pool.TakeExpired(t + 1).size() == 1);
  CHECK(pool.NextPrewarm(t + 2) == t + 1 + win.prewarm_ms);
  CHECK(pool.TakePrewarm(t + 1 + win.prewarm_ms) == 1);
  CHECK(pool.TakePrewarm(t + 2 + win.prewarm_ms) == 0);
}
