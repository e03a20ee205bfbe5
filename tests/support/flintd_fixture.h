// Integration-test harness: a real flintd on a free port with a fresh data directory, the real
// flint CLI, and small helpers (HTTP calls, polling, finding worker processes).
//
// FlintdProcess starts flintd with `--listen 127.0.0.1:0 --data-dir <mkdtemp>/data` plus extra
// arguments (and `--no-isolation` when the tests do not run as root), in its own process group,
// and waits (bounded) for <data-dir>/flintd.url. Every wait is bounded; the destructor stops
// flintd (SIGTERM, then SIGKILL), kills whatever is left of its process tree and removes the
// temporary directory, so a failing test leaves nothing behind.
// flintd's stdout and stderr go to <tmp>/flintd.log (LogTail() shows the end of it).
//
// Binaries and the examples folder come from compile definitions set by
// tests/integration/support.cmake: FLINT_FLINTD_PATH, FLINT_CLI_PATH, FLINT_FUNCTIONS_DIR.
// Single-threaded use (one test thread), except RunProcess and FlintdProcess::RunCli, which may
// run from several threads at once (each a child of its own, waited for by pid; close-on-exec
// pipes). No exceptions, no Catch2 dependency.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sdk/client/flint_client.h"
#include "sdk/client/http_client.h"
#include "sdk/core/status.h"

namespace flint::testing {

using namespace std::chrono_literals;

// The outcome of running a program to completion.
struct CliResult {
  int exit_code = -1;  // the exit code, 128+N when killed by signal N, -1 when not started
  std::string out;
  std::string err;
  bool timed_out = false;

  // "exit 1\nstdout: ...\nstderr: ..." for failure messages.
  std::string Describe() const;
};

// Paths given by the build.
std::string FlintdBinary();
std::string FlintBinary();
std::string FunctionsDir();

// A directory made by mkdtemp under $TMPDIR (or /tmp), removed recursively on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "flint-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `text` to path()/rel (creating folders) and returns the full path.
  std::string Write(const std::string& rel, const std::string& text) const;

 private:
  std::string path_;
};

// Runs `path args...` with the current environment changed by `env` (a value of "\x01unset"
// removes the variable), stdin reading `stdin_text` (/dev/null when empty), in `cwd` (when not
// empty), capturing stdout and stderr. Kills the program's process group at `timeout`.
CliResult RunProcess(const std::string& path, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout = 60s, const std::string& stdin_text = "",
                     const std::string& cwd = "");
inline constexpr const char* kUnset = "\x01unset";

// Polls `done` every `interval` until it returns true or `timeout` passes.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s,
               std::chrono::milliseconds interval = 50ms);

// The processes descending from `root` (children, grandchildren...), from /proc.
std::vector<pid_t> Descendants(pid_t root);
// True while `pid` exists and is not a zombie.
bool ProcessAlive(pid_t pid);
// The command line of `pid` with NULs as spaces ("" when gone).
std::string ProcessCmdline(pid_t pid);

class FlintdProcess {
 public:
  explicit FlintdProcess(std::vector<std::string> extra_args = {});
  // The data directory is <tmp>/<data_subdir> (e.g. "home/.local/share/flint"), which the test
  // leaves to flintd to create, missing parents included, as on a fresh home directory.
  FlintdProcess(std::vector<std::string> extra_args, const std::string& data_subdir);
  ~FlintdProcess();
  FlintdProcess(const FlintdProcess&) = delete;
  FlintdProcess& operator=(const FlintdProcess&) = delete;

  // Starts flintd and waits up to `timeout` for flintd.url. The Status explains a failure and
  // includes the end of flintd's log.
  Status Start(std::chrono::milliseconds timeout = 20s);
  // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit status in CliResult's
  // convention (0 for a clean exit; -1 when it was not running).
  int Stop(std::chrono::milliseconds timeout = 20s);
  // SIGKILL to flintd alone (its workers are left to flintd's own death handling); reaps it.
  void Kill9();
  // Stop() then Start() on the same data directory.
  Status Restart();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& url() const { return url_; }
  const std::string& data_dir() const { return data_dir_; }
  // The admin token flintd wrote to <data-dir>/admin.token ("" when missing).
  std::string token() const;
  // The last `bytes` of flintd's log.
  std::string LogTail(size_t bytes = 6000) const;
  // Worker processes of this flintd whose command line contains `needle`, e.g.
  // "flint-worker hello@".
  std::vector<pid_t> FindWorkers(const std::string& needle) const;

  // HTTP through flint_client (a fresh connection each time, 60 s bounds).
  Result<client::HttpResponse> Http(const client::HttpRequest& request) const;
  Result<client::HttpResponse> HttpGet(const std::string& target,
                                       std::vector<client::Header> headers = {}) const;
  Result<client::HttpResponse> HttpPost(const std::string& target, const std::string& body,
                                        const std::string& content_type = "application/json") const;
  // A FlintClient with the admin token.
  client::FlintClient Client() const;

  // Runs the real flint CLI with FLINT_DATA_DIR set to data_dir() (FLINT_URL and FLINT_TOKEN
  // unset unless `env` sets them).
  CliResult RunCli(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {},
                   std::chrono::milliseconds timeout = 60s, const std::string& stdin_text = "",
                   const std::string& cwd = "") const;
  // `flint deploy ARGS...` (NAME PATH [flags]); a C++ deploy compiles on the server, hence the
  // long bound.
  CliResult Deploy(std::vector<std::string> args, std::chrono::milliseconds timeout = 180s) const;
  // Deploys `code` as the one file (index.mjs) of JavaScript function `name`, written to a
  // temporary folder, with extra deploy `flags`.
  CliResult DeployJs(const std::string& name, const std::string& code,
                     std::vector<std::string> flags = {}) const;

 private:
  // SIGKILLs what is left of the process tree seen last (workers that outlived flintd).
  void KillLeftovers();

  std::vector<std::string> extra_args_;
  std::string root_;      // mkdtemp directory holding data/ and flintd.log
  std::string data_dir_;  // root_/data
  bool precreate_data_dir_ = true;
  std::string log_path_;  // root_/flintd.log
  std::string url_;
  pid_t pid_ = -1;
  std::vector<pid_t> tree_;  // descendants seen while flintd ran
};

}  // namespace flint::testing
