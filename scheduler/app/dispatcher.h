// Dispatcher: routes invocations to pooled workers and runs the workers' life cycle.
//
// It owns every Worker, one Pool (scheduler/core) per function version, the invocations in
// flight, and a small set of pre-warmed generic workers (started, V8 ready, no function) that
// turn a cold start into a LOAD instead of a process spawn. Decisions come from Pool (scaling,
// keep-alive, min_instances, adaptive pre-warming) and NodeCapacity (the node's memory budget,
// reservations, which idle workers to evict); the Dispatcher carries them out and answers each
// invocation's HttpResponder exactly once. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/app/log_buffer.h"
#include "scheduler/app/worker.h"
#include "scheduler/core/latency_window.h"
#include "scheduler/core/node_capacity.h"
#include "scheduler/core/pool.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/meter/meter.h"
#include "scheduler/server/http_server.h"
#include "scheduler/spawn/worker_spawner.h"
#include "scheduler/store/store.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct DispatcherOptions {
  std::string worker_path;  // flint-worker
  uint64_t default_keep_alive_ms = 600'000;
  size_t max_queue = 100;              // per function version
  uint64_t queue_timeout_ms = 10'000;  // longest a request waits for a worker
  uint64_t load_timeout_ms = 10'000;   // longest a LOAD may take
  uint32_t prewarm_js = 1;             // generic JS workers kept ready (V8 and an isolate)
  // Generic C++ workers kept ready: no V8, one thread, a few MB. A C++ cold start takes one of
  // these first (dropping privileges and loading seccomp is cheapest with a single thread),
  // else a JS one.
  uint32_t prewarm_cpp = 1;
  uint64_t timeout_grace_ms = 1'000;  // past a function's timeout before flintd kills the worker
  // Records every invocation before its response is sent (docs/billing.md); null: metering off.
  // Must outlive the Dispatcher.
  meter::Meter* meter = nullptr;
  uint64_t memory_budget_mb = 1u << 20;  // for all function workers (NodeCapacity)
  KeepAliveMode default_keep_alive_mode = KeepAliveMode::kFixed;
  // Isolation (docs/security.md). `cgroups`: one cgroup per worker, limits written at LOAD,
  // CPU time and peak memory read into the meter's records; null: no cgroups. Must outlive the
  // Dispatcher. `sandbox`: workers start with --sandbox on and may load code from `code_root`
  // (the code store, absolute) only. `isolation_off`: flintd runs with --no-isolation, and every
  // response carries an x-flint-warning header saying so.
  isolation::Cgroups* cgroups = nullptr;
  bool sandbox = false;
  std::string code_root;
  bool isolation_off = false;
};

struct PoolStatus {
  std::string name;
  uint32_t version = 0;
  PoolCounts counts;
  uint64_t invocations = 0;
  uint64_t cold_starts = 0;
  uint64_t errors = 0;
  uint64_t throttles = 0;
  uint64_t evictions = 0;          // workers of this pool evicted for another function
  uint64_t idle_worker_ms = 0;     // time its ready workers spent idle
  uint64_t cold_start_p50_us = 0;  // request needing a worker -> LOADED, recent samples
  uint64_t cold_start_p99_us = 0;
  uint64_t cpu_us = 0;             // CPU time of its invocations, from the cgroups when isolated
  uint64_t peak_memory_bytes = 0;  // the highest peak memory of one of its workers
  uint32_t memory_mb = 0;
  uint32_t min_instances = 0;
  bool adaptive = false;       // keep-alive policy in force
  uint64_t keep_alive_ms = 0;  // the fixed keep-alive (also the adaptive fallback)
  KeepAliveWindows windows;    // adaptive: what it has learned
  std::string blocked;         // why a waiting request has no worker yet ("" if none)
};

