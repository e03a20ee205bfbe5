#include "tools/cli/config_flags.h"

#include "sdk/core/text.h"
#include "tools/cli/project.h"

namespace flint::cli {

void AddConfigFlags(CLI::App& cmd, ConfigFlags& f, bool with_unset) {
  cmd.add_option("--memory", f.memory, "Memory size of each worker: MB, or 512M, 1G (default 128)");
  cmd.add_option("--cpu", f.cpu,
                 "Hard CPU limit in CPUs, e.g. 0.5 or 2 (default: none; a share of the CPU in "
                 "proportion to memory under contention)");
  cmd.add_option("--timeout", f.timeout,
                 "Longest run of one invocation: 3 (seconds), 3s, 500ms, 1m (default 3s)");
  cmd.add_option("--keep-alive", f.keep_alive, "Idle time before a warm worker stops (e.g. 10m)");
  cmd.add_option("--max-instances", f.max_instances, "Most workers at once (default 10)");
  cmd.add_option("--concurrency", f.concurrency, "Invocations at once per worker (default 1)");
  cmd.add_option("--min-instances", f.min_instances,
                 "Workers kept warm even without traffic (default 0: scale to zero)");
  cmd.add_option("--reserved-concurrency", f.reserved_concurrency,
                 "Workers' worth of node memory reserved for this function only");
  cmd.add_option("--keep-alive-policy", f.keep_alive_policy,
                 "fixed or adaptive (default: flintd's --keep-alive-policy)");
  cmd.add_option("--network", f.network,
                 "none (default) or outbound: may open connections out, not to the host");
  cmd.add_option("--max-retries", f.max_retries,
                 "Retries of a failed event, 0-10 (default: flintd's --event-max-retries, 2)");
  cmd.add_option("--max-event-age", f.max_event_age,
                 "Oldest an event may get before it is dead-lettered (e.g. 10m; default 6h)");
  cmd.add_option("--env", f.env, "Set an environment variable KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  cmd.add_option("--env-file", f.env_files,
                 "Set the variables of a .env file (KEY=VALUE lines; repeatable)")
      ->allow_extra_args(false);
  cmd.add_flag("--private", f.is_private,
               "Only callers whose token has the invoke scope may invoke it (kept until --public)");
  cmd.add_flag("--public", f.is_public, "Anyone who can reach flintd may invoke it (the default)");
  if (with_unset) {
    cmd.add_option("--unset-env", f.unset_env, "Remove an environment variable KEY (repeatable)")
        ->allow_extra_args(false);
  }
}

Status ValidateEnvKey(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 128 && !(key[0] >= '0' && key[0] <= '9');
  for (char c : key) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      ok = false;
    }
  }
  if (ok) return Status::Ok();
  return InvalidArgument("invalid variable name '" + key.substr(0, 80) +
                         "': use letters, digits and '_', not starting with a digit");
}

Status ParseEnvAssignment(const std::string& text, std::string* key, std::string* value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("invalid --env '" + text.substr(0, 80) + "': use KEY=VALUE");
  }
  *key = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return ValidateEnvKey(*key);
}

Result<client::FunctionConfig> ToFunctionConfig(const ConfigFlags& f, const CLI::App& cmd) {
  client::FunctionConfig c;
  auto given = [&](const char* flag) { return cmd.count(flag) > 0; };
  if (given("--memory")) {
    Result<uint64_t> mb = ParseMemoryMb(f.memory);
    if (!mb.ok()) return InvalidArgument("--memory: " + mb.status().message());
    if (*mb > 1u << 20) return InvalidArgument("--memory: at most 1 TB");
    c.memory_mb = static_cast<uint32_t>(*mb);
  }
  if (given("--cpu")) c.cpu = f.cpu;
  if (given("--max-instances")) c.max_instances = f.max_instances;
  if (given("--concurrency")) c.concurrency = f.concurrency;
  if (given("--min-instances")) c.min_instances = f.min_instances;
  if (given("--reserved-concurrency")) c.reserved_concurrency = f.reserved_concurrency;
  if (given("--keep-alive-policy")) {
    if (f.keep_alive_policy != "fixed" && f.keep_alive_policy != "adaptive") {
      return InvalidArgument("--keep-alive-policy must be 'fixed' or 'adaptive', got '" +
                             f.keep_alive_policy + "'");
    }
    c.keep_alive_policy = f.keep_alive_policy;
  }
  struct Duration {
    const char* flag;
    const std::string& text;
    std::optional<uint64_t>& out;
  };
  for (const Duration& d : {Duration{"--timeout", f.timeout, c.timeout_ms},
                            Duration{"--keep-alive", f.keep_alive, c.keep_alive_ms},
                            Duration{"--max-event-age", f.max_event_age, c.max_event_age_ms}}) {
    if (!given(d.flag)) continue;
    Result<uint64_t> ms = ParseDurationMs(d.text);
    if (!ms.ok()) return InvalidArgument(std::string(d.flag) + ": " + ms.status().message());
    d.out = *ms;
  }
  if (given("--network")) {
    if (f.network != "none" && f.network != "outbound") {
      return InvalidArgument("--network must be 'none' or 'outbound', got '" + f.network + "'");
    }
    c.network = f.network;
  }
  if (given("--max-retries")) c.max_retries = f.max_retries;
  if (f.is_private && f.is_public) {
    return InvalidArgument("--private and --public exclude each other");
  }
  if (f.is_private) c.is_private = true;
  if (f.is_public) c.is_private = false;
  for (const std::string& path : f.env_files) {
    Result<std::map<std::string, std::string>> vars = ReadEnvFile(path);
    if (!vars.ok()) return vars.status();
    for (auto& [k, v] : *vars) c.env_set[k] = v;
  }
  for (const std::string& kv : f.env) {
    std::string key, value;
    FLINT_RETURN_IF_ERROR(ParseEnvAssignment(kv, &key, &value));
    c.env_set[key] = value;
  }
  for (const std::string& key : f.unset_env) {
    FLINT_RETURN_IF_ERROR(ValidateEnvKey(key));
    c.env_unset.push_back(key);
  }
  return c;
}

}  // namespace flint::cli
