// Compiler: runs a build tool (the system g++, or flint-build running it in the build sandbox)
// to completion, with a timeout and its output captured. Part of spawn/, Flint's only user of
// Boost.Process.
//
// The tool runs in `work_dir` with stdin /dev/null and stdout and stderr both going to one pipe
// (so its messages keep their order), in its own process group: at the timeout the whole group
// (g++, cc1plus, as, ld; or flint-build and its sandbox, whose PID 1 takes every process of the
// build with it) gets SIGKILL. Only the first `max_output_bytes` of its messages are kept; the
// rest is read and dropped, so a tool that prints without end costs no memory. Only fds 0-2
// are inherited. The environment is minimal (PATH, LANG=C, TMPDIR), so messages are plain ASCII
// and independent of flintd's. With `cgroup_procs` set, the child joins those cgroups between
// fork and exec; with `max_file_bytes` set, no file it writes may grow beyond it
// (RLIMIT_FSIZE: the writer gets SIGXFSZ).
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
  size_t max_output_bytes = 64 * 1024;    // the rest is cut, with a note
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before exec
  unsigned long long max_file_bytes = 0;  // RLIMIT_FSIZE; 0: unchanged
};

struct ToolOutcome {
  int exit_code = -1;       // -1 when killed by a signal or at the timeout
  bool timed_out = false;   // killed at the timeout
  std::string output;       // stdout and stderr, interleaved as written (cut, with a note)
  size_t output_bytes = 0;  // all it wrote, the part cut included
  std::string describe;     // "exit code 1", "signal SIGKILL (9)"
  std::chrono::milliseconds elapsed{0};  // from start to exit
};

// Runs the tool to completion. An error means it could not be started (e.g. not installed); a
// tool that ran and failed is an Ok result with a non-zero exit_code.
Result<ToolOutcome> RunTool(const ToolRun& run);

// The absolute path of `program`: itself when it holds a '/', else the first match in
// /usr/local/bin:/usr/bin:/bin. Unavailable when it is not installed.
Result<std::string> FindProgram(const std::string& program);

// The first line of `program --version` (e.g. "g++ (Debian 12.2.0-14) 12.2.0"), asked once per
// program and process and then cached; an error when the program does not run.
Result<std::string> CompilerVersion(const std::string& program);

}  // namespace flint::scheduler