struct NodeStatus {
  uint64_t memory_budget_mb = 0;
  uint64_t memory_used_mb = 0;
  uint64_t memory_reserved_mb = 0;
  uint64_t workers = 0;         // every worker process, generic ones included
  uint64_t generic_ready = 0;   // pre-warmed workers waiting for a function
  uint64_t idle_worker_ms = 0;  // all pools, including removed ones
  uint64_t evictions = 0;
  uint64_t cold_starts = 0;
  uint64_t invocations = 0;
};

class Dispatcher final : public Worker::Observer {
 public:
  using CodeDirFn = std::function<std::string(const FunctionVersion&)>;
  using LoadDone = std::function<void(Status)>;

  Dispatcher(uv_loop_t* loop, DispatcherOptions options, std::unique_ptr<WorkerSpawner> spawner,
             CodeDirFn code_dir);
  ~Dispatcher() override;

  // Starts housekeeping and the pre-warmed workers.
  void Start();

  // Makes `fn` the live version of its function. Older versions stop taking new requests; their
  // in-flight requests finish there.
  void SetLive(std::shared_ptr<const FunctionVersion> fn);
  // Removes a function: new requests get 404; in-flight ones finish.
  void Remove(const std::string& name);
  std::shared_ptr<const FunctionVersion> FindLive(const std::string& name) const;

  // Runs `fn` for an HTTP request; `rest_path` is the path after /fn/NAME ("/" at least).
  void Invoke(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
              std::string rest_path, HttpResponder responder);

  // The outcome of an event invocation (InvokeEvent). `ran`: it reached a worker (false: its
  // pool's queue timed out or flintd is shutting down; callers retry without counting an
  // attempt). `body`: the function's response body when ok, flintd's error JSON otherwise.
  struct EventResult {
    bool ran = false;
    bool ok = false;
    meter::Outcome outcome = meter::Outcome::kOk;
    std::string body;
  };
  using EventDone = std::function<void(EventResult)>;
  // Runs `fn` for an async event (trigger async, cron or topic): `payload` is the event's JSON,
  // given to the handler as `event`; `event_id` reaches it as the header x-flint-event-id. The
  // invocation is metered with `trigger`. Returns an error (TooManyRequests when the pool's
  // queue is full, Unavailable when shutting down) and never calls `done`; or Ok and calls
  // `done` exactly once, later, once the meter has the record.
  Status InvokeEvent(const std::shared_ptr<const FunctionVersion>& fn, const std::string& event_id,
                     std::string payload, meter::Trigger trigger, EventDone done);

  // Loads `fn` in a fresh worker to check it (syntax errors, missing handler) without serving
  // it, then stops that worker. `done` is called exactly once.
  void CheckLoads(const FunctionVersion& fn, LoadDone done);

  std::vector<PoolStatus> PoolStatuses(const std::string& name) const;
  // Every pool, by name then version (newest first).
  std::vector<PoolStatus> AllPoolStatuses() const;
  NodeStatus Node() const;
  const LogBuffer& logs() const { return logs_; }
  size_t worker_count() const { return workers_.size(); }

  // Refuses new invocations, waits for those in flight, stops every worker, then calls `done`.
  void Shutdown(std::function<void()> done);

