// FunctionConfig and FunctionVersion: what the store records about one deployed version of a
// function, and the rules a config must satisfy before it is stored.
//
// Plain values with no I/O; safe to copy and use from any thread. A FunctionVersion is immutable
// once created: a new deploy or a config change always makes a new version.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sdk/core/runtime.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

// An environment variable given to the function: (name, value).
using EnvVar = std::pair<std::string, std::string>;

// Limits of FunctionConfig, shared by validation, the CLI's help text and tests.
inline constexpr uint32_t kMinMemoryMb = 128;
inline constexpr uint32_t kMaxMemoryMb = 10240;
inline constexpr uint32_t kMinTimeoutMs = 1;
inline constexpr uint32_t kMaxTimeoutMs = 900'000;
inline constexpr uint64_t kMaxKeepAliveMs = 86'400'000;  // one day
inline constexpr uint32_t kMaxInstancesLimit = 1000;
inline constexpr uint32_t kMaxConcurrency = 1000;
// Total bytes of every env name and value, like AWS Lambda's 4 KB.
inline constexpr size_t kMaxEnvBytes = 4096;
// Retries of a failed event (async, cron, topic) after its first attempt.
inline constexpr int32_t kMaxEventRetries = 10;
inline constexpr uint64_t kMinEventAgeMs = 1000;
inline constexpr uint64_t kMaxEventAgeMs = 6 * 3'600'000ull;  // six hours, as Lambda
// A hard CPU quota (`cpu`), in thousandths of a CPU: 0.01 to 64 CPUs.
inline constexpr uint32_t kMinCpuMillis = 10;
inline constexpr uint32_t kMaxCpuMillis = 64'000;

struct FunctionConfig {
  uint32_t memory_mb = 128;     // kMinMemoryMb..kMaxMemoryMb
  uint32_t timeout_ms = 3000;   // kMinTimeoutMs..kMaxTimeoutMs
  uint64_t keep_alive_ms = 0;   // 0 = the node's default; at most kMaxKeepAliveMs
  uint32_t max_instances = 10;  // 1..kMaxInstancesLimit
  uint32_t concurrency = 1;     // requests one worker runs at once, 1..kMaxConcurrency
  uint32_t min_instances = 0;   // workers kept warm even without traffic, 0..max_instances
  // Workers' worth of the node's memory budget held for this function only (and usable by no
  // other function), 0..kMaxInstancesLimit.
  uint32_t reserved_concurrency = 0;
  std::string keep_alive_policy;  // "" = the node's default, "fixed" or "adaptive"
  // "none": the worker has no network at all; "outbound": it may connect out (not to the host's
  // loopback), see docs/security.md.
  std::string network = "none";
  // A hard CPU quota in thousandths of a CPU (kMinCpuMillis..kMaxCpuMillis), or 0: none beyond
  // the node's --cpu-mode (by default a weight in proportion to memory_mb, no quota).
  uint32_t cpu_millis = 0;
  int32_t max_retries = -1;       // events: -1 = the node's default, else 0..kMaxEventRetries
  uint64_t max_event_age_ms = 0;  // events: 0 = the node's default, else kMin..kMaxEventAgeMs
  std::vector<EnvVar> env;        // names unique, [A-Za-z_][A-Za-z0-9_]*; order is kept
  // Private: invoking it (over HTTP, async or by a topic publish) needs a token with the invoke
  // scope; public (false): anyone who can reach flintd may invoke it (docs/security.md).
  bool is_private = false;

  bool operator==(const FunctionConfig&) const = default;
};

// Ok, or an InvalidArgument that names the field, the allowed range and the value given, e.g.
// "memory_mb must be between 128 and 10240, got 64".
Status ValidateFunctionConfig(const FunctionConfig& config);

// `cpu_millis` as a number of CPUs: 500 -> "0.5", 2000 -> "2", 1250 -> "1.25".
std::string CpuText(uint32_t cpu_millis);

// True for an environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool IsValidEnvName(std::string_view name);

struct FunctionVersion {
  std::string name;
  uint32_t version = 0;  // 1, 2, 3... never reused for a name, even after delete and re-create
  Runtime runtime = Runtime::kNode;
  std::string entry;        // entry file relative to the code directory
  std::string code_digest;  // sha256 hex of the code (CodeStore)
  FunctionConfig config;
  int64_t created_at_ms = 0;  // Unix time in milliseconds
  // Not in the versions table: the function's secrets (SecretStore), decrypted, which flintd
  // fills in for its workers' environment. Never shown in an API answer or a log.
  std::vector<EnvVar> secrets;

  bool operator==(const FunctionVersion&) const = default;
};

}  // namespace flint::scheduler
