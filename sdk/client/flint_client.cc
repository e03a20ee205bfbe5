#include "sdk/client/flint_client.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "sdk/encoding/base64.h"

namespace flint::client {
namespace {

using nlohmann::json;

Status BadAnswer(const std::string& what) {
  return Status(Code::kIo, "unexpected answer from flintd: " + what);
}

std::string GetString(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

uint64_t GetUint(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer()) {
    int64_t v = it->get<int64_t>();
    return v < 0 ? 0 : static_cast<uint64_t>(v);
  }
  double d = it->get<double>();
  return d < 0 ? 0 : static_cast<uint64_t>(d);
}

FunctionInfo DecodeFunctionInfo(const json& j) {
  FunctionInfo info;
  info.name = GetString(j, "name");
  info.version = GetUint(j, "version");
  info.runtime = GetString(j, "runtime");
  info.entry = GetString(j, "entry");
  info.code_digest = GetString(j, "code_digest");
  info.memory_mb = GetUint(j, "memory_mb");
  info.timeout_ms = GetUint(j, "timeout_ms");
  info.keep_alive_ms = GetUint(j, "keep_alive_ms");
  info.max_instances = GetUint(j, "max_instances");
  info.concurrency = GetUint(j, "concurrency");
  info.min_instances = GetUint(j, "min_instances");
  info.reserved_concurrency = GetUint(j, "reserved_concurrency");
  info.keep_alive_policy = GetString(j, "keep_alive_policy");
  info.network = GetString(j, "network");
  if (auto it = j.find("cpu"); it != j.end() && it->is_number()) info.cpu = it->get<double>();
  if (auto it = j.find("max_retries"); it != j.end() && it->is_number_integer()) {
    info.max_retries = it->get<int64_t>();
  }
  info.max_event_age_ms = GetUint(j, "max_event_age_ms");
  info.created_at = GetString(j, "created_at");
  if (auto it = j.find("env"); it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      info.env[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  if (auto it = j.find("secrets"); it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) info.secrets.push_back(v.get<std::string>());
    }
  }
  return info;
}

double GetDouble(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

PoolInfo DecodePool(const json& p) {
  PoolInfo pool;
  if (auto w = p.find("workers"); w != p.end() && w->is_object()) {
    pool.starting = GetUint(*w, "starting");
    pool.idle = GetUint(*w, "idle");
    pool.busy = GetUint(*w, "busy");
  }
  pool.name = GetString(p, "name");
  pool.version = GetUint(p, "version");
  pool.queue = GetUint(p, "queue");
  pool.invocations = GetUint(p, "invocations");
  pool.cold_starts = GetUint(p, "cold_starts");
  pool.errors = GetUint(p, "errors");
  pool.throttles = GetUint(p, "throttles");
  pool.evictions = GetUint(p, "evictions");
  pool.idle_worker_ms = GetUint(p, "idle_worker_ms");
  pool.cpu_ms = GetDouble(p, "cpu_ms");
  pool.peak_memory_mb = GetDouble(p, "peak_memory_mb");
  pool.memory_mb = GetUint(p, "memory_mb");
  pool.min_instances = GetUint(p, "min_instances");
  pool.waiting_for = GetString(p, "waiting_for");
  if (auto c = p.find("cold_start_ms"); c != p.end() && c->is_object()) {
    pool.cold_start_p50_ms = GetDouble(*c, "p50");
    pool.cold_start_p99_ms = GetDouble(*c, "p99");
  }
  if (auto k = p.find("keep_alive"); k != p.end() && k->is_object()) {
    pool.keep_alive_policy = GetString(*k, "policy");
    auto learned = k->find("learned");
    pool.keep_alive_learned = learned != k->end() && learned->is_boolean() && learned->get<bool>();
    pool.prewarm_ms = GetUint(*k, "prewarm_ms");
    pool.window_ms = GetUint(*k, "window_ms");
  }
  return pool;
}

// Parses `text` as a JSON object; never throws.
Result<json> ParseObject(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return BadAnswer("not a JSON object: " + text.substr(0, 120));
  }
  return j;
}

}  // namespace

std::optional<Code> CodeFromName(std::string_view name) {
#define FLINT_X(enum_name, str, http) \
  if (name == str) return Code::enum_name;
  FLINT_STATUS_CODES(FLINT_X)
#undef FLINT_X
  return std::nullopt;
}

bool IsFlintErrorBody(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto err = j.find("error");
  if (err == j.end() || !err->is_object()) return false;
  auto code = err->find("code");
  return code != err->end() && code->is_string() &&
         CodeFromName(code->get<std::string>()).has_value();
}

Status ErrorFromResponse(const HttpResponse& response) {
  std::string message;
  std::optional<Code> code;
  json j = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) {
    auto err = j.find("error");
    if (err != j.end() && err->is_object()) {
      message = GetString(*err, "message");
      code = CodeFromName(GetString(*err, "code"));
    } else if (err != j.end() && err->is_string()) {
      message = err->get<std::string>();
    }
  }
  if (!code || *code == Code::kOk) {
    switch (response.status) {
      case 400:
        code = Code::kInvalidArgument;
        break;
      case 401:
        code = Code::kUnauthenticated;
        break;
      case 404:
        code = Code::kNotFound;
        break;
      case 405:
        code = Code::kMethodNotAllowed;
        break;
      case 408:
        code = Code::kRequestTimeout;
        break;
      case 409:
        code = Code::kAlreadyExists;
        break;
      case 413:
        code = Code::kPayloadTooLarge;
        break;
      case 429:
        code = Code::kTooManyRequests;
        break;
      case 431:
        code = Code::kHeadersTooLarge;
        break;
      case 502:
        code = Code::kFunctionCrashed;
        break;
      case 503:
        code = Code::kUnavailable;
        break;
      case 504:
        code = Code::kFunctionTimeout;
        break;
      default:
        code = Code::kInternal;
        break;
    }
  }
  if (message.empty()) {
    std::string body = response.body.substr(0, 200);
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
    message = !body.empty() && body.find('\n') == std::string::npos && body.front() != '<'
                  ? body
                  : (response.reason.empty() ? "HTTP " + std::to_string(response.status)
                                             : response.reason);
  }
  return Status(*code, message);
}

