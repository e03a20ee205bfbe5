#include "scheduler/app/flintd.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "scheduler/app/api_json.h"
#include "scheduler/app/api_requests.h"
#include "scheduler/app/metrics_page.h"
#include "scheduler/metrics/exposition.h"
#include "scheduler/store/admin_token.h"
#include "scheduler/store/secret_store.h"
#include "sdk/core/clock.h"
#include "sdk/core/text.h"
#include "sdk/protocol/build_sandbox.h"

#ifndef FLINT_VERSION
#define FLINT_VERSION "unknown"
#endif

namespace flint::scheduler {
namespace {

// Every connection is a descriptor: the usual soft limit of 1,024 would refuse connections long
// before --max-connections, so flintd raises it as far as the hard limit lets it (workers set
// their own in the sandbox).
void RaiseOpenFileLimit(size_t max_connections) {
  constexpr rlim_t kOwnDescriptors = 1024;  // store, journal, workers' sockets, builds
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + kOwnDescriptors;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (setrlimit(RLIMIT_NOFILE, &raised) != 0) raised = limit;
  if (raised.rlim_cur < wanted) {
    spdlog::warn(
        "open-file limit {} is below --max-connections {} plus {} of flintd's own: "
        "connections beyond it are refused (raise the hard limit: ulimit -Hn, or "
        "LimitNOFILE= in a systemd unit)",
        raised.rlim_cur, max_connections, kOwnDescriptors);
  }
}

// 403: authenticated, but the token's scopes do not cover the request.
HttpResponse PermissionDenied(const std::string& message) {
  return Json(403, {{"error", {{"code", "permission_denied"}, {"message", message}}}});
}

std::string ExecutableDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

uint64_t MachineMemoryMb() {
  FILE* f = fopen("/proc/meminfo", "re");
  if (f == nullptr) return 0;
  char line[256];
  uint64_t kb = 0;
  while (fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v = 0;
    if (sscanf(line, "MemTotal: %llu kB", &v) == 1) {
      kb = v;
      break;
    }
  }
  fclose(f);
  return kb / 1024;
}

Flintd::Flintd(uv_loop_t* loop, FlintdOptions options)
    : loop_(loop),
      options_(std::move(options)),
      management_by_address_(options_.management_rate),
      management_by_token_(options_.management_rate),
      invoke_by_address_(options_.invoke_rate),
      invoke_by_token_(options_.invoke_rate),
      sigterm_(loop),
      sigint_(loop) {}

Flintd::~Flintd() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

uint16_t Flintd::port() const { return server_ ? server_->port() : 0; }

Status Flintd::Start() {
  if (options_.data_dir.empty()) return InvalidArgument("no data directory given");
  RaiseOpenFileLimit(options_.http.max_connections);
  // The parents too (~/.local/share on a fresh home directory), with the usual modes; a
  // failure here shows as mkdir's error below.
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(options_.data_dir).parent_path(),
                                      ignored);
  if (mkdir(options_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("creating data directory " + options_.data_dir, errno);
  }
  // One flintd per data directory: a second one would fight over workers and the database.
  // A record lock, not flock: it belongs to this process alone, so a child forked to become a
  // worker never holds it (with flock, a child between fork and exec when flintd is killed
  // would keep the directory locked against the flintd restarted after it).
  lock_fd_ = open((options_.data_dir + "/flintd.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return ErrnoStatus("opening " + options_.data_dir + "/flintd.lock", errno);
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;  // l_start 0, l_len 0: the whole file
  if (fcntl(lock_fd_, F_SETLK, &whole) != 0) {
    return Unavailable("another flintd is already using " + options_.data_dir);
  }
  if (options_.worker_path.empty()) {
    std::string dir = ExecutableDir();
    options_.worker_path = dir + "/flint-worker";
    if (access(options_.worker_path.c_str(), X_OK) != 0) {
      options_.worker_path = dir + "/../runtime/flint-worker";  // the build tree
    }
  }
  if (access(options_.worker_path.c_str(), X_OK) != 0) {
    return InvalidArgument("flint-worker not found at " + options_.worker_path +
                           " (use --worker-path)");
  }
  if (options_.isolation) {
    // C++ builds run in the build sandbox: never without it while isolation is on.
    build_path_ = options_.worker_path.substr(0, options_.worker_path.rfind('/') + 1) +
                  protocol::kBuildExecutable;
    if (access(build_path_.c_str(), X_OK) != 0) {
      return InvalidArgument(std::string(protocol::kBuildExecutable) + " not found at " +
                             build_path_ + " (it must be beside flint-worker)");
    }
  }

  if (options_.isolation) {
    // Workers are told where the code store is, and take code from there only: by full path.
    if (char* real = realpath(options_.data_dir.c_str(), nullptr)) {
      options_.data_dir = real;
      free(real);
    }
    FLINT_ASSIGN_OR_RETURN(cgroups_, isolation::OpenCgroups());
    spdlog::info("isolation on: cgroup {} under flint/{}, namespaces, seccomp", cgroups_->version(),
                 getpid());
  } else {
    spdlog::warn(
        "isolation is OFF (--no-isolation): functions run without cgroups or sandbox; "
        "for development only");
  }

  FLINT_ASSIGN_OR_RETURN(store_, Store::Open(options_.data_dir));
  FLINT_ASSIGN_OR_RETURN(auto code, CodeStore::Open(options_.data_dir));
  code_ = std::make_shared<CodeStore>(std::move(code));
  FLINT_RETURN_IF_ERROR(code_->RemoveStaleTemp());
  FLINT_RETURN_IF_ERROR(EnsureAdminToken(options_.data_dir, *store_).status());
  FLINT_ASSIGN_OR_RETURN(auto tokens, store_->ListTokens());
  for (const TokenRecord& token : tokens) {
    if (Status put = tokens_.Put(token); !put.ok()) {
      spdlog::error("token '{}' is ignored: {}", token.name, put.message());
    }
  }

  // The ledger, and the meter replaying what a previous flintd left in its journal.
  FLINT_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(store_->path()));
  ledger_ = std::move(ledger);
  meter::MeterOptions metering;
  metering.journal_path = options_.data_dir + "/ledger.journal";
  metering.retention_ms = options_.ledger_retention_ms;
  metering.configured_prices = options_.prices;
  FLINT_ASSIGN_OR_RETURN(auto meter, meter::Meter::Start(loop_, ledger_, metering));
  meter_ = std::move(meter);

  HealthOptions health;
  health.data_dir = options_.data_dir;
  health.worker_path = options_.worker_path;
  health.store = store_;
  health.cgroups = cgroups_.get();
  health_ = std::make_unique<HealthMonitor>(loop_, std::move(health));

  FleetOptions fleet;
  fleet.worker_path = options_.worker_path;
  fleet.on_spawn = [health = health_.get()](const Status& s) { health->ReportSpawn(s); };
  fleet.prewarm[static_cast<size_t>(Runtime::kV8)] = options_.prewarm;
  fleet.prewarm[static_cast<size_t>(Runtime::kNode)] = options_.prewarm_node;
  fleet.prewarm[static_cast<size_t>(Runtime::kCpp)] = options_.prewarm_cpp;
  fleet.memory_budget_mb = options_.memory_budget_mb;
  fleet.prewarm_memory_mb = options_.prewarm_memory_mb;
  fleet.cgroups = cgroups_.get();
  fleet.cpu_mode = options_.cpu_mode;
  fleet.sandbox = options_.isolation;
  fleet.code_root = code_->root();
  if (fleet.memory_budget_mb == 0) {
    uint64_t machine = MachineMemoryMb();
    fleet.memory_budget_mb =
        machine > 0 ? static_cast<uint64_t>(static_cast<double>(machine) * kDefaultMemoryShare)
                    : 4096;
  }
  spdlog::info("worker memory budget {} MB", fleet.memory_budget_mb);
  BuildServiceOptions building;
  building.queue = options_.build_queue;
  building.cgroups = cgroups_.get();
  builds_ = std::make_unique<BuildService>(loop_, code_, building);
  if (options_.isolation) {
    spdlog::info("C++ builds: in the build sandbox, {} at once, {} MB, {} ms each",
                 options_.build_queue.max_running, options_.build_limits.memory_mb,
                 options_.build_limits.timeout.count());
  } else {
    spdlog::warn("isolation is OFF: C++ builds run without sandbox or cgroup, as this user");
  }
  auto code_store = code_;
  fleet_ = std::make_unique<WorkerFleet>(
      loop_, fleet, MakeProcessSpawner(),
      [code_store](const FunctionVersion& fn) { return code_store->DirOf(fn.code_digest); });
  DispatcherOptions dispatch;
  dispatch.default_keep_alive_ms = options_.keep_alive_ms;
  dispatch.max_queue = options_.max_queue;
  dispatch.queue_timeout_ms = options_.queue_timeout_ms;
  dispatch.meter = options_.metering ? meter_.get() : nullptr;
  metrics_ = NewInvocationMetrics();
  dispatch.metrics = metrics_.get();
  dispatch.default_keep_alive_mode = options_.keep_alive_mode;
  dispatch.isolation_off = !options_.isolation;
  dispatcher_ = std::make_unique<Dispatcher>(loop_, dispatch, fleet_.get());

  FLINT_ASSIGN_OR_RETURN(std::shared_ptr<SecretStore> secret_store,
                         SecretStore::Open(options_.data_dir, store_->path()));
  FLINT_ASSIGN_OR_RETURN(auto functions, store_->ListLive());
  for (auto& fn : functions) {
    FLINT_ASSIGN_OR_RETURN(fn.secrets, secret_store->Values(fn.name));
    dispatcher_->SetLive(std::make_shared<const FunctionVersion>(std::move(fn)));
  }
  spdlog::info("data directory {}: {} function(s), schema version {}", options_.data_dir,
               functions.size(), store_->schema_version());

  FLINT_ASSIGN_OR_RETURN(event_queue_, EventQueue::Open(store_->path()));
  EventOptions events = options_.events;
  events.on_commit = [health = health_.get()](const Status& s) { health->ReportStoreWrite(s); };
  FLINT_ASSIGN_OR_RETURN(events_,
                         EventService::Start(loop_, event_queue_, dispatcher_.get(), events));
  BuildOptions build = DefaultBuildOptions();
  if (!options_.sdk_include_dir.empty()) build.sdk_include_dir = options_.sdk_include_dir;
  build.sandbox_path = build_path_;
  build.limits = options_.build_limits;
  management_ = std::make_unique<ManagementApi>(loop_, store_, code_, ledger_, meter_.get(),
                                                dispatcher_.get(), options_.data_dir,
                                                std::move(build), builds_.get(), secret_store);
  if (cgroups_ != nullptr) management_->set_cpu_mode(options_.cpu_mode);
  event_api_ = std::make_unique<EventApi>(loop_, events_.get(), event_queue_, dispatcher_.get());
  token_api_ = std::make_unique<TokenApi>(loop_, store_, &tokens_);

  server_ = std::make_unique<HttpServer>(
      loop_, options_.http,
      [this](HttpRequest&& request, HttpResponder responder) {
        Handle(std::move(request), std::move(responder));
      },
      [this](const HttpRequest& request) { return BodyLimit(request); });
  FLINT_RETURN_IF_ERROR(server_->Listen(options_.listen_host, options_.listen_port));
  dispatcher_->Start();
  health_->Start();
  FLINT_RETURN_IF_ERROR(WriteUrlFile());

  signal(SIGPIPE, SIG_IGN);
  FLINT_RETURN_IF_ERROR(sigterm_.Start(SIGTERM, [this] { BeginShutdown(); }));
  FLINT_RETURN_IF_ERROR(sigint_.Start(SIGINT, [this] { BeginShutdown(); }));
  spdlog::info("flintd listening on http://{}:{} (worker {})", options_.listen_host,
               server_->port(), options_.worker_path);
  return Status::Ok();
}

Status Flintd::WriteUrlFile() {
  std::string path = options_.data_dir + "/flintd.url";
  std::string tmp = path + ".tmp";
  std::string host = options_.listen_host == "0.0.0.0" ? "127.0.0.1" : options_.listen_host;
  std::string url = "http://" + host + ":" + std::to_string(server_->port()) + "\n";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("writing " + tmp, errno);
  bool ok = write(fd, url.data(), url.size()) == static_cast<ssize_t>(url.size());
  close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("writing " + path, errno);
  return Status::Ok();
}

void Flintd::BeginShutdown() {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("shutting down: draining requests in flight");
  unlink((options_.data_dir + "/flintd.url").c_str());
  if (events_) events_->Stop();
  if (builds_) builds_->Shutdown();
  if (health_) health_->Stop();
  server_->Shutdown(options_.drain_timeout_ms, [this] {
    dispatcher_->Shutdown([this] {
      spdlog::info("flintd stopped");
      sigterm_.Unref();
      sigint_.Unref();
      uv_stop(loop_);
    });
  });
}

std::variant<size_t, HttpResponse> Flintd::BodyLimit(const HttpRequest& request) {
  const std::string& path = request.path;
  if (path == "/v1" || path.rfind("/v1/", 0) == 0) {
    // Every management call counts against its address here, token or not, so guesses are
    // limited too; scopes and the per-token rate are checked once the body is in.
    if (std::optional<HttpResponse> limited =
            RateRefusal(management_by_address_, request.peer_ip, "client address")) {
      return std::move(*limited);
    }
    Result<auth::Principal> who =
        tokens_.Authenticate(request.FindHeader("authorization"), WallClockMs());
    if (!who.ok()) return UnauthenticatedResponse(who.status());
  }
  if ((request.method == "PUT" || request.method == "POST") &&
      path.rfind("/v1/functions/", 0) == 0) {
    const std::string* type = request.FindHeader("content-type");
    if (type != nullptr && IsMultipartFormData(*type)) return options_.max_deploy_archive_bytes;
    return options_.max_deploy_bytes;
  }
  return options_.max_body_bytes;
}

void Flintd::Handle(HttpRequest&& request, HttpResponder responder) {
  const std::string& path = request.path;
  if (path.rfind("/fn/", 0) == 0) return HandleInvoke(std::move(request), std::move(responder));
  if (path == "/v1" || path.rfind("/v1/", 0) == 0) {
    return HandleManagement(std::move(request), std::move(responder));
  }
  if (path == "/healthz") {
    if (request.method != "GET" && request.method != "HEAD") {
      return responder.Send(MethodNotAllowed(request.method, path, "GET, HEAD"));
    }
    return responder.Send(
        Json(200, {{"status", stopping_ ? "stopping" : "ok"}, {"version", FLINT_VERSION}}));
  }
  if (path == "/readyz") {
    if (request.method != "GET" && request.method != "HEAD") {
      return responder.Send(MethodNotAllowed(request.method, path, "GET, HEAD"));
    }
    return responder.Send(health_->ReadyzResponse(stopping_));
  }
  if (path == "/metrics") {
    // Function names are the operator's: the page needs a token with the read scope, as the
    // function list does.
    if (!Authorize(request, auth::Scope::kRead, responder)) return;
    if (request.method != "GET" && request.method != "HEAD") {
      return responder.Send(MethodNotAllowed(request.method, path, "GET, HEAD"));
    }
    HttpResponse response;
    response.status = 200;
    response.headers.emplace_back("content-type", metrics::kContentType);
    response.body = MetricsPage(*metrics_, *dispatcher_, events_.get(), WallClockMs());
    return responder.Send(std::move(response));
  }
  if (path == "/") {
    return responder.Send(Json(200, {{"name", "flint"},
                                     {"version", FLINT_VERSION},
                                     {"invoke", "/fn/NAME"},
                                     {"api", "/v1/functions"},
                                     {"health", "/healthz"},
                                     {"ready", "/readyz"},
                                     {"metrics", "/metrics"}}));
  }
  responder.Send(ErrorResponse(NotFound("no route for " + path)));
}

void Flintd::HandleInvoke(HttpRequest&& request, HttpResponder responder) {
  std::string_view rest = std::string_view(request.path).substr(4);
  size_t slash = rest.find('/');
  std::string name(rest.substr(0, slash));
  std::string rest_path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (Status valid = ValidateFunctionName(name); !valid.ok()) {
    return responder.Send(ErrorResponse(valid));
  }
  if (!WithinRate(invoke_by_address_, request.peer_ip, "client address", responder)) return;
  auto fn = dispatcher_->FindLive(name);
  if (!fn) return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  if (fn->config.is_private) {
    // A private function: the caller needs a token with the invoke scope. The token is checked
    // here and not passed on: the function never sees its callers' Flint tokens.
    Result<auth::Principal> who =
        tokens_.Authenticate(request.FindHeader("authorization"), WallClockMs());
    if (!who.ok()) {
      return responder.Send(UnauthenticatedResponse(
          Status(Code::kUnauthenticated,
                 "function '" + name + "' is private: " + who.status().message())));
    }
    if (!who->scopes.Allows(auth::Scope::kInvoke)) {
      return responder.Send(PermissionDenied("token '" + who->token_name +
                                             "' lacks the invoke scope that private function '" +
                                             name + "' needs"));
    }
    if (!WithinRate(invoke_by_token_, who->token_name, "token", responder)) return;
    std::erase_if(request.headers, [](const HttpHeader& h) { return h.first == "authorization"; });
  } else {
    // Flint's tokens are for flintd: a public function never sees one either (flint invoke
    // sends its token to any function, not knowing which are private). Other schemes pass.
    std::erase_if(request.headers, [](const HttpHeader& h) {
      return h.first == "authorization" && h.second.size() > 13 &&
             (h.second.compare(0, 13, "Bearer flint_") == 0 ||
              h.second.compare(0, 13, "bearer flint_") == 0);
    });
  }
  if (const std::string* type = request.FindHeader("x-flint-invocation-type");
      type != nullptr && (*type == "Event" || *type == "event")) {
    return event_api_->Submit(fn, std::move(request), std::move(responder));
  }
  dispatcher_->Invoke(fn, std::move(request), std::move(rest_path), std::move(responder));
}

bool Flintd::WithinRate(auth::RateLimiter& limiter, const std::string& key, const char* what,
                        HttpResponder& responder) {
  std::optional<HttpResponse> limited = RateRefusal(limiter, key, what);
  if (!limited) return true;
  responder.Send(std::move(*limited));
  return false;
}

std::optional<HttpResponse> Flintd::RateRefusal(auth::RateLimiter& limiter, const std::string& key,
                                                const char* what) {
  uint32_t retry_after_s = limiter.Take(key, uv_now(loop_));
  if (retry_after_s == 0) return std::nullopt;
  HttpResponse response = ErrorResponse(
      Status(Code::kTooManyRequests,
             std::string("rate limit of this ") + what + " exceeded (" +
                 std::to_string(static_cast<uint64_t>(limiter.limit().per_second)) +
                 " requests per second): retry after " + std::to_string(retry_after_s) + " s"));
  SetRetryAfter(response, retry_after_s);
  return response;
}

HttpResponse Flintd::UnauthenticatedResponse(const Status& why) {
  HttpResponse response = ErrorResponse(why);
  response.headers.emplace_back("www-authenticate", "Bearer");
  return response;
}

std::optional<auth::Principal> Flintd::Authorize(const HttpRequest& request, auth::Scope needed,
                                                 HttpResponder& responder) {
  Result<auth::Principal> who =
      tokens_.Authenticate(request.FindHeader("authorization"), WallClockMs());
  if (!who.ok()) {
    responder.Send(UnauthenticatedResponse(who.status()));
    return std::nullopt;
  }
  if (!who->scopes.Allows(needed)) {
    responder.Send(PermissionDenied("token '" + who->token_name + "' lacks the " +
                                    std::string(auth::ScopeName(needed)) + " scope that " +
                                    request.method + " " + request.path + " needs"));
    return std::nullopt;
  }
  return std::move(*who);
}

void Flintd::HandleManagement(HttpRequest&& request, HttpResponder responder) {
  // BodyLimit already counted the request against its address and saw a valid token.
  std::optional<auth::Principal> who =
      Authorize(request, auth::RequiredScope(request.method, request.path), responder);
  if (!who) return;
  if (!WithinRate(management_by_token_, who->token_name, "token", responder)) return;
  const std::string path = request.path;
  const std::string& method = request.method;
  auto is = [&](const char* route) { return path == route || path == std::string(route) + "/"; };
  auto under = [&](const char* prefix) { return path.rfind(prefix, 0) == 0; };
  // `method` is one of `allowed` ("GET, POST"); else the 405 is sent and the route is done.
  auto allow = [&](const char* allowed) {
    std::string_view list = allowed;
    for (size_t pos = 0; pos < list.size();) {
      size_t comma = list.find(", ", pos);
      if (list.substr(pos, comma == std::string_view::npos ? comma : comma - pos) == method) {
        return true;
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 2;
    }
    responder.Send(MethodNotAllowed(method, path, allowed));
    return false;
  };

  // Functions, pools and billing (ManagementApi).
  if (is("/v1/functions")) {
    if (allow("GET")) management_->List(std::move(responder));
    return;
  }
  if (under("/v1/functions/")) {
    std::string name = path.substr(14);
    std::string sub;
    if (size_t slash = name.find('/'); slash != std::string::npos) {
      sub = name.substr(slash + 1);
      name.resize(slash);
    }
    if (Status valid = ValidateFunctionName(name); !valid.ok()) {
      return responder.Send(ErrorResponse(valid));
    }
    if (sub == "logs") {
      if (allow("GET")) management_->Logs(name, request, std::move(responder));
      return;
    }
    if (sub == "secrets") {
      if (allow("GET")) management_->Secrets(name, "", std::move(request), std::move(responder));
      return;
    }
    if (sub.rfind("secrets/", 0) == 0) {
      if (allow("PUT, DELETE")) {
        management_->Secrets(name, PercentDecode(sub.substr(8)), std::move(request),
                             std::move(responder));
      }
      return;
    }
    if (!sub.empty()) return responder.Send(ErrorResponse(NotFound("no route for " + path)));
    if (method == "PUT" || method == "POST") {
      return management_->Deploy(name, std::move(request), std::move(responder));
    }
    if (method == "PATCH")
      return management_->Configure(name, std::move(request), std::move(responder));
    if (method == "GET") return management_->Describe(name, std::move(responder));
    if (method == "DELETE") return management_->Delete(name, std::move(responder));
    return responder.Send(MethodNotAllowed(method, path, "GET, PUT, PATCH, DELETE"));
  }
  if (is("/v1/pools")) {
    if (allow("GET")) management_->Pools(std::move(responder));
    return;
  }
  if (is("/v1/billing")) {
    if (allow("GET")) management_->Billing(request, std::move(responder));
    return;
  }
  if (path == "/v1/billing/prices") {
    if (allow("GET, PUT")) management_->Prices(std::move(request), std::move(responder));
    return;
  }

  // Event triggers (EventApi).
  if (under("/v1/invocations/")) {
    if (allow("GET"))
      event_api_->GetInvocation(PercentDecode(path.substr(16)), std::move(responder));
    return;
  }
  if (under("/v1/dlq/")) {
    std::string name = PercentDecode(path.substr(8));
    bool redrive = name.size() > 8 && name.compare(name.size() - 8, 8, "/redrive") == 0;
    if (redrive) name.resize(name.size() - 8);
    if (Status valid = ValidateFunctionName(name); !valid.ok()) {
      return responder.Send(ErrorResponse(valid));
    }
    if (redrive) {
      if (allow("POST")) event_api_->Redrive(name, std::move(responder));
    } else if (allow("GET")) {
      event_api_->DeadLetters(name, request, std::move(responder));
    }
    return;
  }
  if (is("/v1/schedules")) {
    if (allow("GET, POST")) event_api_->Schedules(request, std::move(responder));
    return;
  }
  if (under("/v1/schedules/")) {
    if (allow("DELETE")) {
      event_api_->DeleteSchedule(PercentDecode(path.substr(14)), std::move(responder));
    }
    return;
  }
  if (is("/v1/subscriptions")) {
    if (allow("GET, POST")) event_api_->Subscriptions(request, std::move(responder));
    return;
  }
  if (under("/v1/subscriptions/")) {
    if (!allow("DELETE")) return;
    std::string rest = path.substr(18);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      return responder.Send(ErrorResponse(NotFound("use DELETE /v1/subscriptions/TOPIC/FUNCTION")));
    }
    return event_api_->Unsubscribe(PercentDecode(rest.substr(0, slash)),
                                   PercentDecode(rest.substr(slash + 1)), std::move(responder));
  }
  if (under("/v1/topics/")) {
    if (allow("POST")) {
      event_api_->Publish(PercentDecode(path.substr(11)), request, std::move(responder));
    }
    return;
  }

  // Tokens (TokenApi): admin only (auth::RequiredScope).
  if (is("/v1/tokens")) {
    if (!allow("GET, POST")) return;
    if (method == "GET") return token_api_->List(std::move(responder));
    return token_api_->Create(request, std::move(responder));
  }
  if (under("/v1/tokens/")) {
    if (allow("DELETE")) token_api_->Revoke(path.substr(11), std::move(responder));
    return;
  }
  responder.Send(ErrorResponse(NotFound("no route for " + path)));
}

}  // namespace flint::scheduler
