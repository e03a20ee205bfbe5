#include "scheduler/app/flintd.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

#include "scheduler/app/deploy.h"
#include "scheduler/store/admin_token.h"
#include "sdk/core/base64.h"
#include "sdk/core/text.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

std::string Rfc3339(int64_t epoch_ms) {
  time_t secs = static_cast<time_t>(epoch_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(epoch_ms % 1000));
  return buf;
}

HttpResponse Json(int status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type", "application/json");
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

json FunctionInfo(const FunctionVersion& fn) {
  json env = json::object();
  for (const auto& [k, v] : fn.config.env) env[k] = v;
  return {{"name", fn.name},
          {"version", fn.version},
          {"runtime", fn.runtime},
          {"entry", fn.entry},
          {"code_digest", fn.code_digest},
          {"memory_mb", fn.config.memory_mb},
          {"timeout_ms", fn.config.timeout_ms},
          {"keep_alive_ms", fn.config.keep_alive_ms},
          {"max_instances", fn.config.max_instances},
          {"concurrency", fn.config.concurrency},
          {"env", env},
          {"created_at", Rfc3339(fn.created_at_ms)}};
}

HttpResponse MethodNotAllowed(const std::string& method, const std::string& path,
                              const std::string& allow) {
  HttpResponse response =
      ErrorResponse(Status(Code::kMethodNotAllowed, "method " + method + " is not allowed on " +
                                                        path + " (allowed: " + allow + ")"));
  response.headers.emplace_back("allow", allow);
  return response;
}

std::string ExecutableDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

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

  DispatcherOptions dispatch;
  dispatch.worker_path = options_.worker_path;
  dispatch.default_keep_alive_ms = options_.keep_alive_ms;
  dispatch.max_queue = options_.max_queue;
  dispatch.queue_timeout_ms = options_.queue_timeout_ms;
  dispatch.prewarm_js = options_.prewarm;
  auto code_store = code_;
  dispatcher_ = std::make_unique<Dispatcher>(
      loop_, dispatch, MakeProcessSpawner(),
      [code_store](const FunctionVersion& fn) { return code_store->DirOf(fn.code_digest); });

  auto functions = store_->ListLive();
  if (!functions.ok()) return functions.status();
  for (auto& fn : *functions) {
    dispatcher_->SetLive(std::make_shared<const FunctionVersion>(std::move(fn)));
  }
  spdlog::info("data directory {}: {} function(s), schema version {}", options_.data_dir,
               functions->size(), store_->schema_version());

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
  const std::string path = request.path;
  const std::string& method = request.method;
  if (path == "/v1/functions" || path == "/v1/functions/") {
    if (method != "GET") return responder.Send(MethodNotAllowed(method, path, "GET"));
    return List(std::move(responder));
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

void Flintd::Describe(const std::string& name, HttpResponder responder) {
  struct Out {
    Result<FunctionVersion> live = Internal("not run");
    Result<std::vector<FunctionVersion>> versions = Internal("not run");
  };
  auto out = std::make_shared<Out>();
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [store, out, name] {
        out->live = store->GetLive(name);
        if (out->live.ok()) out->versions = store->ListVersions(name);
      },
      [this, out, shared, name] {
        if (!out->live.ok()) return shared->Send(ErrorResponse(out->live.status()));
        if (!out->versions.ok()) return shared->Send(ErrorResponse(out->versions.status()));
        json versions = json::array();
        for (const auto& v : *out->versions) {
          versions.push_back({{"version", v.version},
                              {"created_at", Rfc3339(v.created_at_ms)},
                              {"code_digest", v.code_digest},
                              {"runtime", v.runtime}});
        }
        json pools = json::array();
        json live_pool = {{"workers", {{"starting", 0}, {"idle", 0}, {"busy", 0}}},
                          {"queue", 0},
                          {"invocations", 0},
                          {"cold_starts", 0},
                          {"errors", 0},
                          {"throttles", 0}};
        for (const auto& p : dispatcher_->PoolStatuses(name)) {
          json pool = {
              {"version", p.version},
              {"workers",
               {{"starting", p.counts.starting}, {"idle", p.counts.idle}, {"busy", p.counts.busy}}},
              {"queue", p.counts.queued},
              {"invocations", p.invocations},
              {"cold_starts", p.cold_starts},
              {"errors", p.errors},
              {"throttles", p.throttles}};
          if (p.version == out->live->version) live_pool = pool;
          pools.push_back(pool);
        }
        shared->Send(Json(200, {{"function", FunctionInfo(*out->live)},
                                {"versions", versions},
                                {"pool", live_pool},
                                {"pools", pools}}));
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
  loop::RunBlocking(
      loop_,
      [state, code, data_dir] {
        state->prepared = PrepareDeploy(state->body, *code, data_dir);
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
                state->created =
                    store->CreateVersion(name, p.runtime, p.entry, p.code_digest, p.config);
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

}  // namespace flint::scheduler