 private:
  struct PoolEntry {
    std::shared_ptr<const FunctionVersion> fn;
    Pool pool;
    bool draining = false;
    uint32_t start_failures = 0;  // consecutive workers that died before LOADED
    uint64_t invocations = 0, cold_starts = 0, errors = 0, throttles = 0, evictions = 0;
    uint64_t cpu_us = 0;             // metered CPU time of its invocations (cgroup figures)
    uint64_t peak_memory_bytes = 0;  // the highest peak memory any of its workers reached
    LatencyWindow cold_latency = LatencyWindow();  // microseconds
    // Workers started and not yet loaded: when, and whether for a request (their load time is
    // a cold start's latency) or ahead of one (a pre-warm or min_instances: the pre-warm lead).
    struct Start {
      uint64_t ns;
      bool for_request;
    };
    std::unordered_map<WorkerId, Start> starts = {};
    std::string blocked = {};  // why the last attempt to start a worker had to wait
  };
  struct Invocation {
    HttpResponder responder;
    std::string pool_key;
    std::string request_id;
    HttpRequest request;  // moved into the INVOKE when dispatched
    std::string rest_path;
    uint64_t deadline_ms = 0;  // monotonic: queue timeout while queued, backstop while running
    WorkerId worker = 0;
    bool cold = false;
    // For the meter: the function, when the request arrived and was dispatched, init time.
    std::shared_ptr<const FunctionVersion> fn = nullptr;
    int64_t received_ms = 0;
    uint64_t received_ns = 0;
    uint64_t dispatched_ns = 0;
    uint64_t loaded_ns = 0;  // cold: when its worker's LOADED arrived
    uint64_t init_us = 0;
    // Events (InvokeEvent): answered through `event_done` instead of `responder`.
    EventDone event_done = nullptr;
    meter::Trigger trigger = meter::Trigger::kHttp;
    std::string event_id = {};
  };
  struct LoadCheck {
    LoadDone done;
    uint64_t deadline_ms = 0;
    protocol::LoadRequest request;
    bool outbound = false;  // the function's network is "outbound"
  };

