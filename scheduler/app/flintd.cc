#include "scheduler/app/flintd.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "scheduler/app/api_json.h"
#include "scheduler/app/deploy.h"
#include "scheduler/meter/report.h"
#include "scheduler/store/admin_token.h"
#include "sdk/core/base64.h"
#include "sdk/core/clock.h"
#include "sdk/core/text.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

json FunctionInfo(const FunctionVersion& fn) {
  json env = json::object();
  for (const auto& [k, v] : fn.config.env) env[k] = v;
  return {{"name", fn.name},
          {"version", fn.version},
          {"runtime", RuntimeName(fn.runtime)},
          {"entry", fn.entry},
          {"code_digest", fn.code_digest},
          {"memory_mb", fn.config.memory_mb},
          {"timeout_ms", fn.config.timeout_ms},
          {"keep_alive_ms", fn.config.keep_alive_ms},
          {"max_instances", fn.config.max_instances},
          {"concurrency", fn.config.concurrency},
          {"min_instances", fn.config.min_instances},
          {"reserved_concurrency", fn.config.reserved_concurrency},
          {"keep_alive_policy", fn.config.keep_alive_policy},
          {"network", fn.config.network},
          {"max_retries", fn.config.max_retries},
          {"max_event_age_ms", fn.config.max_event_age_ms},
          {"env", env},
          {"created_at", Rfc3339(fn.created_at_ms)}};
}

