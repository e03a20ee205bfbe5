// The build sandbox: runs a compiler (g++ and the tools it starts) confined like a worker, for
// flint-build (runtime/build_main.cc; the contract with flintd is sdk/protocol/build_sandbox.h).
//
// Three processes, as in the worker's sandbox (sandbox.h):
//   the caller       unshares new mount, PID, network, IPC and UTS namespaces, forks PID 1,
//                    waits for it and returns its outcome (flint-build exits with it);
//   PID 1            makes the namespace's mounts private and builds the private root -- a
//                    tmpfs showing only the system directories (/usr, /lib*, /bin, /sbin,
//                    read-only), the dynamic loader's cache, /dev/null and /dev/urandom, the
//                    SDK headers and the function's sources (read-only), the output folder
//                    (writable) and a private size-limited /tmp; no /proc, no /etc beyond
//                    the loader's files -- enters it (pivot_root, or a move and chroot under
//                    chroot), remounts it read-only, forks the compiler and waits for it;
//   the compiler     sets its rlimits (no core, files up to the output limit, 1024 files),
//                    drops every group, gid and uid to nobody, sets no_new_privs and the build
//                    seccomp profile (seccomp_policy.h), and execs the program.
// When the caller dies, PID 1 gets SIGKILL (PR_SET_PDEATHSIG), and with it every process of the
// PID namespace: killing flint-build ends the whole build. A failure at any step before the
// exec ends the build with kBuildSetupFailed and a message on stderr: the compiler never runs
// half-confined.
//
// Needs root. Main thread, single-threaded.
#pragma once

#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox {

struct BuildSandboxSpec {
  std::string sources_dir;      // host path, shown read-only at protocol::kBuildSourceDir
  std::string output_dir;       // host path, shown writable at protocol::kBuildOutputDir
  std::string sdk_include_dir;  // host path holding flint/, shown below protocol::kBuildSdkDir
  unsigned long long max_file_bytes = 256ull << 20;
  std::vector<std::string> command;  // the program (absolute, inside the sandbox) and its args
};

// Checks the spec (absolute, existing host folders; an absolute program). InvalidArgument
// naming what is wrong.
Status ValidateBuildSandboxSpec(const BuildSandboxSpec& spec);

// Runs spec.command in the build sandbox (see above) and returns the wait status of PID 1,
// which exits with the compiler's exit code, 128 + N when a signal N ended the compiler, or
// kBuildSetupFailed. Returns only in the calling process; an error means nothing was started.
Result<int> RunSandboxedBuild(const BuildSandboxSpec& spec);

}  // namespace flint::runtime::sandbox