namespace {

// The settings of `c` that are set, into `j`.
void AddConfig(const FunctionConfig& c, json& j) {
  if (c.memory_mb) j["memory_mb"] = *c.memory_mb;
  if (c.timeout_ms) j["timeout_ms"] = *c.timeout_ms;
  if (c.keep_alive_ms) j["keep_alive_ms"] = *c.keep_alive_ms;
  if (c.max_instances) j["max_instances"] = *c.max_instances;
  if (c.concurrency) j["concurrency"] = *c.concurrency;
  if (c.min_instances) j["min_instances"] = *c.min_instances;
  if (c.reserved_concurrency) j["reserved_concurrency"] = *c.reserved_concurrency;
  if (c.keep_alive_policy) j["keep_alive_policy"] = *c.keep_alive_policy;
  if (c.network) j["network"] = *c.network;
  if (c.cpu) j["cpu"] = *c.cpu;
  if (c.max_retries) j["max_retries"] = *c.max_retries;
  if (c.max_event_age_ms) j["max_event_age_ms"] = *c.max_event_age_ms;
  if (c.is_private) j["private"] = *c.is_private;
  if (c.env) j["env"] = *c.env;
  if (!c.env_set.empty()) j["env_set"] = c.env_set;
  if (!c.env_unset.empty()) j["env_unset"] = c.env_unset;
}

}  // namespace

bool FunctionConfig::empty() const {
  json j = json::object();
  AddConfig(*this, j);
  return j.empty();
}

