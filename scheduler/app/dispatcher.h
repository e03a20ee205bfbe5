// Dispatcher: routes invocations to pooled workers and runs the workers' life cycle.
//
// It owns every Worker, one Pool (scheduler/core) per function version, the invocations in
// flight, and a small set of pre-warmed generic workers (started, V8 ready, no function) that
// turn a cold start into a LOAD instead of a process spawn. Decisions come from Pool; the
// Dispatcher carries them out and answers each invocation's HttpResponder exactly once.
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/app/log_buffer.h"
#include "scheduler/app/worker.h"
#include "scheduler/core/pool.h"
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
  uint32_t prewarm_js = 1;             // generic JS workers kept ready
  uint64_t timeout_grace_ms = 1'000;   // past a function's timeout before flintd kills the worker
};

struct PoolStatus {
  uint32_t version = 0;
  PoolCounts counts;
  uint64_t invocations = 0;
  uint64_t cold_starts = 0;
  uint64_t errors = 0;
  uint64_t throttles = 0;
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

  // Loads `fn` in a fresh worker to check it (syntax errors, missing handler) without serving
  // it, then stops that worker. `done` is called exactly once.
  void CheckLoads(const FunctionVersion& fn, LoadDone done);

  std::vector<PoolStatus> PoolStatuses(const std::string& name) const;
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
    uint64_t invocations = 0, cold_starts = 0, errors = 0, throttles = 0;
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
  };
  struct LoadCheck {
    LoadDone done;
    uint64_t deadline_ms = 0;
    protocol::LoadRequest request;
  };

  // Worker::Observer
  void OnWorkerHello(Worker* worker) override;
  void OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) override;
  void OnWorkerLoadFailed(Worker* worker, const std::string& message) override;
  void OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) override;
  void OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) override;
  void OnWorkerExit(Worker* worker, const std::string& reason) override;

  PoolEntry& PoolFor(const std::shared_ptr<const FunctionVersion>& fn);
  // A pre-warmed generic worker of `runtime` if one is ready, else a newly spawned one.
  Result<Worker*> AcquireWorker(const std::string& runtime);
  Result<Worker*> SpawnWorker(const std::string& runtime);
  void StartWorkerFor(const std::string& key, PoolEntry& entry);
  void Dispatch(InvocationId id, Worker* worker, bool cold);
  void Finish(InvocationId id, HttpResponse response, bool error);
  void FailQueue(PoolEntry& entry, const flint::Status& why);
  void RefillGeneric();
  void Housekeeping();
  protocol::LoadRequest MakeLoadRequest(const FunctionVersion& fn) const;
  uint64_t KeepAliveOf(const FunctionVersion& fn) const;
  PoolPolicy PolicyOf(const FunctionVersion& fn) const;
  static std::string KeyOf(const FunctionVersion& fn);
  uint64_t NowMs() const { return uv_now(loop_); }

  uv_loop_t* loop_;
  DispatcherOptions options_;
  std::unique_ptr<WorkerSpawner> spawner_;
  CodeDirFn code_dir_;
  loop::Timer housekeeping_;

  std::unordered_map<std::string, std::shared_ptr<const FunctionVersion>> live_;
  std::unordered_map<std::string, std::unique_ptr<PoolEntry>> pools_;  // by "name@version"
  std::unordered_map<WorkerId, std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<Worker>> dead_workers_;  // destroyed on the next housekeeping
  std::vector<WorkerId> generic_;                      // kGeneric workers with no function yet
  std::unordered_map<WorkerId, LoadCheck> load_checks_;
  std::unordered_map<InvocationId, Invocation> invocations_;
  LogBuffer logs_;
  WorkerId next_worker_id_ = 1;
  InvocationId next_invocation_id_ = 1;
  size_t spawning_generic_ = 0;  // pre-warmed workers spawned but not yet HELLO
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
};

}  // namespace flint::scheduler
