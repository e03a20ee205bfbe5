#include "scheduler/spawn/compiler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
  const std::vector<std::string>* cgroup_procs = nullptr;  // prepared by the parent
  unsigned long long max_file_bytes = 0;

  template <class Executor>
  void on_exec_setup(Executor& e) const {
    // Inside its cgroup before it runs anything of its own.
    if (!detail::JoinCgroups(e, *cgroup_procs)) return;
    // Its own process group, so a timeout kills the compiler and everything it started.
    if (!detail::OwnGroupDyingWithParent(e)) return;
    if (max_file_bytes > 0) {
      struct rlimit fsize = {max_file_bytes, max_file_bytes};
      if (setrlimit(RLIMIT_FSIZE, &fsize) != 0) {
        e.set_error(std::error_code(errno, std::system_category()), "setrlimit(RLIMIT_FSIZE)");
        return;
      }
    }
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

// The tool's messages: the first `max_bytes` kept, the rest counted and dropped.
class Capture {
 public:
  explicit Capture(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Reads what `fd` (non-blocking) holds now. False at end of file or on an error.
  bool ReadAvailable(int fd) {
    char buf[16384];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        size_t got = static_cast<size_t>(n);
        total_ += got;
        if (kept_.size() < max_bytes_) kept_.append(buf, std::min(got, max_bytes_ - kept_.size()));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
  }

  size_t total() const { return total_; }
  std::string Take() {
    if (total_ > kept_.size()) {
      kept_ += "\n... [" + std::to_string(total_ - kept_.size()) + " more bytes of output cut]\n";
    }
    return std::move(kept_);
  }

 private:
  size_t max_bytes_;
  size_t total_ = 0;
  std::string kept_;
};

}  // namespace

Result<std::string> FindProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  std::vector<boost::filesystem::path> dirs = {"/usr/local/bin", "/usr/bin", "/bin"};
  boost::filesystem::path found = bp::search_path(program, dirs);
  if (found.empty()) return Unavailable("'" + program + "' is not installed on this server");
  return found.string();
}

Result<ToolOutcome> RunTool(const ToolRun& run) {
  FLINT_ASSIGN_OR_RETURN(std::string program, FindProgram(run.program));
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  Fd reader{pipe_fds[0]};
  Fd writer{pipe_fds[1]};

  bp::environment env;
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  env["LANG"] = "C";
  env["TMPDIR"] = "/tmp";

  ToolChildSetup setup;
  setup.cgroup_procs = &run.cgroup_procs;
  setup.max_file_bytes = run.max_file_bytes;
  std::error_code ec;
  pid_t pid = -1;
  auto started = Clock::now();
  try {
    bp::child child(bp::exe = program, bp::args = run.args, bp::start_dir = run.work_dir, env,
                    bp::std_in < bp::null, bp::posix::fd.bind(1, writer.fd),
                    bp::posix::fd.bind(2, writer.fd), setup, ec);
    if (!ec) {
      pid = child.id();
      child.detach();  // reaped below through the pidfd, not through Boost
    }
  } catch (const std::exception& e) {
    return Internal("starting " + program + ": " + e.what());
  }
  if (ec) return Internal("starting " + program + ": " + ec.message());
  close(writer.fd);
  writer.fd = -1;
  fcntl(reader.fd, F_SETFL, fcntl(reader.fd, F_GETFL) | O_NONBLOCK);

  Fd pidfd{static_cast<int>(syscall(SYS_pidfd_open, pid, 0))};
  if (pidfd.fd < 0) {
    int err = errno;
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return ErrnoStatus("pidfd_open", err);
  }
  ToolOutcome outcome;
  Capture capture(run.max_output_bytes);
  bool output_open = true;
  auto deadline = started + run.timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      outcome.timed_out = true;
      break;
    }
    struct pollfd p[2] = {{pidfd.fd, POLLIN, 0}, {output_open ? reader.fd : -1, POLLIN, 0}};
    int n = poll(p, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (p[1].revents != 0) output_open = capture.ReadAvailable(reader.fd);
    if (p[0].revents != 0) break;
  }
  outcome.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  // The leader is a zombie or still running: its pid (and so its group id) cannot be reused
  // yet, so this kills only what it left behind (or, at the timeout, everything).
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // What is still in the pipe. Everything that could write to it is dead or dying; one that
  // escaped the group is not waited for beyond a second.
  auto drain_until = Clock::now() + std::chrono::seconds(1);
  while (output_open && Clock::now() < drain_until) {
    struct pollfd p = {reader.fd, POLLIN, 0};
    if (poll(&p, 1, 100) < 0 && errno != EINTR) break;
    output_open = capture.ReadAvailable(reader.fd);
  }
  outcome.describe = DescribeWaitStatus(status);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (outcome.timed_out) outcome.exit_code = -1;
  outcome.output_bytes = capture.total();
  outcome.output = capture.Take();
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
