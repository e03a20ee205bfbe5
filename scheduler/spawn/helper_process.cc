#include "scheduler/spawn/helper_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <system_error>

#include "scheduler/spawn/child_setup.h"

namespace flint::scheduler {
namespace {

namespace bp = boost::process;

// Runs in the child between fork and exec: async-signal-safe calls only (flintd is threaded),
// and no allocation: the descriptors were copied into a fixed array by the parent.
struct HelperChildSetup : bp::extend::handler {
  std::array<int, kMaxHelperFds + 1> sources{};  // the helper's fds, then its output
  int count = 0;                                 // of `sources`, the output included

  template <class Executor>
  void on_exec_setup(Executor& e) const {
    if (!detail::OwnGroupDyingWithParent(e)) return;
    // First out of the way (a source may sit where another one must go), then into place.
    const int first_free = 3 + count;
    std::array<int, kMaxHelperFds + 1> moved{};
    for (int i = 0; i < count; ++i) {
      moved[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, first_free);
      if (moved[i] < 0) {
        e.set_error(std::error_code(errno, std::system_category()), "fcntl(F_DUPFD)");
        return;
      }
    }
    const int output = moved[count - 1];
    bool ok = dup2(output, 1) == 1 && dup2(output, 2) == 2;
    for (int i = 0; ok && i < count - 1; ++i) ok = dup2(moved[i], 3 + i) == 3 + i;
    if (!ok) {
      e.set_error(std::error_code(errno, std::system_category()), "dup2");
      return;
    }
    if (syscall(SYS_close_range, static_cast<unsigned>(3 + count - 1), ~0u, 0u) != 0) {
      e.set_error(std::error_code(errno, std::system_category()), "close_range");
    }
  }
};

}  // namespace

Result<pid_t> SpawnHelper(const HelperSpawn& spawn) {
  if (spawn.fds.size() > kMaxHelperFds) return InvalidArgument("too many descriptors for a helper");
  std::string program = spawn.program;
  if (program.find('/') == std::string::npos) {
    std::vector<boost::filesystem::path> dirs = {"/usr/local/bin", "/usr/bin", "/bin"};
    boost::filesystem::path found = bp::search_path(program, dirs);
    if (found.empty()) return Unavailable("'" + program + "' is not installed on this server");
    program = found.string();
  }
  int dev_null = -1;
  int output = spawn.output_fd;
  if (output < 0) {
    dev_null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (dev_null < 0) return ErrnoStatus("opening /dev/null", errno);
    output = dev_null;
  }
  HelperChildSetup setup;
  for (int fd : spawn.fds) setup.sources[setup.count++] = fd;
  setup.sources[setup.count++] = output;

  bp::environment env;
  env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  env["LANG"] = "C";

  std::error_code ec;
  pid_t pid = -1;
  try {
    bp::child child(bp::exe = program, bp::args = spawn.args, env, bp::std_in < bp::null, setup,
                    ec);
    if (!ec) {
      pid = child.id();
      child.detach();  // the caller reaps it, not Boost
    }
  } catch (const std::exception& e) {
    if (dev_null >= 0) close(dev_null);
    return Internal("starting " + program + ": " + e.what());
  }
  if (dev_null >= 0) close(dev_null);
  if (ec) return Internal("starting " + program + ": " + ec.message());
  return pid;
}

}  // namespace flint::scheduler
