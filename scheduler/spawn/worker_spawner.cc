#include "scheduler/spawn/worker_spawner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cstring>
#include <string>
#include <system_error>

#include "scheduler/spawn/child_setup.h"

namespace flint::scheduler {
namespace {

namespace bp = boost::process;

// Runs in the child between fork and exec: async-signal-safe calls only (flintd is threaded).
struct ChildSetup : bp::extend::handler {
  // Paths prepared by the parent; the child only opens and writes (no allocation after fork).
  const std::vector<std::string>* cgroup_procs = nullptr;

  template <class Executor>
  void on_exec_setup(Executor& e) const {
    if (cgroup_procs != nullptr && !detail::JoinCgroups(e, *cgroup_procs)) return;
    // Its own process group, so flintd can signal the worker and anything it started at once.
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
      e.set_error(std::error_code(errno, std::system_category()), "prctl(PR_SET_PDEATHSIG)");
      return;
    }
    // Only 0, 1, 2 and the protocol socket (3) cross into the worker. (bp::limit_handles is
    // broken in Boost 1.74, see notes; close_range is what it should have done.)
    if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0) {
      e.set_error(std::error_code(errno, std::system_category()), "close_range");
    }
  }
};

class ProcessSpawner final : public WorkerSpawner {
 public:
  Result<SpawnedProcess> Spawn(const SpawnRequest& request) override {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return ErrnoStatus("socketpair", errno);
    }
    // dup2 onto fd 3 is a no-op when the source already is 3, which would leave CLOEXEC set.
    if (sv[1] == 3) {
      int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
      close(sv[1]);
      sv[1] = moved;
    }
    std::vector<std::string> args = {"--fd", "3", "--runtime",
                                     std::string(RuntimeName(request.runtime))};
    args.insert(args.end(), request.extra_args.begin(), request.extra_args.end());
    // Room for the worker to rewrite its command line as "flint-worker NAME@VERSION".
    args.push_back("--title");
    args.push_back(std::string(160, ' '));

    bp::environment env;
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    env["LANG"] = "C.UTF-8";

    std::error_code ec;
    pid_t pid = -1;
    try {
      bp::child child(bp::exe = request.worker_path, bp::args = args, env,
                      bp::std_in<bp::null, bp::std_out> stderr, bp::posix::fd.bind(3, sv[1]),
                      ChildSetup{{}, &request.cgroup_procs}, ec);
      if (!ec) {
        pid = child.id();
        child.detach();  // flintd reaps through the pidfd, not through Boost
      }
    } catch (const std::exception& e) {
      close(sv[0]);
      close(sv[1]);
      return Internal(std::string("spawning the worker: ") + e.what());
    }
    close(sv[1]);
    if (ec) {
      close(sv[0]);
      return Internal("spawning " + request.worker_path + ": " + ec.message());
    }
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
      int err = errno;
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      close(sv[0]);
      return ErrnoStatus("pidfd_open", err);
    }
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    return SpawnedProcess{pid, pidfd, sv[0]};
  }
};

}  // namespace

std::unique_ptr<WorkerSpawner> MakeProcessSpawner() { return std::make_unique<ProcessSpawner>(); }

int TryReap(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  return -1;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return std::string("signal ") + (abbrev ? std::string("SIG") + abbrev : "?") + " (" +
           std::to_string(sig) + ")";
  }
  return "status " + std::to_string(status);
}

}  // namespace flint::scheduler
