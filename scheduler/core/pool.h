// Pool: the scheduling decisions for one function version's workers and waiting requests.
//
// Pure bookkeeping: no sockets, no processes, no clock of its own (callers pass `now_ms`). The
// caller performs the actions the pool returns (start a process, send INVOKE, stop a worker)
// and reports back what happened. Loop thread only.
//
// Invariants:
//  - a worker never holds more than `concurrency` invocations;
//  - a request waits in the queue only while every ready worker is full;
//  - the pool asks for a new worker only when the queued requests exceed what the workers
//    already starting will absorb (one waiting request never starts ten workers);
//  - starting + ready workers never exceed max_instances;
//  - keep-alive never stops a worker that would leave fewer than min_instances workers, and
//    Evictable() never offers one;
//  - idle worker-milliseconds count the time each ready worker spent running nothing, from the
//    moment it became idle until it got work or left the pool;
//  - adaptive: slot k is in use exactly while demand > (k-1) x concurrency (slots beyond
//    max_instances are not tracked).
//
// Keep-alive is fixed (an idle worker stops `keep_alive_ms` after its last use), adaptive, or
// the hybrid histogram policy of "Serverless in the Wild" (kHybridHistogram, for comparison in
// the simulator; see hybrid_histogram.h).
//
// Adaptive keep-alive is decided for the pool, one worker slot at a time. Slot k is the k-th
// worker the function's concurrent calls need: it is in use while at least k workers' worth of
// invocations are admitted (running or queued: demand > (k-1) x concurrency) and idle
// otherwise. Each slot learns (AdaptiveKeepAlive) its own idle times, from the moment demand
// fell below it to the moment demand reached it again, and so when an idle worker is wanted
// for it: from the moment it became idle on, or only in a window ahead of its predicted next
// use (pre-warming). The first slot of a function called every 5 minutes learns a narrow
// window around 5 minutes; the fifth slot of a function whose bursts need five workers every
// hour learns a window around the hour; the slots a busy function needs many times a minute
// are kept while that pattern holds, and the rarely needed ones go. At any time the pool keeps
// as many idle workers as it has idle slots in their window (the least recently used idle
// workers go first), so the extra workers of a burst are released one by one as their slots'
// windows end, and asks for as many pre-warms (TakePrewarm) as slots whose pre-warm is due lack
// a worker, earlier by the caller's set_prewarm_lead_ms(). A slot is not unloaded ahead of its
// window while the caller says a reload is not cheap (TakeExpired). A slot that has not yet
// seen an idle time uses the fixed keep-alive. NextExpiry() and NextPrewarm() say when the
// caller must next call TakeExpired() and TakePrewarm().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "scheduler/core/hybrid_histogram.h"
#include "scheduler/core/keep_alive.h"

namespace flint::scheduler {

using WorkerId = uint64_t;
using InvocationId = uint64_t;

// kHybridHistogram: the published policy, for comparison in the simulator; flintd does not
// offer it.
enum class KeepAliveMode { kFixed, kAdaptive, kHybridHistogram };

struct PoolPolicy {
  uint32_t min_instances = 0;  // workers kept even when idle (provisioned); <= max_instances
  uint32_t max_instances = 10;
  uint32_t concurrency = 1;          // invocations one worker runs at once
  uint64_t keep_alive_ms = 600'000;  // idle time before a worker is stopped
  size_t max_queue = 100;            // waiting requests beyond which Admit rejects
  KeepAliveMode keep_alive_mode = KeepAliveMode::kFixed;
};

struct PoolCounts {
  uint32_t starting = 0;
  uint32_t idle = 0;  // ready, running nothing
  uint32_t busy = 0;  // ready, running at least one invocation
  size_t queued = 0;
};

class Pool {
 public:
  // `adaptive.cold_start_cost_ms` 0: 1.2 times the policy's fixed keep-alive;
  // `adaptive.unknown_tail_ms` 0: the fixed keep-alive. `hybrid`: the
  // kHybridHistogram mode's options.
  explicit Pool(PoolPolicy policy, AdaptiveKeepAliveOptions adaptive = {},
                HybridHistogramOptions hybrid = {})
      : policy_(policy),
        slot_prototype_(WithCost(adaptive, policy.keep_alive_ms)),
        hybrid_(hybrid) {}

  struct Admission {
    enum class Kind { kDispatch, kQueued, kRejected } kind;
    WorkerId worker = 0;        // kDispatch: send the invocation to this worker now
    bool start_worker = false;  // kQueued: the caller should start one worker (AddStarting)
  };
  // A request arrives (and is recorded as an arrival by the adaptive keep-alive). Prefers the most
  // recently used ready worker with spare capacity (warm caches, and it lets the others age out).
  Admission Admit(InvocationId id, uint64_t now_ms);

