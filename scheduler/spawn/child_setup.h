// What every process flintd spawns (compilers, helpers) does between fork and exec, for
// Boost.Process `on_exec_setup` handlers. Async-signal-safe calls only: flintd is threaded.
#pragma once

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

}  // namespace flint::scheduler::detail
