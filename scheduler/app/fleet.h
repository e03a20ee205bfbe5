// Fleet: the worker processes of one flintd, as the Dispatcher sees them.
//
// The fleet owns every worker process and what belongs to a process rather than to a function's
// pool: the pre-warmed generic workers of each runtime (started, no function yet), spawning,
// LOAD, the per-worker cgroup (created before the spawn, limits written at LOAD, removed after
// the exit), the node's memory budget (NodeCapacity: every worker assigned to a function is
// charged from StartWorker until Stop or its exit) with the eviction it decides, and deploy-time
// load checks. The Dispatcher owns the pools and the invocations and addresses workers by id
// only; it learns what happens to the workers it was given through Fleet::Observer.
//
// WorkerFleet (worker_fleet.h) is the real fleet; tests substitute a fake. Loop thread only.
// Calls into a Fleet never call the Observer back before they return, except StartWorker
// (Observer::Evict, for workers of other functions).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/core/node_capacity.h"
#include "scheduler/core/pool.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/store/function_version.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::scheduler {

// How often the Dispatcher's housekeeping runs, and with it Fleet::Tick and Fleet::Refill.
inline constexpr uint64_t kHousekeepingMs = 100;

// How a worker assigned to a pool ended.
struct WorkerExit {
  std::string reason;  // "signal SIGSEGV (11)", "exit code 3"
  // The kernel killed a process of the worker for its cgroup's memory limit, or the worker
  // exited with its out-of-memory code (protocol::kWorkerExitOutOfMemory).
  bool oom = false;
  // Invocations sent to it and never answered: the observer fails them.
  std::vector<InvocationId> in_flight;
};

// The node as the fleet sees it, for NodeStatus.
struct FleetStats {
  uint64_t workers = 0;           // every worker process not yet exited, generic ones included
  uint64_t generic_ready = 0;     // pre-warmed workers waiting for a function
  uint64_t generic_spawning = 0;  // pre-warmed workers still starting
  uint64_t generic_target = 0;    // what the generic pools are sized to now (all runtimes)
  uint64_t spawn_waits = 0;       // cold starts that found no pre-warmed worker ready
  uint64_t memory_budget_mb = 0;
  uint64_t memory_used_mb = 0;
  uint64_t memory_reserved_mb = 0;
  uint64_t evictions = 0;  // idle workers stopped to make room for another function
};

class Fleet {
 public:
  // What the fleet reports about the workers it assigned to a pool (`pool_key`,
  // "name@version"), and what it needs from the pools to evict. Generic workers and load-check
  // workers are the fleet's own business: the observer never hears of them.
  class Observer {
   public:
    virtual ~Observer() = default;
    // A worker started by a spawn for the pool said HELLO: the observer loads it (Fleet::Load)
    // or stops it.
    virtual void OnWorkerHello(WorkerId worker, const std::string& pool_key) = 0;
    virtual void OnWorkerLoaded(WorkerId worker, const std::string& pool_key,
                                const protocol::Loaded& loaded) = 0;
    // The LOAD failed (the worker is being killed). `pipelined`: the invocations sent behind the
    // LOAD, which never ran. The fleet releases the worker's memory after this returns.
    virtual void OnWorkerLoadFailed(WorkerId worker, const std::string& pool_key,
                                    const std::string& message,
                                    std::vector<InvocationId> pipelined) = 0;
    virtual void OnWorkerResult(WorkerId worker, const std::string& pool_key, InvocationId id,
                                protocol::InvokeResult result) = 0;
    virtual void OnWorkerLog(WorkerId worker, const std::string& pool_key, InvocationId id,
                             protocol::LogLine line) = 0;
    // The worker closed its channel: it is exiting (OnWorkerExit follows within moments).
    // Nothing new may be sent to it meanwhile.
    virtual void OnWorkerChannelClosed(WorkerId worker, const std::string& pool_key) = 0;
    // The process is gone and reaped. Its memory is released already (so a replacement may be
    // started from here); its cgroup still exists until this returns (its usage is readable).
    virtual void OnWorkerExit(WorkerId worker, const std::string& pool_key, WorkerExit exit) = 0;
    // Idle workers the pools could give up for another function (min_instances excluded).
    virtual std::vector<EvictionCandidate> EvictionCandidates() const = 0;
    // Takes `worker`, an eviction candidate, out of its pool. False if it is no longer idle
    // there; the fleet then leaves it alone.
    virtual bool Evict(WorkerId worker, const std::string& pool_key) = 0;
  };

