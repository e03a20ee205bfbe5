// Project files: `flint.toml`, the function in a folder (docs/cli.md, "Project file"), and
// dotenv files (`--env-file .env`, `env_file` in flint.toml).
//
// A project file names the function, its code (entry, runtime, files left out) and its whole
// configuration (memory, timeout, env...), and optionally its triggers (schedules and topic
// subscriptions), so a deploy is repeatable and reviewable: `flint deploy` in the folder
// deploys exactly what the file says. Keys may use underscores or dashes (`max_instances`,
// `max-instances`); an unknown key, a wrong type or a bad value is refused with its line.
//
// Plain functions of the file system; no network. Thread-compatible. toml++ (the parser) stays
// inside project.cc.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sdk/client/flint_client.h"
#include "sdk/core/status.h"

namespace flint::cli {

inline constexpr const char* kProjectFileName = "flint.toml";

struct ProjectSchedule {
  std::string cron;     // a cron expression or "@every 30s" (UTC)
  std::string payload;  // the event's JSON ("" for none)
};

struct Project {
  std::string dir;      // the folder holding flint.toml; the code is deployed from here
  std::string name;     // the function's name
  std::string entry;    // relative to `dir`; "" lets the usual names decide
  std::string runtime;  // "" infers it from the entry
  std::vector<std::string> exclude;  // paths relative to `dir` left out of the upload
  // The settings in the file. `env` is always set (possibly empty): the file's [env] and its
  // env_file hold the whole environment.
  client::FunctionConfig config;
  // Present when the file has them: a deploy makes the function's schedules (topics) exactly
  // these; absent, the function's triggers are left as they are.
  std::optional<std::vector<ProjectSchedule>> schedules;
  std::optional<std::vector<std::string>> topics;
};

// Reads `dir`/flint.toml. NotFound when there is none; InvalidArgument "flint.toml:LINE: ..."
// for anything wrong in it.
Result<Project> ReadProject(const std::string& dir);
// The same from text (for tests); `dir` is where relative paths (env_file) are read from.
Result<Project> ParseProject(const std::string& text, const std::string& dir);

// True when `relative` (a '/'-separated path in the upload) is `pattern` or lies under it; a
// pattern may end in '/' and may use '*' for any characters within one path segment.
bool MatchesExclude(const std::string& relative, const std::string& pattern);

// Parses a dotenv file: `KEY=VALUE` lines, `export KEY=VALUE`, comments (#) and blank lines;
// values may be quoted ('...' literally, "..." with \n, \t, \", \\ escapes). InvalidArgument
// "FILE:LINE: ..." for anything else.
Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& path);
Result<std::map<std::string, std::string>> ParseEnvText(const std::string& text,
                                                        const std::string& source);

}  // namespace flint::cli
