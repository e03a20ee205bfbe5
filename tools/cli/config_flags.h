// ConfigFlags: the function settings that `flint deploy` and `flint config` share (--memory,
// --timeout, --env...), registered on a CLI11 command and turned into a client::FunctionConfig.
//
// Only the flags given are set: flintd keeps every other setting of the function as it is
// (docs/cli.md). Values are checked here, before anything is sent: memory sizes take MB or a
// unit (`256`, `512M`, `1g`), durations a unit or seconds (`3`, `3s`, `500ms`).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "sdk/client/flint_client.h"
#include "sdk/core/status.h"

namespace flint::cli {

struct ConfigFlags {
  std::string memory;
  double cpu = 0;
  std::string timeout;
  std::string keep_alive;
  uint32_t max_instances = 0;
  uint32_t concurrency = 0;
  uint32_t min_instances = 0;
  uint32_t reserved_concurrency = 0;
  std::string keep_alive_policy;
  std::string network;
  uint32_t max_retries = 0;
  std::string max_event_age;
  std::vector<std::string> env;        // KEY=VALUE
  std::vector<std::string> env_files;  // dotenv files
  std::vector<std::string> unset_env;  // KEY (flint config only)
  bool is_private = false;             // --private
  bool is_public = false;              // --public
};

// Adds the flags to `cmd`; `flags` must outlive the parse. `with_unset` adds --unset-env.
void AddConfigFlags(CLI::App& cmd, ConfigFlags& flags, bool with_unset);

// The settings given on `cmd` (parsed). --env and --env-file become env_set (the function's
// other variables are kept); --unset-env becomes env_unset. InvalidArgument names the flag.
Result<client::FunctionConfig> ToFunctionConfig(const ConfigFlags& flags, const CLI::App& cmd);

// Parses one KEY=VALUE (for --env). The key is 1-128 characters of [A-Za-z0-9_], not starting
// with a digit, as a shell variable.
Status ParseEnvAssignment(const std::string& text, std::string* key, std::string* value);
Status ValidateEnvKey(const std::string& key);

}  // namespace flint::cli
