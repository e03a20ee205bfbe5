// Dispatcher: routes invocations to pooled workers and carries out the pools' decisions.
//
// It owns one Pool (scheduler/core) per function version, the live version of each function,
// and the invocations in flight, and answers each invocation's HttpResponder (or EventDone)
// exactly once, after the meter has its record (meter/record_builder.h builds it). Decisions
// come from Pool (admission, queueing, scaling, keep-alive, min_instances, adaptive
// pre-warming); the Dispatcher carries them out through the Fleet (fleet.h), which owns the
// worker processes, the generic pre-warmed workers, LOAD, cgroups and the node's memory budget,
// and reports back through Fleet::Observer. How a worker's RESULT becomes a response is
// result_response.h's.
//
// Timers: housekeeping every kHousekeepingMs (deadlines of queued and running invocations,
// keep-alive and draining, min_instances, waiting requests, the fleet's Tick and Refill, the
// end of a shutdown) and the scale timer, which acts on keep-alive expiry and adaptive
// pre-warms on time rather than at housekeeping's grain.
//
// Loop thread only. The fleet and the meter must outlive the Dispatcher.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/app/fleet.h"
#include "scheduler/app/log_buffer.h"
#include "scheduler/core/keep_alive.h"
#include "scheduler/core/latency_window.h"
#include "scheduler/core/pool.h"
#include "scheduler/core/trace_context.h"
#include "scheduler/meter/meter.h"
#include "scheduler/meter/record_builder.h"
#include "scheduler/metrics/registry.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/function_version.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct DispatcherOptions {
  uint64_t default_keep_alive_ms = 600'000;
  size_t max_queue = 100;              // per function version
  uint64_t queue_timeout_ms = 10'000;  // longest a request waits for a worker
  uint64_t timeout_grace_ms = 1'000;   // past a function's timeout before flintd kills the worker
  // Records every invocation before its response is sent (docs/billing.md); null: metering off.
  meter::Meter* meter = nullptr;
  KeepAliveMode default_keep_alive_mode = KeepAliveMode::kFixed;
  // flintd runs with --no-isolation: every response carries an x-flint-warning header saying so.
  bool isolation_off = false;
  // Counts every answered invocation and cold start for /metrics (docs/observability.md);
  // null: not counted. Must outlive the Dispatcher.
  metrics::Registry* metrics = nullptr;
};

// A registry for DispatcherOptions::metrics whose outcome labels are meter::Outcome's names.
std::unique_ptr<metrics::Registry> NewInvocationMetrics();

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
  uint64_t workers = 0;           // every worker process, generic ones included
  uint64_t generic_ready = 0;     // pre-warmed workers waiting for a function
  uint64_t generic_spawning = 0;  // pre-warmed workers still starting
  uint64_t generic_target = 0;    // the generic pools' size now (all runtimes)
  uint64_t spawn_waits = 0;       // cold starts that found no pre-warmed worker ready
  uint64_t idle_worker_ms = 0;    // all pools, including removed ones
  uint64_t evictions = 0;
  uint64_t cold_starts = 0;
  uint64_t invocations = 0;
};

class Dispatcher final : private Fleet::Observer {
 public:
  using LoadDone = std::function<void(Status)>;

  // `fleet` must outlive the Dispatcher; the Dispatcher becomes its observer.
  Dispatcher(uv_loop_t* loop, DispatcherOptions options, Fleet* fleet);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

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
  void CheckLoads(const FunctionVersion& fn, LoadDone done) {
    fleet_->CheckLoads(fn, std::move(done));
  }

