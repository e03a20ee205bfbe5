// What every process flintd spawns (compilers, helpers) does between fork and exec, for
// Boost.Process `on_exec_setup` handlers. Async-signal-safe calls only: flintd is threaded.
#pragma once

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>

namespace flint::scheduler::detail {

// The child leads its own process group (so one signal to the group ends it and all it
// started) and gets SIGKILL if the thread that spawned it ends (so: if flintd dies). False, with
// the error set on `e`, when that cannot be arranged.
template <class Executor>
bool OwnGroupDyingWithParent(Executor& e) {
  setpgid(0, 0);
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    e.set_error(std::error_code(errno, std::system_category()), "prctl(PR_SET_PDEATHSIG)");
    return false;
  }
  return true;
}

// Writes the child's own pid into each of `cgroup_procs` (cgroup.procs files), so that it runs
// inside its cgroup before it execs. The paths were prepared by the parent: the child only
// opens and writes (no allocation after fork). False, with the error set on `e`, on failure.
template <class Executor, class Paths>
bool JoinCgroups(Executor& e, const Paths& cgroup_procs) {
  if (cgroup_procs.empty()) return true;
  char digits[16];
  char* end = digits + sizeof digits;
  char* p = end;
  for (pid_t pid = getpid(); pid > 0; pid /= 10) *--p = static_cast<char>('0' + pid % 10);
  for (const auto& path : cgroup_procs) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, p, static_cast<size_t>(end - p)) != end - p) {
      e.set_error(std::error_code(errno, std::system_category()), "joining the cgroup");
      if (fd >= 0) close(fd);
      return false;
    }
    close(fd);
  }
  return true;
}

}  // namespace flint::scheduler::detail
