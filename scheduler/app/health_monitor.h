// HealthMonitor: keeps Readiness (scheduler/core/readiness.h) current for /readyz and logs one
// line per change (a warning when a check fails, an info line with the outage's length when it
// recovers).
//
// Every kProbeIntervalMs it probes, on libuv's thread pool: the data directory's file system
// (read-only, less than kMinFreeBytes free, or a small file that cannot be written), the store
// (its write lock can be taken: not locked by another process) and the worker binary (present
// and executable); then, on the loop thread (Cgroups is loop-thread only), that a cgroup can be
// created and removed (every tenth probe while that works). At most one probe runs at a time.
// Failures seen by the work itself are reported too (ReportStoreWrite, ReportSpawn), so the state
// changes with the first failed request, not a second later; a failed worker start stays failing
// until a worker starts.
//
// Threads: Start, Stop, ReadyzResponse on the loop thread; ReportStoreWrite and ReportSpawn from
// any thread. Borrows `store` (shared) and `cgroups` (may be null), which outlive it.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "scheduler/core/readiness.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/store.h"
#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

inline constexpr uint64_t kProbeIntervalMs = 1000;
inline constexpr uint64_t kMinFreeBytes = 1u << 20;

struct HealthOptions {
  std::string data_dir;
  std::string worker_path;
  std::shared_ptr<Store> store;
  isolation::Cgroups* cgroups = nullptr;
};

// True for a Status that says the file system is full (SQLite's SQLITE_FULL or ENOSPC/EDQUOT).
bool IsDiskFull(const Status& status);

class HealthMonitor {
 public:
  HealthMonitor(uv_loop_t* loop, HealthOptions options);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Probes now and then every kProbeIntervalMs.
  void Start();
  void Stop();

  // Any thread: the outcome of a write to the store. A lock held elsewhere fails the store
  // check at once; ok clears it. (A full disk is the disk check's, found by its probe.)
  void ReportStoreWrite(const Status& status);
  // Any thread: the outcome of starting a worker process (fork, exec, cgroup join).
  void ReportSpawn(const Status& status);

  const Readiness& readiness() const { return readiness_; }
  // GET /readyz: 200 {"ready":true,...} or 503 with Retry-After and the reason; `stopping`
  // (flintd is draining) answers 503 too.
  HttpResponse ReadyzResponse(bool stopping) const;

 private:
  struct ProbeResult;
  void Probe();
  void Apply(ReadinessCheck check, std::string reason);
  // The worker check combines the binary's probe and the last spawn's outcome.
  void ApplyWorker();

  uv_loop_t* loop_;
  HealthOptions options_;
  Readiness readiness_;
  loop::Timer timer_;
  std::shared_ptr<std::atomic<bool>> alive_;
  bool probing_ = false;
  uint64_t probes_ = 0;
  std::mutex worker_mu_;
  std::string binary_problem_;  // guarded by worker_mu_
  std::string spawn_problem_;   // guarded by worker_mu_
};

}  // namespace flint::scheduler
