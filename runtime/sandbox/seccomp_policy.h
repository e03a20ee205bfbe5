// The worker's seccomp policy: an allow-list, the last layer of the sandbox (sandbox.h installs
// it at the worker's start-up, after the uid drop, and docs/security.md says what it stops).
//
// Policy: a system call runs only if it is on the list (what V8, libnode, libuv, glibc and a
// native C++ function legitimately need: memory, files, time, futexes, epoll, signals, sockets,
// threads); everything else fails with EPERM. EPERM, not a kill, as Docker's and containerd's
// default profiles do: a library that probes a call it can live without (a new kernel API, an
// optional feature) sees an ordinary error and falls back, instead of taking the worker and
// every invocation in it down with SIGSYS. A few listed calls carry argument rules:
//   clone     allowed only without CLONE_NEW* flags (a new user namespace would hand back
//             privileges inside it);
//   clone3    ENOSYS: its flags are in memory seccomp cannot read, and ENOSYS makes glibc fall
//             back to clone();
//   socket    AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK only (the network namespace decides
//             what they reach); socketpair AF_UNIX only;
//   ioctl     anything but TIOCSTI (typing into a terminal the worker shares with flintd);
//   personality  PER_LINUX only.
// Calls through a foreign ABI (i386 int 0x80, x32) are not decoded and kill the process
// (SIGSYS): nothing Flint runs makes them, and their numbers would escape the rules above.
//
// The build profile (build_sandbox.h installs it before it execs the compiler) is the same
// list without what a compiler driver and its tools never need: the network calls (socket and
// socketpair AF_UNIX only; no bind, listen, accept, connect), SysV and POSIX IPC, memfd,
// memory keys and locking, scheduling and priority changes, new sessions and process groups,
// inotify, every uid, gid and capability change, and installing another filter.
//
// The filter is inherited by children and survives execve; it can only be tightened.
#pragma once

#include <span>
#include <vector>

#include "sdk/core/status.h"

namespace flint::runtime::sandbox {

enum class SeccompProfile {
  kWorker,  // a function's worker: what V8, libnode, libuv, glibc and a C++ function need
  kBuild,   // a C++ build: the compiler driver, cc1plus, as and ld
};

// The names of the calls allowed without argument rules, for this architecture or any other
// (names the running architecture does not have are skipped). For tests and documentation.
std::span<const char* const> SeccompAllowedSyscalls();  // the worker's
std::vector<const char*> SeccompAllowedSyscalls(SeccompProfile profile);

// Installs the policy on every thread of the calling process (TSYNC) and sets no_new_privs,
// which lets an unprivileged process install it. For good: there is no way back. Compiling it
// takes libseccomp about 1.5 ms, which is why a worker does it at start-up.
[[nodiscard]] Status InstallSeccompPolicy(SeccompProfile profile = SeccompProfile::kWorker);

}  // namespace flint::runtime::sandbox
