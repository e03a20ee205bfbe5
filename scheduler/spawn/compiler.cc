#include "scheduler/spawn/compiler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <map>
#include <mutex>
#include <system_error>

#include "scheduler/spawn/child_setup.h"
#include "scheduler/spawn/worker_spawner.h"

namespace flint::scheduler {
namespace {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

// Runs in the child between fork and exec: async-signal-safe calls only (flintd is threaded).
struct ToolChildSetup : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor& e) const {
    // Its own process group, so a timeout kills the compiler and everything it started.
    if (!detail::OwnGroupDyingWithParent(e)) return;
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
      e.set_error(std::error_code(errno, std::system_category()), "close_range");
    }
  }
};

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string ReadCapture(int fd, size_t max_bytes) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "";
  size_t size = static_cast<size_t>(st.st_size);
  size_t want = std::min(size, max_bytes);
  std::string out(want, '\0');
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, out.data() + got, want - got, static_cast<off_t>(got));
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  if (size > max_bytes) {
    out += "\n... [" + std::to_string(size - max_bytes) + " more bytes of output cut]\n";
  }
  return out;
}

}  // namespace

Result<ToolOutcome> RunTool(const ToolRun& run) {
  std::string program = run.program;
  if (program.find('/') == std::string::npos) {
    std::vector<boost::filesystem::path> dirs = {"/usr/local/bin", "/usr/bin", "/bin"};
    boost::filesystem::path found = bp::search_path(program, dirs);
    if (found.empty()) return Unavailable("'" + program + "' is not installed on this server");
    program = found.string();
  }
  Fd capture{static_cast<int>(syscall(SYS_memfd_create, "flint-tool-output", MFD_CLOEXEC))};
  if (capture.fd < 0) return ErrnoStatus("memfd_create", errno);

  bp::environment env;
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  env["LANG"] = "C";
  env["TMPDIR"] = "/tmp";

  std::error_code ec;
  pid_t pid = -1;
  try {
    bp::child child(bp::exe = program, bp::args = run.args, bp::start_dir = run.work_dir, env,
                    bp::std_in < bp::null, bp::posix::fd.bind(1, capture.fd),
                    bp::posix::fd.bind(2, capture.fd), ToolChildSetup{}, ec);
    if (!ec) {
      pid = child.id();
      child.detach();  // reaped below through the pidfd, not through Boost
    }
  } catch (const std::exception& e) {
    return Internal("starting " + program + ": " + e.what());
  }
  if (ec) return Internal("starting " + program + ": " + ec.message());

  Fd pidfd{static_cast<int>(syscall(SYS_pidfd_open, pid, 0))};
  if (pidfd.fd < 0) {
    int err = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ErrnoStatus("pidfd_open", err);
  }
  ToolOutcome outcome;
  auto deadline = Clock::now() + run.timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      break;
    }
    struct pollfd p = {pidfd.fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n > 0) break;
    if (n < 0 && errno != EINTR) break;
  }
  // The leader is a zombie or still running: its pid (and so its group id) cannot be reused
  // yet, so this kills only what it left behind (or, at the timeout, everything).
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.describe = DescribeWaitStatus(status);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (outcome.timed_out) outcome.exit_code = -1;
  outcome.output = ReadCapture(capture.fd, run.max_output_bytes);
  return outcome;
}

Result<std::string> CompilerVersion(const std::string& program) {
  static std::mutex mu;
  static std::map<std::string, std::string>* cache = new std::map<std::string, std::string>();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache->find(program);
    if (it != cache->end()) return it->second;
  }
  ToolRun run;
  run.program = program;
  run.args = {"--version"};
  run.work_dir = "/";
  run.timeout = std::chrono::seconds(20);
  FLINT_ASSIGN_OR_RETURN(ToolOutcome out, RunTool(run));
  if (out.exit_code != 0) {
    return Unavailable("'" + program + " --version' failed (" + out.describe + ")");
  }
  std::string version = out.output.substr(0, out.output.find('\n'));
  std::lock_guard<std::mutex> lock(mu);
  (*cache)[program] = version;
  return version;
}

}  // namespace flint::scheduler