  // A worker the caller started on the pool's request (or handed over already loaded).
  void AddStarting(WorkerId worker);
  // Queued invocations (up to concurrency) to send to a starting `worker` right behind its LOAD,
  // so that they run as soon as it has loaded without a round trip; they count as its
  // in-flight invocations from now on.
  std::vector<InvocationId> Pipeline(WorkerId worker);
  // The worker finished loading. Returns the queued invocations to dispatch to it now.
  std::vector<InvocationId> WorkerReady(WorkerId worker, uint64_t now_ms);
  // An invocation on `worker` finished. Returns queued invocations to dispatch to it now.
  std::vector<InvocationId> InvocationDone(WorkerId worker, uint64_t now_ms);
  // A worker is gone (exited, crashed, failed to load, or stopped by the caller). Its
  // invocations are the caller's to fail. Returns true when the queue still needs a worker and
  // the caller should start one (AddStarting).
  bool WorkerGone(WorkerId worker, uint64_t now_ms);
  // Removes a queued invocation (its client left or it waited too long). False if not queued.
  bool Cancel(InvocationId id);
  // Puts invocations that were sent to a worker but never started back at the front of the
  // queue, in the order given (the worker was stopped before it reached them: call WorkerGone
  // for it first). The caller starts a worker if WantsWorker() says so.
  void Requeue(const std::vector<InvocationId>& ids);
  // Drops every queued invocation and returns them (for a pool being discarded).
  std::vector<InvocationId> TakeQueue();

  // Idle workers whose keep-alive has passed at `now_ms`, least recently used first, never
  // leaving fewer than min_instances workers. They are removed; the caller stops them.
  // `reload_delay_ms`: how much longer than a LOAD a pre-warm would take if it started now
  // (flintd: 0 while a pre-warmed generic worker is ready, else about the time to spawn one).
  // A worker that an adaptive slot would unload ahead of its predicted use, and whose pre-warm
  // would be due sooner than that, is kept through the window instead (the slot is not
  // unloaded again until it has been used): the pre-warm would have to spawn a process, later
  // than the call and a further load on a node already short of workers.
  std::vector<WorkerId> TakeExpired(uint64_t now_ms, uint64_t reload_delay_ms = 0);
  // Idle workers, removed from the pool (for draining an old version).
  std::vector<WorkerId> TakeIdle(uint64_t now_ms);
  // When the next idle worker expires, if any; none while the pool has no more than
  // min_instances workers (TakeExpired would stop none).
  std::optional<uint64_t> NextExpiry() const;

  // Workers to start now to reach min_instances (starting ones count).
  uint32_t WorkersToStart() const;
  // True when queued requests need a worker the caller has not started yet (it could not:
  // e.g. the node's memory was full). The caller retries with AddStarting.
  bool WantsWorker() const { return !queue_.empty() && NeedsAnotherWorker(); }
  // Adaptive (and hybrid histogram) keep-alive: how many workers to pre-warm now, each for a
  // slot whose predicted window has begun and that the pool's workers do not cover; each slot
  // is pre-warmed at most once per idle period. The caller starts them (AddStarting).
  uint32_t TakePrewarm(uint64_t now_ms);
  // When TakePrewarm would next answer more than 0 (if nothing else happens before), if ever
  // (a time <= now_ms: now). With NextExpiry, what a caller's timer waits for.
  std::optional<uint64_t> NextPrewarm(uint64_t now_ms) const;
  // Adaptive keep-alive: start pre-warms this much earlier than the learned windows say (the
  // caller's measure of how long a pre-warm takes to be ready, PrewarmLead), never before the
  // slot became idle. A slot whose (earlier) pre-warm time is the moment it became idle keeps
  // its worker from then on: when a pre-warm takes as long as the gap, unloading gains nothing.
  void set_prewarm_lead_ms(uint64_t lead_ms) { prewarm_lead_ms_ = lead_ms; }
  uint64_t prewarm_lead_ms() const { return prewarm_lead_ms_; }
  // The idle worker time this pool's adaptive policy prices one cold start at.
  uint64_t cold_start_cost_ms() const { return slot_prototype_.cold_start_cost_ms(); }
  // Idle workers that may be evicted for another function (beyond min_instances), each with
  // the time it became idle, least recently used first.
  std::vector<std::pair<WorkerId, uint64_t>> Evictable() const;
  // Removes an idle worker chosen from Evictable(). False if it is not idle in this pool.
  bool Evict(WorkerId worker, uint64_t now_ms);