std::string DeployRequestJson(const DeploySpec& spec) {
  json j = json::object();
  if (!spec.runtime.empty()) j["runtime"] = spec.runtime;
  if (!spec.entry.empty()) j["entry"] = spec.entry;
  if (spec.archive.empty()) {
    json files = json::object();
    for (const auto& [path, bytes] : spec.files) files[path] = Base64Encode(bytes);
    j["files"] = std::move(files);
  }
  AddConfig(spec.config, j);
  // Replace invalid UTF-8 in names or env values rather than throwing.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string DeployMultipartBody(const DeploySpec& spec, const std::string& boundary) {
  std::string document = DeployRequestJson(spec);
  std::string out;
  out.reserve(spec.archive.size() + document.size() + 512);
  out += "--" + boundary + "\r\n";
  out += "Content-Disposition: form-data; name=\"deploy\"\r\n";
  out += "Content-Type: application/json\r\n\r\n";
  out += document;
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Disposition: form-data; name=\"code\"; filename=\"code.tar.gz\"\r\n";
  out += "Content-Type: application/gzip\r\n\r\n";
  out += spec.archive;
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

std::string ConfigRequestJson(const FunctionConfig& config) {
  json j = json::object();
  AddConfig(config, j);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<FunctionInfo> ParseFunctionInfoJson(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(text));
  auto it = j.find("function");
  if (it == j.end() || !it->is_object()) return BadAnswer("no \"function\" object");
  return DecodeFunctionInfo(*it);
}

Result<std::vector<FunctionInfo>> ParseFunctionListJson(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(text));
  auto it = j.find("functions");
  if (it == j.end() || !it->is_array()) return BadAnswer("no \"functions\" array");
  std::vector<FunctionInfo> out;
  for (const auto& f : *it) {
    if (f.is_object()) out.push_back(DecodeFunctionInfo(f));
  }
  return out;
}

Result<FunctionDetails> ParseFunctionDetailsJson(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(text));
  auto it = j.find("function");
  if (it == j.end() || !it->is_object()) return BadAnswer("no \"function\" object");
  FunctionDetails d;
  d.function = DecodeFunctionInfo(*it);
  if (auto v = j.find("versions"); v != j.end() && v->is_array()) {
    for (const auto& e : *v) {
      if (!e.is_object()) continue;
      d.versions.push_back(
          {GetUint(e, "version"), GetString(e, "created_at"), GetString(e, "code_digest")});
    }
  }
  if (auto p = j.find("pool"); p != j.end() && p->is_object()) d.pool = DecodePool(*p);
  if (auto l = j.find("limits"); l != j.end() && l->is_object()) {
    LimitsInfo limits;
    limits.cpu_mode = GetString(*l, "cpu_mode");
    limits.cpu_weight = GetUint(*l, "cpu_weight");
    limits.cpu_quota = GetDouble(*l, "cpu_quota");
    limits.cpu_period_ms = GetUint(*l, "cpu_period_ms");
    d.limits = limits;
  }
  return d;
}

Result<NodeInfo> ParseNodeInfoJson(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(text));
  auto n = j.find("node");
  if (n == j.end() || !n->is_object()) return BadAnswer("no \"node\" object");
  NodeInfo node;
  node.memory_budget_mb = GetUint(*n, "memory_budget_mb");
  node.memory_used_mb = GetUint(*n, "memory_used_mb");
  node.memory_reserved_mb = GetUint(*n, "memory_reserved_mb");
  node.workers = GetUint(*n, "workers");
  node.generic_ready = GetUint(*n, "generic_ready");
  node.idle_worker_ms = GetUint(*n, "idle_worker_ms");
  node.evictions = GetUint(*n, "evictions");
  node.cold_starts = GetUint(*n, "cold_starts");
  node.invocations = GetUint(*n, "invocations");
  if (auto p = j.find("pools"); p != j.end() && p->is_array()) {
    for (const auto& e : *p) {
      if (e.is_object()) node.pools.push_back(DecodePool(e));
    }
  }
  return node;
}

