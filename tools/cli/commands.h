// The flint CLI's commands: parses the command line with CLI11 and runs one command against
// flintd through FlintClient. docs/cli.md is the user's description of everything here.
//
// Output goes to the streams in CliIo, so tests run commands in-process. On failure a command
// writes "flint: <reason>" to `err` (one line, except a compiler's output) and returns a non-zero
// ExitCode. No exception leaves RunCli. `flint up` replaces the process (execv) and is handled by
// Main only. The commands live in several files: commands.cc (functions), events.cc (triggers),
// secrets.cc, init.cc (templates), completion.cc (shell completion).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "sdk/client/client_config.h"
#include "sdk/core/status.h"

namespace flint::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // flintd answered with an error, or the invoked function did
  kExitUsage = 2,        // bad command line or local input (name, duration, PATH, no token)
  kExitUnreachable = 3,  // flintd could not be reached or did not answer
  kExitNoFlintd = 127,   // `flint up` found no flintd to run
};

struct CliIo {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;  // for --data @- and secret values
  client::GetEnv getenv;
  bool stdout_is_tty = false;
  bool stderr_is_tty = false;  // progress lines are drawn only on a terminal
  bool stdin_is_tty = false;   // `flint secret set` then reads the value without echo
  std::string cwd;             // where `flint deploy` and `flint init` work ("" = the process's)
};

// The version of this flint ("0.1.0").
const char* Version();

// The payload of a `--data` option: the text itself, or "@FILE" for a file's bytes ("@-":
// `in`). Shared by invoke, publish and schedule.
Result<std::string> ReadDataArg(const std::string& data, std::istream& in);

// Runs every command except `up`. argv[0] is the program name.
int RunCli(const std::vector<std::string>& args, CliIo& io);

// The process entry point: `flint up` execs flintd, everything else goes to RunCli.
int Main(int argc, char** argv);

// Where `flint up` looks for flintd, in order: beside `self_exe`, then in the build tree
// (<dir>/../../scheduler/flintd and <dir>/../scheduler/flintd). Existing executables only.
std::vector<std::string> FlintdCandidates(const std::string& self_exe);

}  // namespace flint::cli