  // Total time ready workers of this pool have spent idle, up to `now_ms`.
  uint64_t IdleWorkerMs(uint64_t now_ms) const;
  // The keep-alive in force: for an adaptive pool its first slot's learned windows (once it has
  // learned; the hybrid histogram's windows in that mode), else {learned=false} (the fixed
  // keep_alive_ms applies).
  KeepAliveWindows windows() const;
  // Adaptive: the workers the pool would keep now (slots in use, and idle slots inside their
  // window) and how many slots it has learned about.
  uint32_t WarmTarget(uint64_t now_ms) const;
  size_t slots() const { return slots_.size(); }
  // What slot k (1-based) has learned.
  KeepAliveWindows SlotWindows(size_t k) const { return slots_.at(k - 1).history.windows(); }

  PoolCounts counts() const;
  bool empty() const { return workers_.empty() && queue_.empty(); }
  const PoolPolicy& policy() const { return policy_; }
  void set_policy(const PoolPolicy& policy) { policy_ = policy; }

 private:
  struct Worker {
    bool ready = false;
    uint32_t in_flight = 0;
    uint64_t last_used_ms = 0;
    uint64_t idle_since_ms = 0;  // meaningful while ready and in_flight == 0
    bool idle() const { return ready && in_flight == 0; }
  };
  // Adaptive: one worker slot (see the class comment).
  struct Slot {
    AdaptiveKeepAlive history;
    bool in_use = true;
    uint64_t idle_since_ms = 0;  // when demand last fell below the slot (while !in_use)
    bool prewarm_taken = false;  // pre-warmed in this idle period
    // TakeExpired found no cheap reload: held from idle_since on, through its window.
    bool keep_through_window = false;
  };
  // When an idle slot wants a worker: [start, end). `prewarm`: start lies after the slot
  // became idle (a pre-warm brings its worker).
  struct Want {
    uint64_t start = 0, end = 0;
    bool prewarm = false;
  };

  bool NeedsAnotherWorker() const;
  std::vector<InvocationId> FillFromQueue(WorkerId id, Worker& worker);
  // Admitted invocations (queued or running) may have changed: recounts them, and slots start
  // or stop being in use.
  void UpdateDemand(uint64_t now_ms);
  uint32_t SlotsInUse() const;
  std::optional<Want> WantOf(const Slot& slot) const;
  // Workers wanted at `t` (slots in use, and idle slots inside their window at t).
  uint32_t Wanted(uint64_t t) const;
  // Idle workers that keep-alive would stop at `t` (none below min_instances).
  size_t Surplus(uint64_t t) const;
  // Pre-warms due at `t` (for slots not pre-warmed yet whose windows hold t and that the
  // workers do not cover).
  uint32_t PrewarmsDue(uint64_t t) const;
  std::optional<uint64_t> NextAdaptiveExpiry() const;
  std::vector<WorkerId> TakeLeastRecentlyUsedIdle(size_t n, uint64_t now_ms);
  // Fixed and hybrid histogram modes: when an idle `worker` expires.
  uint64_t ExpiryOf(const Worker& worker) const;
  // Adds the idle time of `worker` up to `now_ms` if it is idle (it is leaving idleness).
  void EndIdle(const Worker& worker, uint64_t now_ms);
  void Tick(uint64_t now_ms) { clock_ms_ = std::max(clock_ms_, now_ms); }
  bool adaptive() const { return policy_.keep_alive_mode == KeepAliveMode::kAdaptive; }
  bool hybrid() const { return policy_.keep_alive_mode == KeepAliveMode::kHybridHistogram; }
  static AdaptiveKeepAliveOptions WithCost(AdaptiveKeepAliveOptions options,
                                           uint64_t keep_alive_ms) {
    if (options.cold_start_cost_ms == 0) {
      options.cold_start_cost_ms = keep_alive_ms * 6 / 5 > 0 ? keep_alive_ms * 6 / 5 : 1;
    }
    if (options.unknown_tail_ms == 0) options.unknown_tail_ms = keep_alive_ms;
    return options;
  }

  PoolPolicy policy_;
  AdaptiveKeepAlive slot_prototype_;  // what a new slot starts from (nothing learned)
  std::vector<Slot> slots_;           // slot k is slots_[k - 1]; created when first in use
  uint64_t demand_ = 0;               // admitted invocations not finished: queued or running
  uint64_t prewarm_lead_ms_ = 0;
  // Hybrid histogram mode: the function's idle times, and the end of its last invocation.
  HybridHistogram hybrid_;
  std::optional<uint64_t> last_done_ms_;
  bool hybrid_prewarm_taken_ = false;
  uint64_t clock_ms_ = 0;  // the latest now_ms the pool was told
  uint64_t idle_ms_ = 0;   // idle time of workers no longer idle
  std::map<WorkerId, Worker> workers_;
  std::deque<InvocationId> queue_;
};

}  // namespace flint::scheduler
