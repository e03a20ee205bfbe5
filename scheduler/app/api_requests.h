// The bodies of flintd's API requests (docs/http-api.md), parsed and checked into plain values:
// a deploy's upload (configuration and base64 files, or configuration and a code archive in a
// multipart form), a schedule, a subscription, an event.
// What needs flintd's state (does the function exist? is a queue full?) stays with the route.
//
// Pure functions: no I/O, no clock, any thread. Whatever the bytes, each returns a value or an
// InvalidArgument (PayloadTooLarge for an event over its limit) with a message for the user,
// and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/store/code_store.h"
#include "scheduler/store/function_version.h"
#include "sdk/core/runtime.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// The settings a deploy or a configuration change gives; every setting not given keeps the
// function's current value. `env` replaces the whole environment; then `env_set` sets variables
// and `env_unset` removes them. Each number is whole and within its field's type.
struct ConfigPatch {
  std::optional<uint32_t> memory_mb;
  std::optional<uint32_t> timeout_ms;
  std::optional<uint64_t> keep_alive_ms;
  std::optional<uint32_t> max_instances;
  std::optional<uint32_t> concurrency;
  std::optional<uint32_t> min_instances;
  std::optional<uint32_t> reserved_concurrency;
  std::optional<std::string> keep_alive_policy;
  std::optional<std::string> network;
  std::optional<uint32_t> cpu_millis;  // "cpu" in CPUs; 0: no hard quota
  std::optional<int32_t> max_retries;
  std::optional<uint64_t> max_event_age_ms;
  std::optional<bool> is_private;  // "private"
  std::optional<std::vector<EnvVar>> env;
  std::vector<EnvVar> env_set;
  std::vector<std::string> env_unset;
};

// `base` with `patch` applied, checked by ValidateFunctionConfig.
Result<FunctionConfig> ApplyConfigPatch(FunctionConfig base, const ConfigPatch& patch);

// PUT /v1/functions/NAME: {"runtime", "entry", "files": {path: base64}, settings...}; among the
// settings "private": true|false (false: public; docs/security.md).
// The files are decoded; their paths and sizes are the code store's to check (CodeStore::Put).
// Without "runtime", C++ for a C++ entry (source or shared object), else Node.js ("js" is an
// alias of "node"). Without "entry", the only file; for Node.js, package.json's "main" or
// Lambda's default "index.handler".
// The settings apply to the live version's configuration (the defaults for a new function),
// so a deploy without settings keeps them: the result is the caller's to validate with
// ApplyConfigPatch.
struct DeployRequest {
  Runtime runtime = Runtime::kNode;
  // One of the files' paths; for Node.js, also "file.export" as Lambda names a handler (the
  // worker checking the deploy resolves it).
  std::string entry;
  std::vector<CodeFile> files;
  ConfigPatch patch;
};
Result<DeployRequest> ParseDeployRequest(std::string_view body);

// PATCH /v1/functions/NAME: settings alone; a code key ("files", "entry", "runtime") is refused.
Result<ConfigPatch> ParseConfigPatch(std::string_view body);

// The runtime of a deploy that names none: C++ for a C++ entry (source or shared object), else
// Node.js.
Runtime InferRuntime(std::string_view entry);

// The entry of a Node.js function deployed without one: package.json's "main" (`package_json`
// the file's bytes, empty when there is none) if it names one of the files, as Node.js resolves
// it ("src/handler" finds "src/handler.js"), else Lambda's default handler, "index.handler".
std::string DefaultNodeEntry(std::string_view package_json,
                             const std::function<bool(const std::string&)>& has_file);

// True for a multipart/form-data content type: an archive deploy.
bool IsMultipartFormData(std::string_view content_type);

// PUT /v1/functions/NAME as multipart/form-data (RFC 7578), what `flint deploy` sends: part
// "deploy" (optional), the JSON document above without "files", and part "code", the files as
// one tar or tar.gz archive, left for the code store to unpack (code_archive.h). `content_type`
// gives the boundary.
struct ArchiveDeployRequest {
  std::optional<Runtime> runtime;  // unset: inferred once the files are known (see DeployRequest)
  std::string entry;               // empty: inferred once the files are known
  std::string_view archive;        // points into the body
  ConfigPatch patch;               // applied as a JSON deploy's (DeployRequest)
};
Result<ArchiveDeployRequest> ParseArchiveDeployRequest(std::string_view body,
                                                       std::string_view content_type);

// POST /v1/schedules: {"function": NAME, "schedule": CRON, "payload": any JSON (optional)}.
// The cron expression is the caller's to parse (events::CronSchedule::Parse).
struct ScheduleRequest {
  std::string function;  // a valid function name
  std::string schedule;
  std::string payload;  // compact JSON; "{}" when absent or null
};
Result<ScheduleRequest> ParseScheduleRequest(std::string_view body);

// POST /v1/subscriptions: {"topic": TOPIC, "function": NAME}.
struct SubscriptionRequest {
  std::string topic;     // a valid topic name
  std::string function;  // a valid function name
};
Result<SubscriptionRequest> ParseSubscriptionRequest(std::string_view body);

// Topic names: 1-128 characters of [A-Za-z0-9._-].
Status ValidateTopic(std::string_view topic);

// The event of an async invocation or a topic publish: `body` itself when it is JSON, "{}"
// when empty; PayloadTooLarge beyond `limit` bytes.
Result<std::string> EventPayload(std::string&& body, size_t limit);

}  // namespace flint::scheduler
