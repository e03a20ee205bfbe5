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
//    moment it became idle until it got work or left the pool.
//
// Keep-alive is either fixed (an idle worker stops `keep_alive_ms` after its last use) or
// adaptive (AdaptiveKeepAlive learns the inter-arrival times; once it has, the most recently
// used worker is kept only inside the predicted window, the others no longer than the fixed
// keep-alive, and TakePrewarm() asks for a worker shortly before the next predicted call,
// earlier by the caller's set_prewarm_lead_ms(); a worker is unloaded ahead of its window only
// while the caller says a reload is cheap, see TakeExpired()).
// An adaptive pool behaves as a fixed one until its second arrival. NextExpiry() and
// NextPrewarm() say when the caller must next call TakeExpired() and TakePrewarm().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "scheduler/core/keep_alive.h"

namespace flint::scheduler {

using WorkerId = uint64_t;
using InvocationId = uint64_t;

enum class KeepAliveMode { kFixed, kAdaptive };

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
  // `adaptive.cold_start_cost_ms` 0: 3/4 of the policy's fixed keep-alive.
  explicit Pool(PoolPolicy policy, AdaptiveKeepAliveOptions adaptive = {})
      : policy_(policy), adaptive_(WithCost(adaptive, policy.keep_alive_ms)) {}

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
  // A worker that an adaptive window would unload ahead of the predicted call, and whose
  // pre-warm would be due sooner than that, is kept through the window instead (and not offered
  // again until it has run another call): the pre-warm would have to spawn a process, later
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
  // Adaptive keep-alive: true once per arrival when a worker should be pre-warmed now (the
  // predicted window has begun and the pool has no worker). The caller starts one.
  bool TakePrewarm(uint64_t now_ms);
  // When TakePrewarm would next answer true (if nothing arrives before), if ever after
  // `now_ms` (a time <= now_ms: now). With NextExpiry, what a caller's timer waits for.
  std::optional<uint64_t> NextPrewarm(uint64_t now_ms) const;
  // Adaptive keep-alive: start pre-warms this much earlier than the learned windows say (the
  // caller's measure of how long a pre-warm takes to be ready, PrewarmLead), never before the
  // last arrival. A worker that became idle after the (earlier) pre-warm time is kept, not
  // unloaded: when a pre-warm takes as long as the gap, the worker stays from the call on.
  void set_prewarm_lead_ms(uint64_t lead_ms) { prewarm_lead_ms_ = lead_ms; }
  uint64_t prewarm_lead_ms() const { return prewarm_lead_ms_; }
  // The idle worker time this pool's adaptive policy prices one cold start at.
  uint64_t cold_start_cost_ms() const { return adaptive_.cold_start_cost_ms(); }
  // Idle workers that may be evicted for another function (beyond min_instances), each with
  // the time it became idle, least recently used first.
  std::vector<std::pair<WorkerId, uint64_t>> Evictable() const;
  // Removes an idle worker chosen from Evictable(). False if it is not idle in this pool.
  bool Evict(WorkerId worker, uint64_t now_ms);

  // Total time ready workers of this pool have spent idle, up to `now_ms`.
  uint64_t IdleWorkerMs(uint64_t now_ms) const;
  // The keep-alive in force: learned windows for an adaptive pool that has learned, else
  // {learned=false} (the fixed keep_alive_ms applies).
  KeepAliveWindows windows() const;

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
    // TakeExpired found no cheap reload for it: kept until its window ends, not unloaded
    // ahead of it. Cleared when it next becomes idle.
    bool keep_through_window = false;
    bool idle() const { return ready && in_flight == 0; }
  };
  bool NeedsAnotherWorker() const;
  std::vector<InvocationId> FillFromQueue(WorkerId id, Worker& worker);
  // When an idle `worker` expires under the keep-alive policy. `primary`: it is the most
  // recently used ready worker, the one an adaptive window keeps (Primary()).
  uint64_t ExpiryOf(const Worker& worker, bool primary) const;
  WorkerId Primary() const;  // 0 if no worker is ready
  // Learned windows with pre-warming: when the pre-warm is due (the lead applied) and when the
  // window ends, for the last arrival.
  uint64_t PrewarmStart(const KeepAliveWindows& win) const;
  uint64_t WindowEnd(const KeepAliveWindows& win) const;
  // Adds the idle time of `worker` up to `now_ms` if it is idle (it is leaving idleness).
  void EndIdle(const Worker& worker, uint64_t now_ms);
  bool adaptive() const { return policy_.keep_alive_mode == KeepAliveMode::kAdaptive; }
  static AdaptiveKeepAliveOptions WithCost(AdaptiveKeepAliveOptions options,
                                           uint64_t keep_alive_ms) {
    if (options.cold_start_cost_ms == 0) {
      options.cold_start_cost_ms = keep_alive_ms * 3 / 4 > 0 ? keep_alive_ms * 3 / 4 : 1;
    }
    return options;
  }

  PoolPolicy policy_;
  AdaptiveKeepAlive adaptive_;
  bool prewarm_taken_ = false;  // TakePrewarm answered true since the last arrival
  uint64_t prewarm_lead_ms_ = 0;
  uint64_t idle_ms_ = 0;  // idle time of workers no longer idle
  std::map<WorkerId, Worker> workers_;
  std::deque<InvocationId> queue_;
};

}  // namespace flint::scheduler
