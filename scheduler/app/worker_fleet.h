// WorkerFleet: the real Fleet (fleet.h): flint-worker processes started through a
// WorkerSpawner, each in a cgroup of its own when isolation is on.
//
// State: every Worker handle (it owns them; an exited worker is freed on the next Tick), the
// generic pools (per Runtime, the workers pre-warmed for it and those still spawning), the
// deploy-time load checks, NodeCapacity (the memory budget and the charges of assigned
// workers), and per-worker cgroups. It is the Worker::Observer of every worker: what concerns
// a generic or load-check worker it handles itself, what concerns a worker assigned to a pool it
// passes to its Fleet::Observer.
//
// Generic pools size themselves (GenericPoolTarget, scheduler/core): each keeps ready or
// spawning as many workers as the recent takes of one refill time call for, at least
// `FleetOptions::prewarm[runtime]` (0: no pool) and within `prewarm_memory_mb` for all
// runtimes together; a surplus left by a burst is stopped one worker per Tick. Processes are
// spawned off the loop thread (the uv thread pool: a spawn waits until the child has joined its
// cgroups and exec'd, tens of ms on a busy node): a Worker exists, kStarting, from the moment
// the spawn is asked for. A cold start that finds no ready generic worker takes one still
// spawning, the nearest to ready, before it spawns its own. A take schedules a refill for the
// loop's next turn, after the request's LOAD has been sent. The limits a function's cgroup
// gets come from LimitsFor alone; eviction happens in StartWorker (PlanStart and
// EvictForStart), where it costs a SHUTDOWN frame: the evicted worker's exit and cgroup
// removal come later, off the request's path.
//
// Loop thread only. Options' pointers must outlive the fleet.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/app/fleet.h"
#include "scheduler/app/worker.h"
#include "scheduler/core/generic_pool_target.h"
#include "scheduler/core/latency_window.h"
#include "scheduler/core/node_capacity.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/spawn/worker_spawner.h"
#include "sdk/core/runtime.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct FleetOptions {
  std::string worker_path;  // flint-worker
  // Generic workers kept ready per runtime. JS ones hold V8 and an isolate; C++ ones no V8, one
  // thread, a few MB. A cold start takes one of its function's runtime first (a C++ function
  // drops privileges and loads seccomp cheapest with a single thread), else one of another.
  std::array<uint32_t, kRuntimeCount> prewarm = MakePrewarm(1);
  // Memory for generic workers of every runtime (each counted at GenericWorkerMb); 0: an
  // eighth of memory_budget_mb. A pool grows beyond its `prewarm` floor only within it.
  uint64_t prewarm_memory_mb = 0;
  // Spawn on the uv thread pool (flintd); false: on the loop thread, within SpawnWorker (tests
  // whose fake spawner is loop-thread only).
  bool spawn_off_loop = true;
  // Called on the loop thread with each worker start's outcome (cgroup, fork, exec); null: a
  // failure is logged per worker instead. flintd's HealthMonitor logs once per change.
  std::function<void(const Status&)> on_spawn;
  uint64_t load_timeout_ms = 10'000;     // longest a worker may take to start, or a LOAD
  uint64_t memory_budget_mb = 1u << 20;  // for all function workers (NodeCapacity)
  // Isolation (docs/security.md). `cgroups`: one cgroup per worker, limits written at LOAD,
  // usage read for the meter; null: no cgroups. `sandbox`: workers start with --sandbox on and
  // may load code from `code_root` (the code store, absolute) only.
  isolation::Cgroups* cgroups = nullptr;
  // How the cgroups share the CPU (isolation/cgroups.h): weights only, unless asked for quotas.
  isolation::CpuMode cpu_mode = isolation::CpuMode::kWeight;
  bool sandbox = false;
  std::string code_root;

  static constexpr std::array<uint32_t, kRuntimeCount> MakePrewarm(uint32_t each) {
    std::array<uint32_t, kRuntimeCount> out{};
    out.fill(each);
    return out;
  }
};

class WorkerFleet final : public Fleet, private Worker::Observer {
 public:
  // The directory holding a function version's code (its LOAD's code_dir).
  using CodeDirFn = std::function<std::string(const FunctionVersion&)>;

  WorkerFleet(uv_loop_t* loop, FleetOptions options, std::unique_ptr<WorkerSpawner> spawner,
              CodeDirFn code_dir);
  // Kills every worker still running and removes what cgroups it can.
  ~WorkerFleet() override;
  WorkerFleet(const WorkerFleet&) = delete;
  WorkerFleet& operator=(const WorkerFleet&) = delete;

  // Fleet
  void SetObserver(Fleet::Observer* observer) override { observer_ = observer; }
  void Start() override;
  void Tick() override;
  void Refill(bool cold_start_in_flight) override;
  void StopAll() override;
  void SetReservation(const std::string& function, uint64_t reserved_mb) override;
  Placement StartWorker(const FunctionVersion& fn, const std::string& pool_key) override;
  bool Load(WorkerId worker, const FunctionVersion& fn) override;
  void Invoke(WorkerId worker, InvocationId id, const std::string& payload) override;
  void Stop(WorkerId worker) override;
  void Kill(WorkerId worker) override;
  std::vector<InvocationId> InFlight(WorkerId worker) const override;
  std::vector<InvocationId> TakeInFlight(WorkerId worker) override;
  void CheckLoads(const FunctionVersion& fn, std::function<void(Status)> done) override;
  bool Has(WorkerId worker) const override { return workers_.count(worker) > 0; }
  uint64_t HeapUsed(WorkerId worker) const override;
  bool has_cgroups() const override { return options_.cgroups != nullptr; }
  std::optional<isolation::Usage> ReadUsage(WorkerId worker) override;
  uint64_t LoadSentNs(WorkerId worker) const override;
  uint64_t ReloadDelayMs(Runtime runtime) const override;
  FleetStats stats() const override;
  size_t size() const override { return workers_.size(); }