double Ms(uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

json PoolJson(const PoolStatus& p) {
  json keep_alive = {{"policy", p.adaptive ? "adaptive" : "fixed"},
                     {"fixed_ms", p.keep_alive_ms},
                     {"learned", p.windows.learned}};
  if (p.windows.learned) {
    keep_alive["prewarm_ms"] = p.windows.prewarm_ms;
    keep_alive["window_ms"] = p.windows.keep_alive_ms;
  }
  json pool = {
      {"version", p.version},
      {"workers",
       {{"starting", p.counts.starting}, {"idle", p.counts.idle}, {"busy", p.counts.busy}}},
      {"queue", p.counts.queued},
      {"invocations", p.invocations},
      {"cold_starts", p.cold_starts},
      {"cold_start_ms", {{"p50", Ms(p.cold_start_p50_us)}, {"p99", Ms(p.cold_start_p99_us)}}},
      {"errors", p.errors},
      {"throttles", p.throttles},
      {"evictions", p.evictions},
      {"idle_worker_ms", p.idle_worker_ms},
      {"cpu_ms", Ms(p.cpu_us)},
      {"peak_memory_mb", static_cast<double>(p.peak_memory_bytes) / (1 << 20)},
      {"memory_mb", p.memory_mb},
      {"min_instances", p.min_instances},
      {"keep_alive", keep_alive}};
  if (!p.blocked.empty()) pool["waiting_for"] = p.blocked;
  return pool;
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
    : loop_(loop), options_(std::move(options)), sigterm_(loop), sigint_(loop) {}

Flintd::~Flintd() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

uint16_t Flintd::port() const { return server_ ? server_->port() : 0; }

Status Flintd::Start() {
  if (options_.data_dir.empty()) return InvalidArgument("no data directory given");
  if (mkdir(options_.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("creating data directory " + options_.data_dir, errno);
  }
  // One flintd per data directory: a second one would fight over workers and the database.
  lock_fd_ = open((options_.data_dir + "/flintd.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) return ErrnoStatus("opening " + options_.data_dir + "/flintd.lock", errno);
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
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
    // Workers are told where the code store is, and take code from there only: by full path.
    if (char* real = realpath(options_.data_dir.c_str(), nullptr)) {
      options_.data_dir = real;
      free(real);
    }
    auto cgroups = isolation::OpenCgroups();
    if (!cgroups.ok()) return cgroups.status();
    cgroups_ = std::move(cgroups).value();
    spdlog::info("isolation on: cgroup {} under flint/{}, namespaces, seccomp", cgroups_->version(),
                 getpid());
  } else {
    spdlog::warn(
        "isolation is OFF (--no-isolation): functions run without cgroups or sandbox; "
        "for development only");
  }

  auto store = Store::Open(options_.data_dir);
  if (!store.ok()) return store.status();
  store_ = std::move(store).value();
  auto code = CodeStore::Open(options_.data_dir);
  if (!code.ok()) return code.status();
  code_ = std::make_shared<CodeStore>(std::move(code).value());
  FLINT_RETURN_IF_ERROR(code_->RemoveStaleTemp());
  auto token = EnsureAdminToken(options_.data_dir, *store_);
  if (!token.ok()) return token.status();
  auto hashes = store_->TokenHashes();
  if (!hashes.ok()) return hashes.status();
  token_hashes_.insert(hashes->begin(), hashes->end());

  // The ledger, and the meter replaying what a previous flintd left in its journal.
  auto ledger = Ledger::Open(store_->path());
  if (!ledger.ok()) return ledger.status();
  ledger_ = std::move(ledger).value();
  meter::MeterOptions metering;
  metering.journal_path = options_.data_dir + "/ledger.journal";
  metering.retention_ms = options_.ledger_retention_ms;
  metering.configured_prices = options_.prices;
  auto meter = meter::Meter::Start(loop_, ledger_, metering);
  if (!meter.ok()) return meter.status();
  meter_ = std::move(meter).value();

  FleetOptions fleet;
  fleet.worker_path = options_.worker_path;
  fleet.prewarm[static_cast<size_t>(Runtime::kJs)] = options_.prewarm;
  fleet.prewarm[static_cast<size_t>(Runtime::kCpp)] = options_.prewarm_cpp;
  fleet.memory_budget_mb = options_.memory_budget_mb;
  fleet.cgroups = cgroups_.get();
  fleet.sandbox = options_.isolation;
  fleet.code_root = code_->root();
  if (fleet.memory_budget_mb == 0) {
    uint64_t machine = MachineMemoryMb();
    fleet.memory_budget_mb =
        machine > 0 ? static_cast<uint64_t>(static_cast<double>(machine) * kDefaultMemoryShare)
                    : 4096;
  }
  spdlog::info("worker memory budget {} MB", fleet.memory_budget_mb);
  auto code_store = code_;
  fleet_ = std::make_unique<WorkerFleet>(
      loop_, fleet, MakeProcessSpawner(),
      [code_store](const FunctionVersion& fn) { return code_store->DirOf(fn.code_digest); });
  DispatcherOptions dispatch;
  dispatch.default_keep_alive_ms = options_.keep_alive_ms;
  dispatch.max_queue = options_.max_queue;
  dispatch.queue_timeout_ms = options_.queue_timeout_ms;
  dispatch.meter = options_.metering ? meter_.get() : nullptr;
  dispatch.default_keep_alive_mode = options_.keep_alive_mode;
  dispatch.isolation_off = !options_.isolation;
  dispatcher_ = std::make_unique<Dispatcher>(loop_, dispatch, fleet_.get());

  auto functions = store_->ListLive();
  if (!functions.ok()) return functions.status();
  for (auto& fn : *functions) {
    dispatcher_->SetLive(std::make_shared<const FunctionVersion>(std::move(fn)));
  }
  spdlog::info("data directory {}: {} function(s), schema version {}", options_.data_dir,
               functions->size(), store_->schema_version());

  auto event_queue = EventQueue::Open(store_->path());
  if (!event_queue.ok()) return event_queue.status();
  event_queue_ = std::move(event_queue).value();
  auto events = EventService::Start(loop_, event_queue_, dispatcher_.get(), options_.events);
  if (!events.ok()) return events.status();
  events_ = std::move(events).value();

  server_ = std::make_unique<HttpServer>(
      loop_, options_.http,
      [this](HttpRequest&& request, HttpResponder responder) {
        Handle(std::move(request), std::move(responder));
      },
      [this](const HttpRequest& request) { return BodyLimit(request); });
  FLINT_RETURN_IF_ERROR(server_->Listen(options_.listen_host, options_.listen_port));
  dispatcher_->Start();
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
  server_->Shutdown(options_.drain_timeout_ms, [this] {
    dispatcher_->Shutdown([this] {
      spdlog::info("flintd stopped");
      sigterm_.Unref();
      sigint_.Unref();
      uv_stop(loop_);
    });
  });
}

size_t Flintd::BodyLimit(const HttpRequest& request) const {
  if (request.method == "PUT" && request.path.rfind("/v1/functions/", 0) == 0) {
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
    return responder.Send(Json(200, {{"status", stopping_ ? "stopping" : "ok"}}));
  }
  if (path == "/") {
    return responder.Send(Json(200, {{"name", "flint"},
                                     {"invoke", "/fn/NAME"},
                                     {"api", "/v1/functions"},
                                     {"health", "/healthz"}}));
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
  auto fn = dispatcher_->FindLive(name);
  if (!fn) return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  if (const std::string* type = request.FindHeader("x-flint-invocation-type");
      type != nullptr && (*type == "Event" || *type == "event")) {
    return events_->Submit(fn, std::move(request), std::move(responder));
  }
  dispatcher_->Invoke(fn, std::move(request), std::move(rest_path), std::move(responder));
}

bool Flintd::Authorized(const HttpRequest& request) const {
  const std::string* header = request.FindHeader("authorization");
  if (header == nullptr || header->size() < 8) return false;
  std::string_view value(*header);
  if (value.substr(0, 7) != "Bearer " && value.substr(0, 7) != "bearer ") return false;
  return token_hashes_.count(Sha256Hex(value.substr(7))) > 0;
}

void Flintd::HandleManagement(HttpRequest&& request, HttpResponder responder) {
  if (!Authorized(request)) {
    HttpResponse response = ErrorResponse(
        Status(Code::kUnauthenticated,
               request.FindHeader("authorization") == nullptr
                   ? "missing bearer token: send 'Authorization: Bearer <token>' (the admin "
                     "token is in <data-dir>/admin.token)"
                   : "invalid bearer token"));
    response.headers.emplace_back("www-authenticate", "Bearer");
    return responder.Send(std::move(response));
  }
  if (events_->HandleManagement(request, responder)) return;
  const std::string path = request.path;
  const std::string& method = request.method;
  if (path == "/v1/functions" || path == "/v1/functions/") {
    if (method != "GET") return responder.Send(MethodNotAllowed(method, path, "GET"));
    return List(std::move(responder));
  }
  if (path == "/v1/billing" || path == "/v1/billing/") {
    if (method != "GET") return responder.Send(MethodNotAllowed(method, path, "GET"));
    return Billing(request, std::move(responder));
  }
  if (path == "/v1/billing/prices") {
    if (method != "GET" && method != "PUT") {
      return responder.Send(MethodNotAllowed(method, path, "GET, PUT"));
    }
    return Prices(std::move(request), std::move(responder));
  }
  if (path == "/v1/pools" || path == "/v1/pools/") {
    if (method != "GET") return responder.Send(MethodNotAllowed(method, path, "GET"));
    return Pools(std::move(responder));
  }
  const std::string prefix = "/v1/functions/";
  if (path.rfind(prefix, 0) != 0) {
    return responder.Send(ErrorResponse(NotFound("no route for " + path)));
  }
  std::string rest = path.substr(prefix.size());
  std::string sub;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    sub = rest.substr(slash + 1);
    rest.resize(slash);
  }
  if (Status valid = ValidateFunctionName(rest); !valid.ok()) {
    return responder.Send(ErrorResponse(valid));
  }
  if (sub == "logs") {
    if (method != "GET") return responder.Send(MethodNotAllowed(method, path, "GET"));
    return Logs(rest, request, std::move(responder));
  }
  if (!sub.empty()) return responder.Send(ErrorResponse(NotFound("no route for " + path)));
  if (method == "PUT" || method == "POST")
    return Deploy(rest, std::move(request), std::move(responder));
  if (method == "GET") return Describe(rest, std::move(responder));
  if (method == "DELETE") return Delete(rest, std::move(responder));
  responder.Send(MethodNotAllowed(method, path, "GET, PUT, DELETE"));
}

void Flintd::List(HttpResponder responder) {
  auto result = std::make_shared<Result<std::vector<FunctionVersion>>>(Internal("not run"));
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [store, result] { *result = store->ListLive(); },
      [result, shared] {
        if (!result->ok()) return shared->Send(ErrorResponse(result->status()));
        json list = json::array();
        for (const auto& fn : **result) list.push_back(FunctionInfo(fn));
        shared->Send(Json(200, {{"functions", list}}));
      });
}

void Flintd::Pools(HttpResponder responder) {
  NodeStatus n = dispatcher_->Node();
  json pools = json::array();
  for (const auto& p : dispatcher_->AllPoolStatuses()) {
    json pool = PoolJson(p);
    pool["name"] = p.name;
    pools.push_back(std::move(pool));
  }
  responder.Send(Json(200, {{"node",
                             {{"memory_budget_mb", n.memory_budget_mb},
                              {"memory_used_mb", n.memory_used_mb},
                              {"memory_reserved_mb", n.memory_reserved_mb},
                              {"workers", n.workers},
                              {"generic_ready", n.generic_ready},
                              {"idle_worker_ms", n.idle_worker_ms},
                              {"evictions", n.evictions},
                              {"cold_starts", n.cold_starts},
                              {"invocations", n.invocations}}},
                            {"pools", pools}}));
}

void Flintd::Describe(const std::string& name, HttpResponder responder) {
  struct Out {
    Result<FunctionVersion> live = Internal("not run");
    Result<std::vector<FunctionVersion>> versions = Internal("not run");
    Result<meter::Report> usage = Internal("not run");  // the last 24 hours
  };
  auto out = std::make_shared<Out>();
  auto store = store_;
  auto ledger = ledger_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [store, ledger, out, name] {
        out->live = store->GetLive(name);
        if (out->live.ok()) out->versions = store->ListVersions(name);
        meter::ReportParams day;
        day.to_ms = WallClockMs();
        day.from_ms = day.to_ms - 24 * 3600 * 1000;
        day.function = name;
        day.by = LedgerGroupBy::kNone;
        out->usage = meter::RunReport(*ledger, day);
      },
      [this, out, shared, name] {
        if (!out->live.ok()) return shared->Send(ErrorResponse(out->live.status()));
        if (!out->versions.ok()) return shared->Send(ErrorResponse(out->versions.status()));
        json versions = json::array();
        for (const auto& v : *out->versions) {
          versions.push_back({{"version", v.version},
                              {"created_at", Rfc3339(v.created_at_ms)},
                              {"code_digest", v.code_digest},
                              {"runtime", RuntimeName(v.runtime)}});
        }
        json pools = json::array();
        PoolStatus empty;
        empty.version = out->live->version;
        empty.memory_mb = out->live->config.memory_mb;
        empty.min_instances = out->live->config.min_instances;
        json live_pool = PoolJson(empty);
        for (const auto& p : dispatcher_->PoolStatuses(name)) {
          json pool = PoolJson(p);
          if (p.version == out->live->version) live_pool = pool;
          pools.push_back(pool);
        }
        json usage = nullptr;
        if (out->usage.ok()) {
          usage = json::parse(meter::RowJson(out->usage->total));
          usage.erase("key");
          usage["from"] = Rfc3339(out->usage->params.from_ms);
          usage["to"] = Rfc3339(out->usage->params.to_ms);
        }
        shared->Send(Json(200, {{"function", FunctionInfo(*out->live)},
                                {"versions", versions},
                                {"pool", live_pool},
                                {"pools", pools},
                                {"usage", usage}}));
      });
}

void Flintd::Delete(const std::string& name, HttpResponder responder) {
  auto status = std::make_shared<Status>();
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [store, status, name] { *status = store->DeleteFunction(name); },
      [this, status, shared, name] {
        if (!status->ok()) return shared->Send(ErrorResponse(*status));
        dispatcher_->Remove(name);
        spdlog::info("deleted function {}", name);
        shared->Send(Json(200, {{"deleted", name}}));
      });
}

void Flintd::Logs(const std::string& name, const HttpRequest& request, HttpResponder responder) {
  size_t limit = 100;
  if (auto pos = request.query.find("limit="); pos != std::string::npos) {
    limit = std::strtoul(request.query.c_str() + pos + 6, nullptr, 10);
    if (limit == 0 || limit > 1000) limit = 1000;
  }
  if (!dispatcher_->FindLive(name)) {
    return responder.Send(ErrorResponse(NotFound("function '" + name + "' does not exist")));
  }
  json logs = json::array();
  for (const auto& r : dispatcher_->logs().Tail(name, limit)) {
    logs.push_back({{"time", Rfc3339(static_cast<int64_t>(r.time_ms))},
                    {"request_id", r.request_id},
                    {"level", r.level},
                    {"message", r.message}});
  }
  responder.Send(Json(200, {{"logs", logs}}));
}

void Flintd::Deploy(const std::string& name, HttpRequest&& request, HttpResponder responder) {
  // Step 1 (thread pool): parse, decode and store the code content-addressed.
  struct State {
    std::string body;
    Result<PreparedDeploy> prepared = Internal("not run");
    Result<FunctionVersion> created = Internal("not run");
  };
  auto state = std::make_shared<State>();
  state->body = std::move(request.body);
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto store = store_;
  auto code = code_;
  std::string data_dir = options_.data_dir;
  BuildOptions build = DefaultBuildOptions();
  if (!options_.sdk_include_dir.empty()) build.sdk_include_dir = options_.sdk_include_dir;
  loop::RunBlocking(
      loop_,
      [state, code, data_dir, build] {
        state->prepared = PrepareDeploy(state->body, *code, data_dir, build);
        state->body.clear();
      },
      [this, state, shared, store, name] {
        if (!state->prepared.ok()) return shared->Send(ErrorResponse(state->prepared.status()));
        // Step 2 (a worker): the code must load — syntax errors and a missing handler are
        // reported now, not on the first request.
        const PreparedDeploy& p = *state->prepared;
        FunctionVersion candidate;
        candidate.name = name;
        candidate.runtime = p.runtime;
        candidate.entry = p.entry;
        candidate.code_digest = p.code_digest;
        candidate.config = p.config;
        dispatcher_->CheckLoads(candidate, [this, state, shared, store, name](Status loaded) {
          if (!loaded.ok()) return shared->Send(ErrorResponse(loaded));
          // Step 3 (thread pool): record the new immutable version.
          loop::RunBlocking(
              loop_,
              [state, store, name] {
                const PreparedDeploy& p = *state->prepared;
                state->created = store->CreateVersion(name, std::string(RuntimeName(p.runtime)),
                                                      p.entry, p.code_digest, p.config);
              },
              [this, state, shared] {
                if (!state->created.ok())
                  return shared->Send(ErrorResponse(state->created.status()));
                auto fn = std::make_shared<const FunctionVersion>(*state->created);
                dispatcher_->SetLive(fn);
                spdlog::info("deployed {}@{} ({} file(s), digest {})", fn->name, fn->version,
                             state->prepared->file_count, fn->code_digest.substr(0, 12));
                shared->Send(Json(201, {{"function", FunctionInfo(*fn)}}));
              });
        });
      });
}

void Flintd::Billing(const HttpRequest& request, HttpResponder responder) {
  auto params = meter::ParseReportParams(meter::SplitQuery(request.query), WallClockMs());
  if (!params.ok()) return responder.Send(ErrorResponse(params.status()));
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  auto ledger = ledger_;
  // Flush first: every invocation answered before this request is in the report.
  meter_->Flush([this, shared, ledger, p = *params] {
    auto out = std::make_shared<Result<meter::Report>>(Internal("not run"));
    loop::RunBlocking(
        loop_, [ledger, out, p] { *out = meter::RunReport(*ledger, p); },
        [out, shared] {
          if (!out->ok()) return shared->Send(ErrorResponse(out->status()));
          HttpResponse response;
          std::string type;
          response.body = meter::RenderReport(**out, &type);
          response.headers.emplace_back("content-type", type);
          shared->Send(std::move(response));
        });
  });
}

void Flintd::Prices(HttpRequest&& request, HttpResponder responder) {
  auto sheet_json = [](const meter::PriceSheet& s) {
    return json{{"id", s.id},
                {"effective_from", Rfc3339(s.effective_from_ms)},
                {"per_million_requests_usd", meter::FormatDollars(s.per_million_requests_pico)},
                {"per_gb_second_usd", meter::FormatDollars(s.per_gb_second_pico)},
                {"bill_init", s.bill_init}};
  };
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  if (request.method == "GET") {
    auto rows = std::make_shared<Result<std::vector<PriceSheetRow>>>(Internal("not run"));
    auto ledger = ledger_;
    loop::RunBlocking(
        loop_, [ledger, rows] { *rows = ledger->PriceSheets(); },
        [rows, shared, sheet_json] {
          if (!rows->ok()) return shared->Send(ErrorResponse(rows->status()));
          json list = json::array();
          for (const auto& r : **rows) {
            meter::PriceSheet s;
            s.id = r.id;
            s.effective_from_ms = r.effective_from_ms;
            s.per_million_requests_pico = r.per_million_requests_pico;
            s.per_gb_second_pico = r.per_gb_second_pico;
            s.bill_init = r.bill_init;
            list.push_back(sheet_json(s));
          }
          shared->Send(Json(200, {{"prices", list}}));
        });
    return;
  }
  // PUT {"per_million_requests_usd": "0.20", "per_gb_second_usd": "0.0000166667",
  //      "bill_init": false, "effective_from": "2030-01-01T00:00:00Z" (default: now)}
  json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return shared->Send(ErrorResponse(InvalidArgument("the body must be a JSON object")));
  }
  meter::PriceSheet sheet;
  for (const char* key : {"per_million_requests_usd", "per_gb_second_usd"}) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string()) {
      return shared->Send(ErrorResponse(InvalidArgument(
          std::string("'") + key + "' is required, as a decimal string such as \"0.20\"")));
    }
    auto pico = meter::ParseDollars(it->get<std::string>());
    if (!pico.ok()) return shared->Send(ErrorResponse(pico.status()));
    (std::string(key) == "per_gb_second_usd" ? sheet.per_gb_second_pico
                                             : sheet.per_million_requests_pico) = *pico;
  }
  if (auto it = body.find("bill_init"); it != body.end()) {
    if (!it->is_boolean()) {
      return shared->Send(ErrorResponse(InvalidArgument("'bill_init' must be true or false")));
    }
    sheet.bill_init = it->get<bool>();
  }
  if (auto it = body.find("effective_from"); it != body.end()) {
    if (!it->is_string()) {
      return shared->Send(ErrorResponse(InvalidArgument("'effective_from' must be a time string")));
    }
    auto t = meter::ParseTime(it->get<std::string>(), WallClockMs());
    if (!t.ok()) return shared->Send(ErrorResponse(t.status()));
    sheet.effective_from_ms = *t;
  }
  meter_->SetPrices(sheet, [shared, sheet_json](Result<meter::PriceSheet> added) {
    if (!added.ok()) return shared->Send(ErrorResponse(added.status()));
    spdlog::info("price sheet {} takes effect at {}", added->id, Rfc3339(added->effective_from_ms));
    shared->Send(Json(201, {{"price_sheet", sheet_json(*added)}}));
  });
}

}  // namespace flint::scheduler
