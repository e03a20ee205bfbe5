// FlintClient: typed calls for flintd's HTTP API (docs/http-api.md), used by the CLI and tests.
//
// Management calls (/v1/functions...) send the bearer token given at construction and return
// the decoded answer together with its raw JSON (for `flint --json`). A non-2xx answer becomes
// a Status whose code is the error's wire code ("not_found" -> Code::kNotFound) and whose
// message is flintd's message; last_http_status() keeps the exact HTTP status. Transport
// failures are Statuses too (kUnavailable: "cannot reach flintd at URL: connection refused").
// Invoke() returns the function's HTTP response whatever its status.
//
// Never throws. Not thread-safe: one client per thread. Keeps one connection alive.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sdk/client/http_client.h"
#include "sdk/core/status.h"

namespace flint::client {

// Optional per-function settings of a deploy or a configuration change; unset fields keep the
// function's current values (flintd's defaults for a new function).
struct FunctionConfig {
  std::optional<uint32_t> memory_mb;
  std::optional<uint64_t> timeout_ms;
  std::optional<uint64_t> keep_alive_ms;
  std::optional<uint32_t> max_instances;
  std::optional<uint32_t> concurrency;
  std::optional<uint32_t> min_instances;
  std::optional<uint32_t> reserved_concurrency;
  std::optional<std::string> keep_alive_policy;  // "fixed" or "adaptive"
  std::optional<std::string> network;            // "none" or "outbound"
  std::optional<double> cpu;                     // a hard CPU quota in CPUs (0: none)
  std::optional<uint32_t> max_retries;           // events: retries after the first attempt
  std::optional<uint64_t> max_event_age_ms;      // events: older ones are dead-lettered
  std::optional<bool> is_private;                // invoking needs a token with the invoke scope
  // The environment: `env`, when set, replaces it whole; then `env_set` sets variables and
  // `env_unset` removes them, keeping the rest.
  std::optional<std::map<std::string, std::string>> env;
  std::map<std::string, std::string> env_set;
  std::vector<std::string> env_unset;

  // True when no field is set.
  bool empty() const;
};

// The code travels either as `files` (in the JSON document, base64) or, when `archive` is not
// empty, as that tar or tar.gz archive in a multipart/form-data upload beside the JSON document
// (docs/http-api.md, "Deploy"); `flint deploy` sends an archive.
struct DeploySpec {
  std::string runtime;  // "js" or "cpp"; empty lets flintd decide
  std::string entry;    // relative path of the entry file; empty lets flintd decide
  std::map<std::string, std::string> files;  // relative path -> raw bytes (base64 on the wire)
  std::string archive;                       // the files as one tar or tar.gz
  FunctionConfig config;
};

struct FunctionInfo {
  std::string name;
  uint64_t version = 0;
  std::string runtime;
  std::string entry;
  std::string code_digest;
  uint64_t memory_mb = 0;
  uint64_t timeout_ms = 0;
  uint64_t keep_alive_ms = 0;
  uint64_t max_instances = 0;
  uint64_t concurrency = 0;
  uint64_t min_instances = 0;
  uint64_t reserved_concurrency = 0;
  std::string keep_alive_policy;  // "" = the node's default
  std::string network;            // "none" or "outbound"
  double cpu = 0;                 // a hard CPU quota in CPUs; 0: none
  int64_t max_retries = -1;       // -1 = the node's default
  uint64_t max_event_age_ms = 0;  // 0 = the node's default
  std::map<std::string, std::string> env;
  std::vector<std::string> secrets;  // names only: values never leave flintd
  std::string created_at;
};

struct VersionInfo {
  uint64_t version = 0;
  std::string created_at;
  std::string code_digest;
};

struct PoolInfo {
  uint64_t starting = 0;
  uint64_t idle = 0;
  uint64_t busy = 0;
  uint64_t queue = 0;
  uint64_t invocations = 0;
  uint64_t cold_starts = 0;
  uint64_t errors = 0;
  // Autoscaling (docs/autoscaling.md).
  std::string name;  // in Pools() answers
  uint64_t version = 0;
  double cold_start_p50_ms = 0;
  double cold_start_p99_ms = 0;
  uint64_t throttles = 0;
  uint64_t evictions = 0;
  uint64_t idle_worker_ms = 0;
  double cpu_ms = 0;          // CPU time of its invocations (the cgroups' figures when isolated)
  double peak_memory_mb = 0;  // the highest peak memory one of its workers reached
  uint64_t memory_mb = 0;
  uint64_t min_instances = 0;
  std::string keep_alive_policy;  // in force: "fixed" or "adaptive"
  bool keep_alive_learned = false;
  uint64_t prewarm_ms = 0;  // adaptive, once learned
  uint64_t window_ms = 0;
  std::string waiting_for;  // why queued requests have no worker yet

