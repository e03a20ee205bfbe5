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
//  - starting + ready workers never exceed max_instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace flint::scheduler {

using WorkerId = uint64_t;
using InvocationId = uint64_t;

struct PoolPolicy {
  uint32_t max_instances = 10;
  uint32_t concurrency = 1;          // invocations one worker runs at once
  uint64_t keep_alive_ms = 600'000;  // idle time before a worker is stopped
  size_t max_queue = 100;            // waiting requests beyond which Admit rejects
};

struct PoolCounts {
  uint32_t starting = 0;
  uint32_t idle = 0;  // ready, running nothing
  uint32_t busy = 0;  // ready, running at least one invocation
  size_t queued = 0;
};

class Pool {
 public:
  explicit Pool(PoolPolicy policy) : policy_(policy) {}

  struct Admission {
    enum class Kind { kDispatch, kQueued, kRejected } kind;
    WorkerId worker = 0;        // kDispatch: send the invocation to this worker now
    bool start_worker = false;  // kQueued: the caller should start one worker (AddStarting)
  };
  // A request arrives. Prefers the most recently used ready worker with spare capacity (warm
  // caches, and it lets the others age out).
  Admission Admit(InvocationId id, uint64_t now_ms);

  // A worker the caller started on the pool's request (or handed over already loaded).
  void AddStarting(WorkerId worker);
  // The worker finished loading. Returns the queued invocations to dispatch to it now.
  std::vector<InvocationId> WorkerReady(WorkerId worker, uint64_t now_ms);
  // An invocation on `worker` finished. Returns queued invocations to dispatch to it now.
  std::vector<InvocationId> InvocationDone(WorkerId worker, uint64_t now_ms);
  // A worker is gone (exited, crashed, failed to load, or stopped by the caller). Its
  // invocations are the caller's to fail. Returns true when the queue still needs a worker and
  // the caller should start one (AddStarting).
  bool WorkerGone(WorkerId worker);
  // Removes a queued invocation (its client left or it waited too long). False if not queued.
  bool Cancel(InvocationId id);
  // Drops every queued invocation and returns them (for a pool being discarded).
  std::vector<InvocationId> TakeQueue();

  // Idle workers whose keep-alive has passed at `now_ms`, oldest first. They are removed from
  // the pool; the caller stops them.
  std::vector<WorkerId> TakeExpired(uint64_t now_ms);
  // Idle workers, removed from the pool (for draining an old version).
  std::vector<WorkerId> TakeIdle();
  // When the next idle worker expires, if any.
  std::optional<uint64_t> NextExpiry() const;

  PoolCounts counts() const;
  bool empty() const { return workers_.empty() && queue_.empty(); }
  const PoolPolicy& policy() const { return policy_; }
  void set_policy(const PoolPolicy& policy) { policy_ = policy; }

 private:
  struct Worker {
    bool ready = false;
    uint32_t in_flight = 0;
    uint64_t last_used_ms = 0;
  };
  bool NeedsAnotherWorker() const;
  std::vector<InvocationId> FillFromQueue(WorkerId id, Worker& worker);

  PoolPolicy policy_;
  std::map<WorkerId, Worker> workers_;
  std::deque<InvocationId> queue_;
};

}  // namespace flint::scheduler