  // Worker::Observer
  void OnWorkerHello(Worker* worker) override;
  void OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) override;
  void OnWorkerLoadFailed(Worker* worker, const std::string& message) override;
  void OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) override;
  void OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) override;
  void OnWorkerChannelClosed(Worker* worker) override;
  void OnWorkerExit(Worker* worker, const std::string& reason) override;

  PoolEntry& PoolFor(const std::shared_ptr<const FunctionVersion>& fn);
  // A pre-warmed generic worker of `runtime` if one is ready, else a newly spawned one.
  Result<Worker*> AcquireWorker(const std::string& runtime);
  Result<Worker*> SpawnWorker(const std::string& runtime);
  // Starts a worker for the pool if the node's memory allows (evicting idle workers of other
  // functions when needed). `for_request`: a request waits for it (a cold start; its latency is
  // recorded, and a function that can never fit fails the queue with 503). False if not started.
  bool StartWorkerFor(const std::string& key, PoolEntry& entry, bool for_request = true);
  void EvictWorker(WorkerId worker);
  PoolStatus StatusOf(const PoolEntry& entry) const;
  // Housekeeping for scaling: min_instances, adaptive pre-warming, requests waiting for memory.
  void ScalePools();
  void Dispatch(InvocationId id, Worker* worker, bool cold);
  // Answers an invocation after recording it with the meter. `outcome` unset: ok, or for an
  // error crash if it was dispatched and throttled (never ran) if not. `measured`: the worker's
  // {duration_us, cpu_us}; unset, the duration is the time since dispatch as flintd saw it.
  void Finish(InvocationId id, HttpResponse response, bool error,
              std::optional<meter::Outcome> outcome = std::nullopt,
              std::optional<std::pair<uint64_t, uint64_t>> measured = std::nullopt);
  // Sends `response` once `record` is in the meter's journal (at once unless it is full).
  void SendMetered(HttpResponder& responder, HttpResponse response,
                   const meter::InvocationRecord& record);
  void FailQueue(PoolEntry& entry, const flint::Status& why);
  void RefillGeneric();
  // How much longer than a LOAD starting a worker now would take: 0 while a pre-warmed generic
  // worker is ready, else the wait for a refill and a spawn (recent spawns' p90).
  uint64_t ReloadDelayMs() const;
  // Fewer than half of the wanted pre-warmed workers (of either runtime) are ready or spawning.
  bool GenericLow() const;
  void Housekeeping();
  // Keep-alive expiry and adaptive pre-warming on time, not at housekeeping's 100 ms grain:
  // ArmScaleTimer brings the timer forward to `entry`'s next deadline (after its events);
  // OnScaleTimer stops expired workers, starts pre-warms, and re-arms for the next deadline.
  void ArmScaleTimer(const PoolEntry& entry);
  void OnScaleTimer();
  protocol::LoadRequest MakeLoadRequest(const FunctionVersion& fn) const;
  // Writes the function's limits into the worker's cgroup, then sends LOAD (kills the worker
  // if the limits cannot be set: it must never run a function unconfined). `outbound`: the
  // function's network is "outbound"; the LOAD waits until the worker's network is up.
  void LoadWorker(Worker* worker, const protocol::LoadRequest& request, bool outbound);
  // The same for function `fn` (its LoadRequest and network).
  void LoadWorker(Worker* worker, const FunctionVersion& fn);
  // Removes the worker's cgroup now or, while processes linger in it, on a later housekeeping.
  void RemoveCgroup(WorkerId id);
  static std::string CgroupName(WorkerId id) { return "w" + std::to_string(id); }
  uint64_t KeepAliveOf(const FunctionVersion& fn) const;
  PoolPolicy PolicyOf(const FunctionVersion& fn) const;
  static std::string KeyOf(const FunctionVersion& fn);
  uint64_t NowMs() const { return uv_now(loop_); }

  uv_loop_t* loop_;
  DispatcherOptions options_;
  std::unique_ptr<WorkerSpawner> spawner_;
  CodeDirFn code_dir_;
  loop::Timer housekeeping_;
  loop::Timer scale_timer_;
  uint64_t scale_due_ms_ = 0;  // when scale_timer_ fires; 0: not armed
  NodeCapacity capacity_;
  uint64_t retired_idle_ms_ = 0;  // idle worker-ms of pools already removed
  uint64_t retired_cold_starts_ = 0, retired_invocations_ = 0;
  uint64_t evictions_ = 0;

  std::unordered_map<std::string, std::shared_ptr<const FunctionVersion>> live_;
  std::unordered_map<std::string, std::unique_ptr<PoolEntry>> pools_;  // by "name@version"
  std::unordered_map<WorkerId, std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Worker>> dead_workers_;  // destroyed on the next housekeeping
  // kGeneric workers with no function yet, per runtime they pre-warmed ("js", "cpp").
  struct GenericPool {
    std::vector<WorkerId> ready;
    size_t spawning = 0;  // spawned but not yet HELLO
  };
  GenericPool& GenericFor(const std::string& runtime) {
    return runtime == "cpp" ? generic_cpp_ : generic_js_;
  }
  GenericPool generic_js_;
  GenericPool generic_cpp_;
  std::unordered_map<WorkerId, LoadCheck> load_checks_;
  std::unordered_map<InvocationId, Invocation> invocations_;
  LogBuffer logs_;
  WorkerId next_worker_id_ = 1;
  InvocationId next_invocation_id_ = 1;
  uint32_t refill_deferrals_ = 0;  // housekeeping passes that put off RefillGeneric
  // How long workers started ahead of a request took to load (PoolEntry::starts): sets the
  // adaptive pools' pre-warm lead.
  PrewarmLead prewarm_lead_;
  LatencyWindow generic_spawn_us_ = LatencyWindow(256);  // generic workers: spawn -> HELLO
  // Per worker, what the meter last read from its cgroup (Finish reads it at most once per
  // kCgroupUsageIntervalMs) and the handler CPU metered since.
  struct CgroupUsageSample {
    uint64_t read_ns = 0;
    uint64_t cpu_us = 0;          // the cgroup's CPU time at the read
    uint64_t metered_cpu_us = 0;  // handler CPU in the records since the read
    uint64_t peak_memory_bytes = 0;
  };
  std::unordered_map<WorkerId, CgroupUsageSample> cgroup_cpu_us_;
  std::vector<WorkerId> cgroups_to_remove_;  // cgroups that were still busy
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
};

}  // namespace flint::scheduler