  uint64_t workers() const { return starting + idle + busy; }
};

// GET /v1/pools: the node's capacity and every pool.
struct NodeInfo {
  uint64_t memory_budget_mb = 0;
  uint64_t memory_used_mb = 0;
  uint64_t memory_reserved_mb = 0;
  uint64_t workers = 0;
  uint64_t generic_ready = 0;
  uint64_t idle_worker_ms = 0;
  uint64_t evictions = 0;
  uint64_t cold_starts = 0;
  uint64_t invocations = 0;
  std::vector<PoolInfo> pools;
};

// What each worker's cgroup gets (present when flintd isolates functions).
struct LimitsInfo {
  std::string cpu_mode;     // "weight" or "proportional-quota"
  uint64_t cpu_weight = 0;  // 1024 = one vCPU's share under contention
  double cpu_quota = 0;     // CPUs; 0: no hard quota (work-conserving)
  uint64_t cpu_period_ms = 0;
};

struct FunctionDetails {
  FunctionInfo function;
  std::optional<LimitsInfo> limits;
  std::vector<VersionInfo> versions;
  PoolInfo pool;
};

struct LogEntry {
  std::string time;
  std::string request_id;
  std::string level;
  std::string message;
};

// A decoded answer and the JSON it came from.
template <typename T>
struct Reply {
  T value;
  std::string json;
};

struct InvokeRequest {
  std::string method;  // empty: POST when there is a body, else GET
  std::string path;    // "" or "/rest[?query]", appended to /fn/NAME
  std::vector<Header> headers;
  std::string body;
};

struct FlintClientOptions {
  HttpClientOptions http;
  // Longest wait for an answer from the management API (a deploy loads the code in a worker).
  uint32_t management_timeout_ms = 120'000;
  // Longest wait for a function's answer (functions may run up to 15 minutes).
  uint32_t invoke_timeout_ms = 960'000;
};

class FlintClient {
 public:
  FlintClient(HttpUrl url, std::string token, FlintClientOptions options = {});

  // PUT /v1/functions/NAME: new code (and any settings given) as a new version.
  Result<Reply<FunctionInfo>> Deploy(const std::string& name, const DeploySpec& spec);
  // PATCH /v1/functions/NAME: a new version with the live version's code and `config` applied.
  Result<Reply<FunctionInfo>> Configure(const std::string& name, const FunctionConfig& config);
  Result<Reply<std::vector<FunctionInfo>>> List();
  Result<Reply<FunctionDetails>> Describe(const std::string& name);
  Result<Reply<std::string>> Delete(const std::string& name);
  // GET /v1/pools.
  Result<Reply<NodeInfo>> Pools();
  // `limit` 0 lets flintd pick its default.
  Result<Reply<std::vector<LogEntry>>> Logs(const std::string& name, uint32_t limit = 0);
  // GET /v1/billing?QUERY (docs/billing.md): the report's body as flintd rendered it (JSON,
  // CSV or a table). `query` pairs are escaped here; empty values are left out.
  Result<std::string> Billing(const std::vector<std::pair<std::string, std::string>>& query);
  // Any management call (e.g. the event routes of docs/triggers.md): the body of a 2xx answer,
  // or the error as a Status. `body`, when not empty, is sent as JSON.
  Result<std::string> Call(const std::string& method, const std::string& target,
                           std::string body = "");
  // GET /healthz: flintd's status word ("ok", "stopping").
  Result<std::string> Health();
  // GET /: flintd's version ("" from a flintd that does not say).
  Result<std::string> ServerVersion();
  // ANY /fn/NAME[path]: the function's response, whatever its HTTP status.
  Result<HttpResponse> Invoke(const std::string& name, const InvokeRequest& request);

  // Progress of the following calls (uploads, waits); an empty function turns it off.
  void set_progress(ProgressFn progress) { http_.set_progress(std::move(progress)); }

  // The HTTP status of the last answer (0 when none arrived).
  int last_http_status() const { return last_http_status_; }
  const HttpUrl& url() const { return http_.url(); }

 private:
  // Sends a management request and returns the body of a 2xx answer, or the error as a Status.
  Result<std::string> Manage(const std::string& method, const std::string& target, std::string body,
                             const std::string& content_type = "application/json");
  Result<HttpResponse> Exchange(HttpRequest request, uint32_t timeout_ms);

  HttpClient http_;
  std::string token_;
  FlintClientOptions options_;
  int last_http_status_ = 0;
};

// The JSON body of a deploy request (exposed for tests).
std::string DeployRequestJson(const DeploySpec& spec);
// The JSON body of a configuration change (exposed for tests).
std::string ConfigRequestJson(const FunctionConfig& config);
// The multipart/form-data body of an archive deploy, with `boundary`: part "deploy" (the JSON
// document without files) and part "code" (spec.archive).
std::string DeployMultipartBody(const DeploySpec& spec, const std::string& boundary);
// Decoders of flintd's answers (exposed for tests); they fail with kIo on unexpected JSON.
Result<FunctionInfo> ParseFunctionInfoJson(const std::string& json);  // {"function": {...}}
Result<FunctionDetails> ParseFunctionDetailsJson(const std::string& json);
Result<std::vector<FunctionInfo>> ParseFunctionListJson(const std::string& json);
Result<std::vector<LogEntry>> ParseLogsJson(const std::string& json);
Result<NodeInfo> ParseNodeInfoJson(const std::string& json);
// The Status for a non-2xx answer: the code and message of {"error":{"code","message"}} when
// the body has them, else a code chosen from the HTTP status and the reason phrase or body.
Status ErrorFromResponse(const HttpResponse& response);
// True when `body` is flintd's own error JSON ({"error":{"code":<a known code>,...}}) rather
// than a body the function produced.
bool IsFlintErrorBody(std::string_view body);
// The Code whose wire name is `name`, if any.
std::optional<Code> CodeFromName(std::string_view name);

}  // namespace flint::client