  virtual ~Fleet() = default;

  // `observer` must outlive the fleet; set once, before Start.
  virtual void SetObserver(Observer* observer) = 0;
  // Starts the pre-warmed generic workers.
  virtual void Start() = 0;
  // Periodic work, every kHousekeepingMs: frees exited workers, retries removing cgroups that
  // were busy, kills workers that did not start or load within the load timeout, fails load
  // checks past it.
  virtual void Tick() = 0;
  // Tops up the generic pools. `cold_start_in_flight`: a cold start is being answered, which a
  // spawn (it blocks the loop) would delay; the fleet may put the refill off a few passes.
  virtual void Refill(bool cold_start_in_flight) = 0;
  // Shutting down: asks every worker to exit (generic ones included).
  virtual void StopAll() = 0;

  // Memory held for `function` only (NodeCapacity::SetReservation).
  virtual void SetReservation(const std::string& function, uint64_t reserved_mb) = 0;

  struct Placement {
    enum class Kind {
      kStarted,  // `worker` is `fn`'s, charged; LOAD it now if `loadable`, else at its HELLO
      kWait,     // no memory now (busy or protected workers hold it): `reason`
      kNever,    // the function can never fit: `reason`
      kFailed,   // no worker could be started: `reason`
    } kind = Kind::kStarted;
    WorkerId worker = 0;
    bool loadable = false;  // a pre-warmed generic worker: Load may be called at once
    std::string reason;
  };
  // A worker for pool `pool_key` of `fn`, if the node's memory allows, evicting idle workers of
  // other functions (Observer::Evict) when that makes it fit: a pre-warmed generic worker (of
  // fn's runtime if one is ready, else of another), else a newly spawned process.
  virtual Placement StartWorker(const FunctionVersion& fn, const std::string& pool_key) = 0;
  // Writes fn's limits into the worker's cgroup and sends LOAD (held back while an outbound
  // network comes up). False when the LOAD was not sent: the limits could not be set, and the
  // worker is being killed (it must never run a function unconfined).
  virtual bool Load(WorkerId worker, const FunctionVersion& fn) = 0;
  // Sends INVOKE `id` (right behind the LOAD while loading).
  virtual void Invoke(WorkerId worker, InvocationId id, const std::string& payload) = 0;
  // Releases the worker's memory and asks it to exit (SIGKILL after a second).
  virtual void Stop(WorkerId worker) = 0;
  // SIGKILLs the worker now; its exit is still reported.
  virtual void Kill(WorkerId worker) = 0;
  // The invocations sent to `worker` and not answered yet; Take also forgets them (a RESULT
  // for one of them is then dropped).
  virtual std::vector<InvocationId> InFlight(WorkerId worker) const = 0;
  virtual std::vector<InvocationId> TakeInFlight(WorkerId worker) = 0;

  // Loads `fn` in a worker of its own to check it (syntax errors, missing handler), then stops
  // that worker. `done` is called exactly once: at once when no worker can be started, else
  // later.
  virtual void CheckLoads(const FunctionVersion& fn, std::function<void(Status)> done) = 0;

  // What the meter reads about a worker. `Has`: the worker has not exited (it still has while
  // Observer::OnWorkerExit runs). HeapUsed: its last STATS (0 before any). ReadUsage: its cgroup's
  // figures (nullopt without cgroups or when they cannot be read). LoadSentNs: when its LOAD was
  // sent (0 before).
  virtual bool Has(WorkerId worker) const = 0;
  virtual uint64_t HeapUsed(WorkerId worker) const = 0;
  virtual bool has_cgroups() const = 0;
  virtual std::optional<isolation::Usage> ReadUsage(WorkerId worker) = 0;
  virtual uint64_t LoadSentNs(WorkerId worker) const = 0;

  // How much longer than a LOAD a worker for a function of `runtime` started now would take to
  // be ready: 0 while a pre-warmed generic worker that can load it is ready, else the wait for
  // a refill and a spawn.
  virtual uint64_t ReloadDelayMs(Runtime runtime) const = 0;
  virtual FleetStats stats() const = 0;
  // Worker processes that have not exited yet.
  virtual size_t size() const = 0;
};

}  // namespace flint::scheduler