  // The cgroup of worker `id`: "w<id>".
  static std::string CgroupName(WorkerId id) { return "w" + std::to_string(id); }

 private:
  // Pre-warmed workers with no function yet, for one runtime.
  struct GenericPool {
    std::vector<WorkerId> ready;
    std::vector<WorkerId> spawning;  // asked for, not yet HELLO, oldest first
    GenericPoolTarget target;
  };
  struct LoadCheck {
    std::function<void(Status)> done;
    uint64_t deadline_ms = 0;
    protocol::LoadRequest request;
    uint32_t cpu_millis = 0;  // the function's hard CPU quota (FunctionConfig::cpu_millis)
    bool outbound = false;    // the function's network is "outbound"
  };

  // Worker::Observer
  void OnWorkerHello(Worker* worker) override;
  void OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) override;
  void OnWorkerLoadFailed(Worker* worker, const std::string& message) override;
  void OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) override;
  void OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) override;
  void OnWorkerCodeCache(Worker* worker, std::string payload) override;
  void OnWorkerChannelClosed(Worker* worker) override;
  void OnWorkerExit(Worker* worker, const std::string& reason) override;

  GenericPool& GenericFor(Runtime runtime) { return generic_[static_cast<size_t>(runtime)]; }
  Worker* Find(WorkerId id) const;
  // Stops the idle workers NodeCapacity chose for eviction (those their pools still give up).
  void EvictForStart(const std::vector<WorkerId>& victims);
  // A pre-warmed generic worker of `runtime` if one is ready (else of another runtime), else
  // one still spawning (the oldest), else a newly spawned one.
  Result<Worker*> AcquireWorker(Runtime runtime);
  // A worker whose process is spawned off the loop thread (kStarting until then).
  Result<Worker*> SpawnWorker(Runtime runtime);
  // The spawn of worker `id` finished (loop thread).
  void OnSpawned(WorkerId id, Result<SpawnedProcess> spawned);
  // Tops the generic pools up to their targets, a few spawns per turn of the loop.
  void RefillGeneric();
  void RefillSoon();
  // Stops one ready generic worker of each pool above its target (a burst has passed).
  void TrimGeneric();
  // Memory the generic workers (ready and spawning) are counted at.
  uint64_t GenericMemoryMb() const;
  // `worker`: the worker it is for, if known: its runtime's build picks the code cache.
  protocol::LoadRequest MakeLoadRequest(const FunctionVersion& fn,
                                        const Worker* worker = nullptr) const;
  // The limits written into the cgroup of a worker loading a function of `memory_mb` that asks
  // for `cpu_millis` (0: none), on this node's CPU mode.
  isolation::Limits LimitsFor(uint32_t memory_mb, uint32_t cpu_millis) const;
  // Writes the limits into the worker's cgroup, then sends LOAD (kills the worker if the limits
  // cannot be set). `outbound`: the function's network is "outbound"; the LOAD waits until the
  // worker's network is up.
  bool LoadWorker(Worker* worker, const protocol::LoadRequest& request, uint32_t cpu_millis,
                  bool outbound);
  // Removes the worker's cgroup now or, while processes linger in it, on a later Tick.
  void RemoveCgroup(WorkerId id);

  uv_loop_t* loop_;
  FleetOptions options_;
  // Shared with spawns running on the thread pool, which may outlive the fleet.
  std::shared_ptr<WorkerSpawner> spawner_;
  CodeDirFn code_dir_;
  Fleet::Observer* observer_ = nullptr;
  NodeCapacity capacity_;
  uint64_t evictions_ = 0;
  // Expires with the fleet: a spawn that finishes later kills what it started.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  loop::Timer refill_timer_;
  bool refill_due_ = false;
  uint64_t spawn_waits_ = 0;  // cold starts that found no ready generic worker
  bool stopping_ = false;     // StopAll: no refills any more

  std::unordered_map<WorkerId, std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Worker>> dead_workers_;  // freed on the next Tick
  std::array<GenericPool, kRuntimeCount> generic_;
  // V8's code cache of each function version, from its first worker (protocol::CodeCache), for
  // its later workers whose HELLO named the same runtime build. By pool key ("name@version"),
  // at most kCodeCacheBudgetBytes in all. It was made by the function's own code, so it is
  // never given to another function, even one with the same code.
  struct CodeCacheEntry {
    std::string runtime_version;
    std::string payload;
  };
  static constexpr size_t kCodeCacheBudgetBytes = size_t{256} << 20;
  std::unordered_map<std::string, CodeCacheEntry> code_caches_;
  size_t code_cache_bytes_ = 0;
  std::unordered_map<WorkerId, LoadCheck> load_checks_;
  WorkerId next_worker_id_ = 1;
  LatencyWindow generic_spawn_us_ = LatencyWindow(256);  // generic workers: spawn -> HELLO
  std::vector<WorkerId> cgroups_to_remove_;              // cgroups that were still busy
};

}  // namespace flint::scheduler
