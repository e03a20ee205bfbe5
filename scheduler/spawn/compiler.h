// Compiler: runs a build tool (the system g++) to completion, with a timeout and its output
// captured. Part of spawn/, Flint's only user of Boost.Process.
//
// The tool runs in `work_dir` with stdin /dev/null and stdout and stderr both going to one
// capture file (so its messages keep their order), in its own process group: at the timeout the
// whole group (g++, cc1plus, as, ld) gets SIGKILL. Only fds 0-2 are inherited. The environment
// is minimal (PATH, LANG=C, TMPDIR), so messages are plain ASCII and independent of flintd's.
//
// Blocking: RunTool waits for the tool. Call it on a thread-pool thread, never on a loop thread.
// Thread-safe (no shared state besides the cached compiler version).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

struct ToolRun {
  std::string program;  // a path, or a name looked up in /usr/local/bin:/usr/bin:/bin
  std::vector<std::string> args;
  std::string work_dir;  // must exist
  std::chrono::milliseconds timeout{60'000};
  size_t max_output_bytes = 64 * 1024;  // the rest is cut, with a note
};

struct ToolOutcome {
  int exit_code = -1;      // -1 when killed by a signal or at the timeout
  bool timed_out = false;  // killed at the timeout
  std::string output;      // stdout and stderr, interleaved as written
  std::string describe;    // "exit code 1", "signal SIGKILL (9)"
};

// Runs the tool to completion. An error means it could not be started (e.g. not installed); a
// tool that ran and failed is an Ok result with a non-zero exit_code.
Result<ToolOutcome> RunTool(const ToolRun& run);

// The first line of `program --version` (e.g. "g++ (Debian 12.2.0-14) 12.2.0"), asked once per
// program and process and then cached; an error when the program does not run.
Result<std::string> CompilerVersion(const std::string& program);

}  // namespace flint::scheduler