Result<std::vector<LogEntry>> ParseLogsJson(const std::string& text) {
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(text));
  auto it = j.find("logs");
  if (it == j.end() || !it->is_array()) return BadAnswer("no \"logs\" array");
  std::vector<LogEntry> out;
  for (const auto& e : *it) {
    if (!e.is_object()) continue;
    out.push_back({GetString(e, "time"), GetString(e, "request_id"), GetString(e, "level"),
                   GetString(e, "message")});
  }
  return out;
}

FlintClient::FlintClient(HttpUrl url, std::string token, FlintClientOptions options)
    : http_(std::move(url), options.http), token_(std::move(token)), options_(options) {}

Result<HttpResponse> FlintClient::Exchange(HttpRequest request, uint32_t timeout_ms) {
  last_http_status_ = 0;
  http_.set_io_timeout_ms(timeout_ms);
  Result<HttpResponse> response = http_.Send(request);
  if (!response.ok()) {
    const Status& s = response.status();
    if (s.code() == Code::kUnavailable) {
      return Status(Code::kUnavailable,
                    "cannot reach flintd at " + http_.url().ToString() + ": " + s.message());
    }
    if (s.code() == Code::kInvalidArgument) return s;
    return Status(s.code(), "talking to flintd at " + http_.url().ToString() + ": " + s.message());
  }
  last_http_status_ = response->status;
  return response;
}

Result<std::string> FlintClient::Manage(const std::string& method, const std::string& target,
                                        std::string body, const std::string& content_type) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers.push_back({"Accept", "application/json"});
  if (!token_.empty()) request.headers.push_back({"Authorization", "Bearer " + token_});
  if (!body.empty()) request.headers.push_back({"Content-Type", content_type});
  request.body = std::move(body);
  FLINT_ASSIGN_OR_RETURN(HttpResponse response,
                         Exchange(std::move(request), options_.management_timeout_ms));
  if (response.status < 200 || response.status > 299) return ErrorFromResponse(response);
  return std::move(response.body);
}

Result<Reply<FunctionInfo>> FlintClient::Deploy(const std::string& name, const DeploySpec& spec) {
  auto send = [&]() -> Result<std::string> {
    std::string target = BuildTarget({"v1", "functions", name});
    if (spec.archive.empty()) return Manage("PUT", target, DeployRequestJson(spec));
    // A boundary that occurs nowhere in the parts (checked, since the archive is binary).
    std::string boundary;
    std::string document = DeployRequestJson(spec);
    for (uint64_t n = 0;; ++n) {
      boundary = "flint-deploy-" + std::to_string(spec.archive.size()) + "-" + std::to_string(n);
      if (spec.archive.find(boundary) == std::string::npos &&
          document.find(boundary) == std::string::npos) {
        break;
      }
    }
    return Manage("PUT", target, DeployMultipartBody(spec, boundary),
                  "multipart/form-data; boundary=" + boundary);
  };
  FLINT_ASSIGN_OR_RETURN(std::string body, send());
  FLINT_ASSIGN_OR_RETURN(FunctionInfo info, ParseFunctionInfoJson(body));
  return Reply<FunctionInfo>{std::move(info), std::move(body)};
}

Result<Reply<FunctionInfo>> FlintClient::Configure(const std::string& name,
                                                   const FunctionConfig& config) {
  FLINT_ASSIGN_OR_RETURN(std::string body, Manage("PATCH", BuildTarget({"v1", "functions", name}),
                                                  ConfigRequestJson(config)));
  FLINT_ASSIGN_OR_RETURN(FunctionInfo info, ParseFunctionInfoJson(body));
  return Reply<FunctionInfo>{std::move(info), std::move(body)};
}

Result<Reply<std::vector<FunctionInfo>>> FlintClient::List() {
  FLINT_ASSIGN_OR_RETURN(std::string body, Manage("GET", "/v1/functions", ""));
  FLINT_ASSIGN_OR_RETURN(std::vector<FunctionInfo> list, ParseFunctionListJson(body));
  return Reply<std::vector<FunctionInfo>>{std::move(list), std::move(body)};
}

