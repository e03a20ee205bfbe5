// Pool's adaptive keep-alive, decided per worker slot (see pool.h), on the controllable clock:
// every time below is a now_ms the test passes.
#include <catch2/catch.hpp>
#include <map>

#include "scheduler/core/pool.h"

using namespace flint::scheduler;
using Kind = Pool::Admission::Kind;

namespace {

PoolPolicy Adaptive(uint64_t fixed_keep_alive, uint32_t max_instances = 20) {
  PoolPolicy p;
  p.max_instances = max_instances;
  p.keep_alive_ms = fixed_keep_alive;
  p.keep_alive_mode = KeepAliveMode::kAdaptive;
  return p;
}

// Drives a pool as flintd does: starts the workers it asks for (ready at once) and finishes
// invocations when told.
struct Driver {
  Pool& pool;
  WorkerId next_worker = 1;
  InvocationId next_id = 1;

  // `n` calls arriving together at `t`; call i runs on its worker until t + run + i (so they
  // free their slots one millisecond apart, the last call's slot first). Returns how many had
  // to wait for a worker to start (cold starts).
  uint32_t Burst(uint64_t t, uint32_t n, uint64_t run = 1) {
    std::map<InvocationId, WorkerId> on;
    uint32_t cold = 0;
    std::vector<InvocationId> ids;
    for (uint32_t i = 0; i < n; ++i) {
      InvocationId id = next_id++;
      ids.push_back(id);
      auto a = pool.Admit(id, t);
      REQUIRE(a.kind != Kind::kRejected);
      if (a.kind == Kind::kDispatch) {
        on[id] = a.worker;
        continue;
      }
      cold++;
      if (!a.start_worker) continue;
      WorkerId w = next_worker++;
      pool.AddStarting(w);
      for (InvocationId started : pool.WorkerReady(w, t)) on[started] = w;
    }
    REQUIRE(on.size() == n);
    for (uint32_t i = n; i > 0; --i) {
      (void)pool.InvocationDone(on.at(ids[i - 1]), t + run + (n - i));
    }
    return cold;
  }
};

// A timer every `period` ms, `calls` times, each call 1 ms long; the pool starts every period
// from zero workers, except after the last call, whose worker is left idle. Returns when that
// worker became idle (the last call's end).
uint64_t LearnTimer(Pool& pool, Driver& d, uint64_t period, int calls = 12) {
  uint64_t t = 0;
  for (int k = 0; k < calls; ++k, t += period) {
    d.Burst(t, 1);
    if (k + 1 < calls) (void)pool.TakeIdle(t + period - 1);
  }
  return t - period + 1;
}

}  // namespace

TEST_CASE("Adaptive pool behaves as fixed keep-alive until it has learned", "[pool][adaptive]") {
  Pool pool(Adaptive(500));
  Driver d{pool};
  d.Burst(0, 1);
  CHECK_FALSE(pool.windows().learned);
  CHECK(pool.TakeExpired(400).empty());
  CHECK(pool.NextExpiry() == 501);
  CHECK(pool.TakeExpired(501) == std::vector<WorkerId>{1});
  CHECK(pool.TakePrewarm(600) == 0);
}

