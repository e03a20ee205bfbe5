#include "scheduler/isolation/outbound_network.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "scheduler/spawn/helper_process.h"

namespace flint::scheduler::isolation {
namespace {

constexpr size_t kMaxOutputBytes = 2048;

void CloseAll(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

// slirp4netns --enable-sandbox makes / a private mount and pivots into an empty root: that needs
// / to be a mount point, which it is not when flintd runs in a chroot (some CI runners and image
// builders). The same check as the worker sandbox's chroot fallback, once per process.
bool RootIsMountPoint() {
  static const bool is_mount_point = [] {
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string id, parent, devices, root, mount_point;
      if (fields >> id >> parent >> devices >> root >> mount_point && mount_point == "/") {
        return true;
      }
    }
    spdlog::warn(
        "/ is not a mount point (a chroot?): slirp4netns runs without its own sandbox "
        "(--enable-sandbox), still with its seccomp filter");
    return false;
  }();
  return is_mount_point;
}

}  // namespace

Result<std::unique_ptr<OutboundNetwork>> OutboundNetwork::Start(
    pid_t target, const OutboundNetworkOptions& options) {
  int ready[2];
  int exit_pipe[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  if (::pipe2(exit_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    CloseAll({ready[0], ready[1]});
    return ErrnoStatus("pipe2", err);
  }
  int output = ::memfd_create("flint-slirp4netns-output", MFD_CLOEXEC);
  if (output < 0) {
    int err = errno;
    CloseAll({ready[0], ready[1], exit_pipe[0], exit_pipe[1]});
    return ErrnoStatus("memfd_create", err);
  }
  // The helper's fd 3 is the ready pipe's write end, fd 4 the exit pipe's read end.
  HelperSpawn spawn;
  spawn.program = options.program;
  spawn.args = {"--configure", "--mtu=" + std::to_string(options.mtu), "--disable-host-loopback"};
  if (RootIsMountPoint()) spawn.args.push_back("--enable-sandbox");
  for (const char* arg : {"--enable-seccomp", "--ready-fd=3", "--exit-fd=4"}) {
    spawn.args.push_back(arg);
  }
  spawn.args.push_back(std::to_string(target));
  spawn.args.push_back("tap0");
  spawn.fds = {ready[1], exit_pipe[0]};
  spawn.output_fd = output;
  Result<pid_t> pid = SpawnHelper(spawn);
  CloseAll({ready[1], exit_pipe[0]});
  if (!pid.ok()) {
    CloseAll({ready[0], exit_pipe[1], output});
    return pid.status();
  }
  ::fcntl(ready[0], F_SETFL, ::fcntl(ready[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<OutboundNetwork>(
      new OutboundNetwork(*pid, ready[0], exit_pipe[1], output));
}

OutboundNetwork::~OutboundNetwork() {
  // Closing the exit fd alone would let slirp4netns exit on its own in a moment; flintd must
  // not wait for that, and must not leave it running either. SIGKILL ends it at once (and the
  // child it briefly forks to create the tap, in the same process group); the process is not
  // reaped yet, so its pid and group cannot have been reused. waitpid after SIGKILL returns
  // within a fraction of a millisecond.
  CloseAll({exit_fd_});
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  CloseAll({ready_fd_, output_fd_});
}

Result<bool> OutboundNetwork::CheckReady() {
  char byte = 0;
  ssize_t n = ::read(ready_fd_, &byte, 1);
  if (n == 1 && byte == '1') return true;
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
  if (n < 0)
    return Failure("reading its ready fd failed (" + std::string(strerrorname_np(errno)) + ")");
  if (n == 1) return Failure("it wrote '" + std::string(1, byte) + "' to its ready fd");
  return Failure("slirp4netns exited before the network was ready");
}

Status OutboundNetwork::Failure(const std::string& what) const {
  std::string output = Output();
  return Unavailable("outbound network for the worker failed: " + what +
                     (output.empty() ? "" : "; slirp4netns said: " + output));
}

std::string OutboundNetwork::Output() const {
  std::string out(kMaxOutputBytes, '\0');
  ssize_t n = ::pread(output_fd_, out.data(), out.size(), 0);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  // One line of text: newlines to "; ", without the trailing one.
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::string line;
  for (char c : out) line += c == '\n' ? std::string("; ") : std::string(1, c);
  return line;
}

}  // namespace flint::scheduler::isolation
