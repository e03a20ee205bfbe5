// SpawnHelper: starts a long-running helper program of flintd's own (slirp4netns for a worker's
// outbound network). Part of spawn/, Flint's only user of Boost.Process.
//
// The helper gets the descriptors listed in `fds` as 3, 4, ... in that order, and no other
// inherited descriptor beyond stdin (/dev/null), stdout and stderr (both into `output_fd`, or
// /dev/null when it is -1). It leads its own process group and receives SIGKILL if the thread
// that spawned it ends (flintd's loop thread, so: if flintd dies). The environment is minimal
// (PATH, LANG=C). The caller owns the process: it must end and reap it. Does not block beyond
// fork and exec; any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

struct HelperSpawn {
  std::string program;  // a path, or a name looked up in /usr/local/bin:/usr/bin:/bin
  std::vector<std::string> args;
  std::vector<int> fds;  // become 3, 4, ... in the helper; at most kMaxHelperFds
  int output_fd = -1;    // stdout and stderr; -1: /dev/null
};

inline constexpr size_t kMaxHelperFds = 8;

// The helper's pid. Unavailable when the program is not installed.
Result<pid_t> SpawnHelper(const HelperSpawn& spawn);

}  // namespace flint::scheduler