TEST_CASE("Adaptive pool unloads between periodic calls and pre-warms once before the next one",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  // A timer every 15 minutes (longer than the fixed keep-alive: the fixed policy would have a
  // cold start every time).
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.learned);
  CHECK(w.prewarm_ms > 850'000);
  CHECK(w.prewarm_ms < 900'000);
  CHECK(w.prewarm_ms + w.keep_alive_ms > 900'000);
  CHECK(w.prewarm_ms + w.keep_alive_ms < 950'000);
  // Right after the call the worker is unloaded (a kept worker costs idle time)...
  CHECK(pool.TakeExpired(idle + 1).size() == 1);
  CHECK(pool.empty());
  // ...no pre-warm too early; one once the window opens, and only one.
  CHECK(pool.NextPrewarm(idle + 1) == idle + w.prewarm_ms);
  CHECK(pool.TakePrewarm(idle + w.prewarm_ms - 1) == 0);
  CHECK(pool.TakePrewarm(idle + w.prewarm_ms) == 1);
  CHECK(pool.TakePrewarm(idle + w.prewarm_ms + 1) == 0);
  CHECK_FALSE(pool.NextPrewarm(idle + w.prewarm_ms + 1).has_value());
  pool.AddStarting(77);
  (void)pool.WorkerReady(77, idle + w.prewarm_ms + 3);
  // The pre-warmed worker is kept through the window and takes the call warm.
  CHECK(pool.TakeExpired(idle + 899'998).empty());
  auto hit = pool.Admit(100, idle + 899'999);
  CHECK(hit.kind == Kind::kDispatch);
  CHECK(hit.worker == 77);
}

TEST_CASE("Adaptive pool says when to pre-warm even after the window has opened",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.prewarm_ms > 0);
  (void)pool.TakeExpired(idle + 1);
  REQUIRE(pool.empty());
  CHECK(pool.NextPrewarm(idle + w.prewarm_ms + 5) == idle + w.prewarm_ms);           // due: now
  CHECK_FALSE(pool.NextPrewarm(idle + w.prewarm_ms + w.keep_alive_ms).has_value());  // missed
  CHECK(pool.TakePrewarm(idle + w.prewarm_ms + w.keep_alive_ms) == 0);
}

TEST_CASE("Adaptive pool keeps its worker through the window when a reload is not cheap",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.prewarm_ms > 0);
  // No pre-warmed generic worker is ready (a reload would take longer than the gap): kept.
  CHECK(pool.TakeExpired(idle + 1, /*reload_delay_ms=*/1'000'000).empty());
  // Decided once: it is not unloaded later either, however cheap a reload has become...
  CHECK(pool.NextExpiry() == idle + w.prewarm_ms + w.keep_alive_ms);
  CHECK(pool.TakeExpired(idle + 2).empty());
  // ...and no pre-warm is asked for: the kept worker takes the predicted call.
  CHECK_FALSE(pool.NextPrewarm(idle + 2).has_value());
  CHECK(pool.TakePrewarm(idle + w.prewarm_ms) == 0);
  CHECK(d.Burst(idle + 899'999, 1) == 0);
  // After that call the choice is made afresh: with a cheap reload it is unloaded.
  CHECK(pool.TakeExpired(idle + 900'001).size() == 1);
}

TEST_CASE("Adaptive pool unloads anyway when its pre-warm is due after a slow reload is done",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  REQUIRE(pool.windows().prewarm_ms > 2'000);
  // A spawn takes 2 s, and the pre-warm is due in more than that: a generic worker will be
  // ready by then, so the worker goes now.
  CHECK(pool.TakeExpired(idle + 1, /*reload_delay_ms=*/2'000).size() == 1);
}

TEST_CASE("Adaptive pool with a kept worker still lets it go when its window ends",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  CHECK(pool.TakeExpired(idle + 1, /*reload_delay_ms=*/1'000'000).empty());
  uint64_t end = idle + w.prewarm_ms + w.keep_alive_ms;
  CHECK(pool.TakeExpired(end - 1, 1'000'000).empty());
  CHECK(pool.TakeExpired(end, 1'000'000).size() == 1);  // no call came
}

TEST_CASE("Adaptive pool starts its pre-warm earlier by the measured lead", "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.prewarm_ms > 1'000);
  (void)pool.TakeExpired(idle + 1);
  REQUIRE(pool.empty());
  pool.set_prewarm_lead_ms(1'000);
  uint64_t start = idle + w.prewarm_ms - 1'000;
  CHECK(pool.NextPrewarm(idle + 2) == start);
  CHECK(pool.TakePrewarm(start - 1) == 0);
  CHECK(pool.TakePrewarm(start) == 1);
  // The early pre-warm is kept (not unloaded as idle before its window), until the window ends.
  pool.AddStarting(90);
  (void)pool.WorkerReady(90, start + 1);
  CHECK(pool.TakeExpired(start + 2).empty());
  CHECK(pool.NextExpiry() == idle + w.prewarm_ms + w.keep_alive_ms);
  CHECK(pool.TakeExpired(idle + w.prewarm_ms + w.keep_alive_ms) == std::vector<WorkerId>{90});
}

TEST_CASE("Adaptive pool keeps its worker from the call on when the lead covers the gap",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  uint64_t idle = LearnTimer(pool, d, 900'000);
  KeepAliveWindows w = pool.windows();
  // Pre-warms take longer than the gap: unloading would only start another worker at once.
  pool.set_prewarm_lead_ms(w.prewarm_ms + 5'000);
  CHECK(pool.TakeExpired(idle + 2).empty());
  CHECK_FALSE(pool.NextPrewarm(idle + 2).has_value());
  CHECK(pool.NextExpiry() == idle + w.prewarm_ms + w.keep_alive_ms);
}

TEST_CASE("Adaptive pool stops a rarely called function's worker right after its call",
          "[pool][adaptive]") {
  Pool pool(Adaptive(/*fixed_keep_alive=*/8'000));  // cold starts priced at 9.6 s
  Driver d{pool};
  uint64_t t = 0;
  // Gaps of 25 s to 3 minutes, in no pattern, all above the price of a cold start.
  for (uint64_t gap : {60'000, 25'000, 180'000, 41'000, 120'000}) {
    d.Burst(t += gap, 1);
    (void)pool.TakeExpired(t + 1);
  }
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.learned);
  CHECK(w.keep_alive_ms == 0);
  d.Burst(t += 90'000, 1);
  CHECK(pool.NextExpiry() == t + 1);  // as soon as it is idle
  CHECK(pool.TakeExpired(t + 1).size() == 1);
  CHECK_FALSE(pool.NextPrewarm(t + 1).has_value());
}

TEST_CASE("Adaptive pool holds a slot that has covered every gap seen for the fixed keep-alive",
          "[pool][adaptive]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  // A timer every minute: the window opens shortly before each call, and if a call does not
  // come when every one so far has, the worker is held as long as the fixed keep-alive would
  // (nothing is known of longer gaps).
  uint64_t idle = LearnTimer(pool, d, 60'000);
  KeepAliveWindows w = pool.windows();
  REQUIRE(w.prewarm_ms > 50'000);
  CHECK(w.prewarm_ms + w.keep_alive_ms == 600'000);
  (void)pool.TakeExpired(idle + 1);
  REQUIRE(pool.TakePrewarm(idle + w.prewarm_ms) == 1);
  pool.AddStarting(50);
  (void)pool.WorkerReady(50, idle + w.prewarm_ms + 1);
  CHECK(pool.TakeExpired(idle + 599'999).empty());
  CHECK(pool.TakeExpired(idle + 600'000).size() == 1);
}

TEST_CASE("Adaptive pool keeps as many workers as a busy function's concurrent calls need",
          "[pool][adaptive][busy]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  // Three calls at a time, every 2 s or so, each 50 ms long: the function needs three workers.
  uint32_t cold = 0;
  uint64_t t = 0;
  for (int round = 0; round < 60; ++round) {
    t = static_cast<uint64_t>(round) * 2'000 + (round % 3) * 150;
    cold += d.Burst(t, 3, 50);
    CHECK(pool.TakeExpired(t + 1'000).empty());
  }
  CHECK(cold == 3);  // the first round only
  REQUIRE(pool.slots() == 3);
  for (size_t k = 1; k <= 3; ++k) {
    KeepAliveWindows w = pool.SlotWindows(k);
    REQUIRE(w.learned);
    CHECK(w.prewarm_ms == 0);
    CHECK(w.keep_alive_ms >= 600'000);  // every gap seen is short: held while that holds
  }
  // A lull of five minutes: all three are kept, and the next round is warm.
  CHECK(pool.TakeExpired(t + 300'000).empty());
  CHECK(pool.counts().idle == 3);
  CHECK(pool.WarmTarget(t + 300'000) == 3);
  CHECK(d.Burst(t + 300'000, 3, 50) == 0);
  // A fourth concurrent call, never needed before: one cold start, and the slot it opens is
  // held as the fixed keep-alive would hold it (its first idle period, nothing learned yet).
  t += 310'000;
  CHECK(d.Burst(t, 4, 50) == 1);
  CHECK_FALSE(pool.SlotWindows(4).learned);
  // Demand fell below slot 4 first (at t + 50), so its window ends first: one worker goes.
  CHECK(pool.NextExpiry() == t + 50 + 600'000);
  CHECK(pool.TakeExpired(t + 50 + 600'000).size() == 1);
  CHECK(pool.counts().idle == 3);
}

TEST_CASE(
    "Adaptive pool releases a burst's extra workers one at a time, least recently used "
    "first",
    "[pool][adaptive][burst]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  CHECK(d.Burst(0, 5, 20) == 5);
  // Nothing learned yet: each slot holds a worker for the fixed keep-alive from the moment
  // demand fell below it, and the workers go one by one as those windows end.
  uint64_t last = 0;
  std::vector<WorkerId> released;
  while (auto at = pool.NextExpiry()) {
    CHECK(*at > last);
    last = *at;
    auto gone = pool.TakeExpired(*at);
    REQUIRE(gone.size() == 1);
    released.push_back(gone.front());
  }
  CHECK(released.size() == 5);
  CHECK(pool.empty());
  CHECK(last == 20 + 4 + 600'000);  // the slot the first call held, freed last
}

TEST_CASE("Adaptive pool pre-warms every worker a periodic burst needs before it comes",
          "[pool][adaptive][burst]") {
  Pool pool(Adaptive(600'000));
  Driver d{pool};
  // Five calls at once every 15 minutes: five slots, each learning the 15-minute gap.
  uint64_t t = 0;
  uint32_t cold = 0;
  for (int burst = 0; burst < 12; ++burst, t += 900'000) {
    cold += d.Burst(t, 5, 10);
    if (burst + 1 < 12) (void)pool.TakeIdle(t + 899'000);
  }
  t -= 900'000;
  CHECK(cold == 60);  // the fixed keep-alive would have had every one of them cold as well
  REQUIRE(pool.slots() == 5);
  for (size_t k = 1; k <= 5; ++k) CHECK(pool.SlotWindows(k).prewarm_ms > 850'000);
  // After the burst every worker is unloaded...
  CHECK(pool.TakeExpired(t + 100).size() == 5);
  CHECK(pool.empty());
  // ...and shortly before the next one five are pre-warmed, all at once.
  auto due = pool.NextPrewarm(t + 100);
  REQUIRE(due.has_value());
  CHECK(*due > t + 850'000);
  uint64_t at = *due + 10;  // the slots became idle within a few ms of each other
  CHECK(pool.TakePrewarm(at) == 5);
  CHECK(pool.TakePrewarm(at + 1) == 0);
  for (WorkerId w = 100; w < 105; ++w) {
    pool.AddStarting(w);
    (void)pool.WorkerReady(w, at + 2);
  }
  CHECK(pool.TakeExpired(t + 899'999).empty());
  CHECK(d.Burst(t + 900'000, 5, 10) == 0);  // the whole burst is warm
}

TEST_CASE("Adaptive pool counts waiting requests as demand for a slot", "[pool][adaptive]") {
  Pool pool(Adaptive(600'000, /*max_instances=*/1));
  // One worker at most: the second call waits for the first; the queue does not open a slot
  // beyond max_instances.
  auto first = pool.Admit(1, 0);
  REQUIRE(first.kind == Kind::kQueued);
  pool.AddStarting(1);
  (void)pool.WorkerReady(1, 1);
  CHECK(pool.Admit(2, 2).kind == Kind::kQueued);
  CHECK(pool.slots() == 1);
  CHECK(pool.InvocationDone(1, 3) == std::vector<InvocationId>{2});
  (void)pool.InvocationDone(1, 4);
  CHECK(pool.WarmTarget(5) == 1);  // the slot's first idle period: the fixed keep-alive
}
