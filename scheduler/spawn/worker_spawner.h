// WorkerSpawner: starts flint-worker processes. The only user of Boost.Process in Flint.
//
// A spawned worker has the worker end of a Unix socketpair on fd 3 and no other inherited
// descriptor beyond stdin (/dev/null), stdout and stderr (flintd's stderr); it leads its own
// process group and receives SIGKILL if flintd dies. The caller owns the returned descriptors
// and reaps the process (the pidfd becomes readable when it exits). Any thread.
//
// With `cgroup_procs` set, the child writes its own pid into each of those files between fork
// and exec, so the worker is inside its cgroup before it runs a single instruction of its own.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "sdk/core/runtime.h"
#include "sdk/core/status.h"

namespace flint::scheduler {

struct SpawnRequest {
  std::string worker_path;         // absolute path of flint-worker
  Runtime runtime = Runtime::kNode;  // what the worker pre-warms (and, for node, is)
  std::vector<std::string> extra_args;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before exec
};

struct SpawnedProcess {
  pid_t pid = -1;
  int pidfd = -1;      // readable once the process exits
  int socket_fd = -1;  // flintd's end of the socketpair (non-blocking, close-on-exec)
};

class WorkerSpawner {
 public:
  virtual ~WorkerSpawner() = default;
  virtual Result<SpawnedProcess> Spawn(const SpawnRequest& request) = 0;
};

// The real spawner: fork and exec through Boost.Process.
std::unique_ptr<WorkerSpawner> MakeProcessSpawner();

// Reaps `pid` if it has exited, without blocking. Returns the raw wait status, or -1 if the
// process is still running or was already reaped.
int TryReap(pid_t pid);
// "exit code 3", "signal SIGSEGV (11)" from a raw wait status.
std::string DescribeWaitStatus(int wait_status);

}  // namespace flint::scheduler