Result<Reply<FunctionDetails>> FlintClient::Describe(const std::string& name) {
  FLINT_ASSIGN_OR_RETURN(std::string body,
                         Manage("GET", BuildTarget({"v1", "functions", name}), ""));
  FLINT_ASSIGN_OR_RETURN(FunctionDetails details, ParseFunctionDetailsJson(body));
  return Reply<FunctionDetails>{std::move(details), std::move(body)};
}

Result<Reply<std::string>> FlintClient::Delete(const std::string& name) {
  FLINT_ASSIGN_OR_RETURN(std::string body,
                         Manage("DELETE", BuildTarget({"v1", "functions", name}), ""));
  Result<json> j = ParseObject(body);
  std::string deleted = j.ok() ? GetString(*j, "deleted") : name;
  return Reply<std::string>{deleted.empty() ? name : deleted, std::move(body)};
}

Result<Reply<NodeInfo>> FlintClient::Pools() {
  FLINT_ASSIGN_OR_RETURN(std::string body, Manage("GET", "/v1/pools", ""));
  FLINT_ASSIGN_OR_RETURN(NodeInfo node, ParseNodeInfoJson(body));
  return Reply<NodeInfo>{std::move(node), std::move(body)};
}

Result<Reply<std::vector<LogEntry>>> FlintClient::Logs(const std::string& name, uint32_t limit) {
  std::string target = BuildTarget({"v1", "functions", name, "logs"},
                                   {{"limit", limit > 0 ? std::to_string(limit) : ""}});
  FLINT_ASSIGN_OR_RETURN(std::string body, Manage("GET", target, ""));
  FLINT_ASSIGN_OR_RETURN(std::vector<LogEntry> logs, ParseLogsJson(body));
  return Reply<std::vector<LogEntry>>{std::move(logs), std::move(body)};
}

Result<std::string> FlintClient::Billing(
    const std::vector<std::pair<std::string, std::string>>& query) {
  return Manage("GET", BuildTarget({"v1", "billing"}, query), "");
}

Result<std::string> FlintClient::Call(const std::string& method, const std::string& target,
                                      std::string body) {
  return Manage(method, target, std::move(body));
}

Result<std::string> FlintClient::Health() {
  HttpRequest request;
  request.target = "/healthz";
  FLINT_ASSIGN_OR_RETURN(HttpResponse response,
                         Exchange(std::move(request), options_.management_timeout_ms));
  if (response.status != 200) return ErrorFromResponse(response);
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(response.body));
  return GetString(j, "status");
}

Result<std::string> FlintClient::ServerVersion() {
  HttpRequest request;
  request.target = "/";
  FLINT_ASSIGN_OR_RETURN(HttpResponse response,
                         Exchange(std::move(request), options_.management_timeout_ms));
  if (response.status != 200) return ErrorFromResponse(response);
  FLINT_ASSIGN_OR_RETURN(json j, ParseObject(response.body));
  return GetString(j, "version");
}

Result<HttpResponse> FlintClient::Invoke(const std::string& name, const InvokeRequest& invoke) {
  HttpRequest request;
  request.method = !invoke.method.empty() ? invoke.method : (invoke.body.empty() ? "GET" : "POST");
  if (!invoke.path.empty() && invoke.path.front() != '/' && invoke.path.front() != '?') {
    return InvalidArgument("invalid path '" + invoke.path.substr(0, 80) +
                           "': it must start with '/' or '?'");
  }
  request.target = BuildTarget({"fn", name}) + invoke.path;
  request.headers = invoke.headers;
  // Private functions need the token (flintd removes it before any function sees it), unless
  // the caller sends an Authorization header of its own.
  bool own = false;
  for (const Header& h : request.headers) {
    own |= h.name.size() == 13 && strncasecmp(h.name.c_str(), "authorization", 13) == 0;
  }
  if (!token_.empty() && !own) request.headers.push_back({"Authorization", "Bearer " + token_});
  request.body = invoke.body;
  return Exchange(std::move(request), options_.invoke_timeout_ms);
}

}  // namespace flint::client
