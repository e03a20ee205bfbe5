// BuildService: runs the C++ builds of deploys that the build cache could not answer
// (cpp_build.h), a few at a time.
//
// Admission is BuildQueue's (scheduler/core/build_queue.h): at most `max_running` builds run at
// once; up to `max_waiting` more wait in arrival order, each at most `max_wait_ms`; beyond, the
// deploy is turned away with a Retry-After estimate (429 when the queue is full, 503 when it
// waited too long or flintd is stopping). Waiting costs nothing but the upload in memory: a
// waiting build holds no thread, no process and no cgroup.
//
// A build that starts gets a cgroup of its own (`b<N>`, through isolation::Cgroups) with the
// build limits' memory, CPU quota and pids, runs on libuv's thread pool (RunBuild: flint-build
// and the compiler, inside that cgroup), and its cgroup is read (did the kernel kill a process
// for memory?) and removed when it ends. Then the outcome is judged (DescribeBuildFailure) and
// a successful build is stored (StoreBuild) on the thread pool. Without cgroups (flintd
// --no-isolation) builds run with no cgroup and only the time and output limits.
//
// Threads: every public method, and every callback, on the loop thread. The Cgroups object
// (shared with the Dispatcher, loop thread only as well) must outlive the service. A build
// still running when the service is destroyed goes on on its thread, and its callback is
// dropped.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/build/cpp_build.h"
#include "scheduler/core/build_queue.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/store/code_store.h"
#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct BuildServiceOptions {
  BuildQueueOptions queue;
  isolation::Cgroups* cgroups = nullptr;  // null: builds run without a cgroup
};

// The cgroup limits of a build.
isolation::Limits CgroupLimitsForBuild(const BuildLimits& limits);

class BuildService {
 public:
  // The stored code's digest or the error; `retry_after_s` > 0 when the client should try
  // again later (the build never ran).
  using Callback = std::function<void(Result<std::string> digest, uint32_t retry_after_s)>;

  BuildService(uv_loop_t* loop, std::shared_ptr<const CodeStore> code, BuildServiceOptions options);
  ~BuildService();
  BuildService(const BuildService&) = delete;
  BuildService& operator=(const BuildService&) = delete;

  // Runs `build` now or once a slot frees, and stores it; `done` then runs exactly once, later:
  // the digest; InvalidArgument for the build's own failure (compiler messages, or the limit
  // it hit); Unavailable with a Retry-After when it waited too long or flintd is stopping;
  // Internal or Unavailable when the build could not be run at all. When the build is turned
  // away at once, Submit returns the error instead and never calls `done`: TooManyRequests
  // (the queue is full) or Unavailable (Shutdown ran); RetryAfterSeconds() says when to retry.
  Status Submit(std::shared_ptr<PendingBuild> build, Callback done);
  // Fails every waiting build (Unavailable); running builds finish. Later Submits fail too.
  void Shutdown();

  uint32_t RetryAfterSeconds() const { return queue_.RetryAfterSeconds(); }
  size_t running() const { return queue_.running(); }
  size_t waiting() const { return queue_.waiting(); }

 private:
  struct Job {
    std::shared_ptr<PendingBuild> build;
    Callback done;
    uint64_t started_ms = 0;
    std::string cgroup;  // "" without cgroups or before Start
  };

  uint64_t NowMs() const { return uv_now(loop_); }
  // Creates the build's cgroup and starts it on the thread pool; an error if it cannot.
  Status Start(BuildId id);
  // The build's thread-pool work ended with `outcome`.
  void Built(BuildId id, const Result<ToolOutcome>& outcome);
  // Frees the slot of running build `id` (ran for `duration_ms`) and starts the next waiting one.
  void Release(BuildId id, uint64_t duration_ms);
  void RemoveCgroup(const std::string& name);
  void ArmExpiry();
  void ExpireWaiting();

  uv_loop_t* loop_;
  std::shared_ptr<const CodeStore> code_;
  BuildServiceOptions options_;
  BuildQueue queue_;
  std::unordered_map<BuildId, Job> jobs_;  // running and waiting
  BuildId next_id_ = 1;
  bool shut_down_ = false;
  std::vector<std::string> cgroups_to_remove_;  // busy when their build ended; retried
  loop::Timer expiry_timer_;
  // Thread-pool callbacks hold it weakly: they do nothing once the service is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace flint::scheduler
