// Flintd: the scheduler process put together: HTTP front door, API, dispatcher, worker fleet,
// meter, event service, store and signal handling on one libuv loop.
//
// Every route is in Flintd::Handle and Flintd::HandleManagement (docs/http-api.md):
//   GET /                                 what this server is
//   GET|HEAD /healthz                     "ok", or "stopping" while draining (liveness)
//   GET|HEAD /readyz                      whether deploys and async work can be taken now
//   GET /metrics                          Prometheus metrics (a token with the read scope,
//                                         metrics_page.h)
//   ANY /fn/NAME[/rest]                   invoke ("X-Flint-Invocation-Type: Event": async); open
//                                         for public functions, a token with the invoke scope
//                                         for private ones
// and, with a bearer token holding the route's scope (auth::RequiredScope), the management API
// (ManagementApi, EventApi, TokenApi):
//   GET /v1/functions                     list
//   PUT|POST|GET|DELETE /v1/functions/NAME   deploy, describe, delete
//   GET /v1/functions/NAME/logs
//   GET /v1/pools
//   GET /v1/billing; GET|PUT /v1/billing/prices
//   GET /v1/invocations/ID
//   GET /v1/dlq/NAME; POST /v1/dlq/NAME/redrive
//   GET|POST /v1/schedules; DELETE /v1/schedules/ID
//   GET|POST /v1/subscriptions; DELETE /v1/subscriptions/TOPIC/NAME
//   POST /v1/topics/TOPIC
//   GET|POST /v1/tokens; DELETE /v1/tokens/NAME
// Every request is first counted against its client address's rate limit (management and
// invocations apart), and an authenticated one against its token's (docs/security.md).
// Blocking work (SQLite, writing uploaded code) runs on libuv's thread pool or the writer
// threads; the loop thread only routes. Loop thread only, except the constructor.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <variant>

#include "scheduler/app/dispatcher.h"
#include "scheduler/app/event_api.h"
#include "scheduler/app/event_service.h"
#include "scheduler/app/health_monitor.h"
#include "scheduler/app/management_api.h"
#include "scheduler/app/token_api.h"
#include "scheduler/app/worker_fleet.h"
#include "scheduler/auth/rate_limiter.h"
#include "scheduler/auth/token_registry.h"
#include "scheduler/build/build_service.h"
#include "scheduler/isolation/cgroups.h"
#include "scheduler/meter/meter.h"
#include "scheduler/metrics/registry.h"
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
  size_t max_deploy_bytes = 70u << 20;  // a JSON deploy: 50 MB of files, base64-encoded
  // A multipart deploy (a code archive, as `flint deploy` sends): the code store's 250 MiB of
  // unpacked code, as Lambda's limit, compresses to less; the rest is the archive's overhead.
  size_t max_deploy_archive_bytes = 300u << 20;
  size_t max_queue = 100;
  uint64_t queue_timeout_ms = 10'000;
  uint32_t prewarm = 1;       // generic lean JavaScript (v8) workers kept ready
  uint32_t prewarm_cpp = 1;   // generic C++ workers kept ready
  uint32_t prewarm_node = 1;  // generic Node.js workers kept ready
  // Memory for generic workers beyond those floors (FleetOptions); 0: an eighth of the budget.
  uint64_t prewarm_memory_mb = 0;
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
  // C++ builds follow: in the build sandbox (flint-build, beside flint-worker) and a cgroup of
  // their own when on, unconfined when off.
  bool isolation = true;
  // C++ builds (docs/configuration.md): the limits of each, and how many run and wait at once.
  BuildLimits build_limits;
  BuildQueueOptions build_queue;
  // How workers share the CPU (--cpu-mode, isolation/cgroups.h): weights in proportion to
  // memory and no quota unless a function asks for one, or Lambda's proportional quotas too.
  isolation::CpuMode cpu_mode = isolation::CpuMode::kWeight;
  // Rate limits (docs/security.md), per client address and per token, requests per second and
  // burst: the management API's guard token guessing and a noisy client; the invocations' are
  // far above what one node serves, so they only stop a runaway client (0: none).
  auth::RateLimit management_rate{100, 200};
  auth::RateLimit invoke_rate{50'000, 50'000};
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
  // The routes (see above): Handle for every request, HandleInvoke for /fn/,
  // HandleManagement for /v1 once the bearer token is checked.
  void Handle(HttpRequest&& request, HttpResponder responder);
  void HandleInvoke(HttpRequest&& request, HttpResponder responder);
  void HandleManagement(HttpRequest&& request, HttpResponder responder);
  // The caller of `request` when it sends a valid token holding `needed`; else answers 401 (no,
  // unknown, revoked or expired token) or 403 (scope missing) and returns nullopt.
  std::optional<auth::Principal> Authorize(const HttpRequest& request, auth::Scope needed,
                                           HttpResponder& responder);
  // Counts the request against `limiter` under `key`; false after answering 429 (with
  // Retry-After) when over the limit.
  bool WithinRate(auth::RateLimiter& limiter, const std::string& key, const char* what,
                  HttpResponder& responder);
  // The 429 (with Retry-After) when `key` is over `limiter`'s rate, counting this request.
  std::optional<HttpResponse> RateRefusal(auth::RateLimiter& limiter, const std::string& key,
                                          const char* what);
  static HttpResponse UnauthenticatedResponse(const Status& why);
  // Once a request's headers are in (HttpServer::BodyLimit): its body limit, or, for a /v1
  // request, the 429 of an address over its rate or the 401 of a missing or invalid token, so
  // that no body (a deploy: up to hundreds of MiB) is read for a caller who may not send it.
  std::variant<size_t, HttpResponse> BodyLimit(const HttpRequest& request);
  Status WriteUrlFile();

  uv_loop_t* loop_;
  FlintdOptions options_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<CodeStore> code_;
  std::shared_ptr<Ledger> ledger_;
  std::unique_ptr<meter::Meter> meter_;         // outlives dispatcher_, which appends to it
  std::unique_ptr<metrics::Registry> metrics_;  // outlives dispatcher_, which counts in it
  // Outlives fleet_, which creates and removes cgroups in it; null: isolation off.
  std::unique_ptr<isolation::Cgroups> cgroups_;
  // /readyz; outlives fleet_ and events_, which report to it from their callbacks.
  std::unique_ptr<HealthMonitor> health_;
  std::unique_ptr<WorkerFleet> fleet_;  // outlives dispatcher_, its observer
  std::unique_ptr<Dispatcher> dispatcher_;
  // Creates and removes cgroups in cgroups_; outlives management_, which submits builds.
  std::unique_ptr<BuildService> builds_;
  std::string build_path_;  // flint-build; empty when isolation is off
  std::shared_ptr<EventQueue> event_queue_;
  std::unique_ptr<EventService> events_;  // destroyed before dispatcher_, which it uses
  // The API's handlers; destroyed before everything they use.
  std::unique_ptr<ManagementApi> management_;
  std::unique_ptr<EventApi> event_api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<TokenApi> token_api_;
  auth::TokenRegistry tokens_;  // outlives token_api_
  auth::RateLimiter management_by_address_;
  auth::RateLimiter management_by_token_;
  auth::RateLimiter invoke_by_address_;
  auth::RateLimiter invoke_by_token_;
  loop::Signal sigterm_;
  loop::Signal sigint_;
  bool stopping_ = false;
  int lock_fd_ = -1;  // <data-dir>/flintd.lock, its record lock held while running
};

}  // namespace flint::scheduler
