// Flintd: the scheduler process put together: HTTP front door, management API, dispatcher,
// store and signal handling on one libuv loop.
//
// Routes: GET /healthz; ANY /fn/NAME[/rest] (invoke, open); /v1/functions[/NAME[/logs]] and
// GET /v1/pools (management, bearer token). Blocking work (SQLite, writing uploaded code) runs on
// libuv's thread pool; the loop thread only routes. Loop thread only, except the constructor.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "scheduler/app/dispatcher.h"
#include "scheduler/app/event_service.h"
#include "scheduler/app/worker_fleet.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/meter/meter.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/code_store.h"
#include "scheduler/store/ledger.h"
#include "scheduler/store/store.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

// The share of the machine's memory (MemTotal) given to workers when no budget is set.
inline constexpr double kDefaultMemoryShare = 0.5;
// MemTotal from /proc/meminfo in MB, 0 if it cannot be read.
uint64_t MachineMemoryMb();

struct FlintdOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string data_dir;
  std::string worker_path;
  // The folder holding flint/flint.h for C++ builds; empty: DefaultBuildOptions() (the SDK
  // headers of this build, or $FLINT_SDK_INCLUDE).
  std::string sdk_include_dir;
  uint64_t keep_alive_ms = 600'000;
  size_t max_body_bytes = 6u << 20;     // invocation payloads, as Lambda's synchronous limit
  size_t max_deploy_bytes = 70u << 20;  // a 50 MB upload, base64-encoded in JSON
  size_t max_queue = 100;
  uint64_t queue_timeout_ms = 10'000;
  uint32_t prewarm = 1;           // generic JS workers kept ready
  uint32_t prewarm_cpp = 1;       // generic C++ workers kept ready
  uint64_t memory_budget_mb = 0;  // for all workers; 0: kDefaultMemoryShare of MemTotal
  KeepAliveMode keep_alive_mode = KeepAliveMode::kFixed;  // functions that do not choose
  uint64_t drain_timeout_ms = 30'000;
  HttpServer::Options http;
  // Billing (docs/billing.md): record every invocation in the ledger; roll records older than
  // the retention up into hourly aggregates; prices to apply from now on (unset: keep the sheet
  // in force, Lambda's x86 prices on a new node).
  bool metering = true;
  uint64_t ledger_retention_ms = 30ull * 24 * 3600 * 1000;
  std::optional<meter::PriceSheet> prices;
  // Event triggers (docs/triggers.md): payload and queue-depth limits, retries, event age.
  EventOptions events;
  // Every worker in its own cgroup and sandbox (docs/security.md). Off only by the operator's
  // explicit choice (--no-isolation), for development; Start() fails where it cannot be had.
  bool isolation = true;
};

class Flintd {
 public:
  Flintd(uv_loop_t* loop, FlintdOptions options);
  ~Flintd();

  // Opens the data directory, loads the deployed functions, listens, writes flintd.url.
  Status Start();
  // Begins a graceful stop (as on SIGTERM); `Run` returns once it completes.
  void BeginShutdown();
  uint16_t port() const;

 private:
  void Handle(HttpRequest&& request, HttpResponder responder);
  void HandleInvoke(HttpRequest&& request, HttpResponder responder);
  void HandleManagement(HttpRequest&& request, HttpResponder responder);
  void Deploy(const std::string& name, HttpRequest&& request, HttpResponder responder);
  void Describe(const std::string& name, HttpResponder responder);
  void Delete(const std::string& name, HttpResponder responder);
  void Logs(const std::string& name, const HttpRequest& request, HttpResponder responder);
  void List(HttpResponder responder);
  void Pools(HttpResponder responder);
  // GET /v1/billing (a report) and GET/PUT /v1/billing/prices.
  void Billing(const HttpRequest& request, HttpResponder responder);
  void Prices(HttpRequest&& request, HttpResponder responder);
  bool Authorized(const HttpRequest& request) const;
  size_t BodyLimit(const HttpRequest& request) const;
  Status WriteUrlFile();

  uv_loop_t* loop_;
  FlintdOptions options_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<CodeStore> code_;
  std::shared_ptr<Ledger> ledger_;
  std::unique_ptr<meter::Meter> meter_;  // outlives dispatcher_, which appends to it
  // Outlives fleet_, which creates and removes cgroups in it; null: isolation off.
  std::unique_ptr<isolation::Cgroups> cgroups_;
  std::unique_ptr<WorkerFleet> fleet_;  // outlives dispatcher_, its observer
  std::unique_ptr<Dispatcher> dispatcher_;
  std::shared_ptr<EventQueue> event_queue_;
  std::unique_ptr<EventService> events_;  // destroyed before dispatcher_, which it uses
  std::unique_ptr<HttpServer> server_;
  std::unordered_set<std::string> token_hashes_;
  loop::Signal sigterm_;
  loop::Signal sigint_;
  bool stopping_ = false;
  int lock_fd_ = -1;  // flock on <data-dir>/flintd.lock, held while running
};

}  // namespace flint::scheduler