  std::vector<PoolStatus> PoolStatuses(const std::string& name) const;
  // Every pool, by name then version (newest first).
  std::vector<PoolStatus> AllPoolStatuses() const;
  NodeStatus Node() const;
  const LogBuffer& logs() const { return logs_; }
  size_t worker_count() const { return fleet_->size(); }

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
    // Its series in options_.metrics (null: not counted), held so the warm path looks up none.
    std::shared_ptr<metrics::FunctionMetrics> metrics = nullptr;
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
    // Its W3C trace context (trace_context.h): sent to the function as the traceparent header,
    // written with its log lines, echoed in the response.
    TraceContext trace = {};
  };

  // Fleet::Observer
  void OnWorkerHello(WorkerId worker, const std::string& pool_key) override;
  void OnWorkerLoaded(WorkerId worker, const std::string& pool_key,
                      const protocol::Loaded& loaded) override;
  void OnWorkerLoadFailed(WorkerId worker, const std::string& pool_key, const std::string& message,
                          std::vector<InvocationId> pipelined) override;
  void OnWorkerResult(WorkerId worker, const std::string& pool_key, InvocationId id,
                      protocol::InvokeResult result) override;
  void OnWorkerLog(WorkerId worker, const std::string& pool_key, InvocationId id,
                   protocol::LogLine line) override;
  void OnWorkerChannelClosed(WorkerId worker, const std::string& pool_key) override;
  void OnWorkerExit(WorkerId worker, const std::string& pool_key, WorkerExit exit) override;
  std::vector<EvictionCandidate> EvictionCandidates() const override;
  bool Evict(WorkerId worker, const std::string& pool_key) override;

  PoolEntry& PoolFor(const std::shared_ptr<const FunctionVersion>& fn);
  // Starts a worker for the pool through the fleet if the node's memory allows. `for_request`:
  // a request waits for it (a cold start; its latency is recorded, and a function that can
  // never fit fails the queue with 503). False if not started.
  bool StartWorkerFor(const std::string& key, PoolEntry& entry, bool for_request = true);
  // LOADs a worker the fleet gave the pool and sends the waiting requests right behind the
  // LOAD (no round trip for LOADED).
  void LoadAndPipeline(WorkerId worker, PoolEntry& entry);
  PoolStatus StatusOf(const PoolEntry& entry) const;
  void Dispatch(InvocationId id, WorkerId worker, bool cold);
  // Answers an invocation after recording it with the meter. `outcome` unset: ok, or for an
  // error crash if it was dispatched and throttled (never ran) if not. `measured`: the worker's
  // own figures (its RESULT); unset, the duration is the time since dispatch as flintd saw it.
  void Finish(InvocationId id, HttpResponse response, bool error,
              std::optional<meter::Outcome> outcome = std::nullopt,
              std::optional<meter::Measured> measured = std::nullopt);
  // Sends `response` once `record` is in the meter's journal (at once unless it is full).
  void SendMetered(HttpResponder& responder, HttpResponse response,
                   const meter::InvocationRecord& record);
  void FailQueue(PoolEntry& entry, const flint::Status& why);
  // JS is stopped inside the worker at its timeout; native code cannot be, so flintd kills the
  // worker as soon as the timeout passes (housekeeping runs every kHousekeepingMs).
  uint64_t RunDeadlineMs(const FunctionVersion& fn) const;

  // Scaling: carrying out the pools' decisions on time.
  void Housekeeping();
  // Requests that waited too long for a worker, and workers that outlived their function's
  // timeout by the grace period (the backstop for a worker that cannot stop itself).
  void ExpireDeadlines(uint64_t now);
  // min_instances, adaptive pre-warming, requests waiting for memory.
  void ScalePools();
  // A C++ worker finished its running invocation: the next one sent to it starts, and its run
  // deadline with it.
  void StartNextNative(WorkerId worker, const FunctionVersion& fn);
  // Invocations a stopped worker never started go back to their pool's queue.
  void Requeue(WorkerId worker, const std::vector<InvocationId>& ids);
  // A JS worker serving several invocations at once still answers: the backstop of one of them
  // waits (see ExpireDeadlines).
  bool Progressing(const Invocation& inv, uint64_t now_ms) const;
  // Keep-alive expiry and adaptive pre-warming on time, not at housekeeping's grain:
  // ArmScaleTimer brings the timer forward to `entry`'s next deadline (after its events);
  // OnScaleTimer stops expired workers, starts pre-warms, and re-arms for the next deadline.
  void ArmScaleTimer(const PoolEntry& entry);
  void OnScaleTimer();
  uint64_t KeepAliveOf(const FunctionVersion& fn) const;
  PoolPolicy PolicyOf(const FunctionVersion& fn) const;
  static std::string KeyOf(const FunctionVersion& fn);
  uint64_t NowMs() const { return uv_now(loop_); }

  uv_loop_t* loop_;
  DispatcherOptions options_;
  Fleet* fleet_;
  loop::Timer housekeeping_;
  loop::Timer scale_timer_;
  uint64_t scale_due_ms_ = 0;     // when scale_timer_ fires; 0: not armed
  uint64_t retired_idle_ms_ = 0;  // idle worker-ms of pools already removed
  uint64_t retired_cold_starts_ = 0, retired_invocations_ = 0;

  std::unordered_map<std::string, std::shared_ptr<const FunctionVersion>> live_;
  std::unordered_map<std::string, std::unique_ptr<PoolEntry>> pools_;  // by "name@version"
  std::unordered_map<InvocationId, Invocation> invocations_;
  LogBuffer logs_;
  InvocationId next_invocation_id_ = 1;
  // How long workers started ahead of a request took to load (PoolEntry::starts): sets the
  // adaptive pools' pre-warm lead.
  PrewarmLead prewarm_lead_;
  // The cgroup figures of each worker, for the meter's records.
  meter::WorkerUsage usage_;
  // C++ workers run the invocations sent to them one after another (a function's concurrency
  // above 1 queues them at the worker): per worker, whether one runs and those waiting behind
  // it, in order. Only the running one has a run deadline.
  struct NativeQueue {
    bool running = false;
    std::deque<InvocationId> waiting;
  };
  std::unordered_map<WorkerId, NativeQueue> native_queues_;
  // When each JS worker serving several invocations at once last answered one (loop ms).
  std::unordered_map<WorkerId, uint64_t> last_result_ms_;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
  // Random trace and span ids (not secrets: a trace id only groups spans).
  std::mt19937_64 trace_random_{std::random_device{}()};
  RandomBits trace_bits_ = [this] { return trace_random_(); };
};

}  // namespace flint::scheduler
