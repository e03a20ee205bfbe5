// OutboundNetwork: user-mode networking for one worker whose function has network "outbound".
//
// Every sandboxed worker starts in an empty network namespace of its own (runtime/sandbox). For
// an "outbound" function flintd runs slirp4netns against that namespace before it sends LOAD:
// slirp4netns creates tap0 inside it (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3) and turns
// the worker's packets into ordinary sockets of its own in the host's namespace, so the function
// can connect out but nothing can connect in. It runs with --disable-host-loopback (10.0.2.2
// does not lead to the host's 127.0.0.1: flintd's port and anything else bound there stay out
// of reach) and with its own sandbox and seccomp filter (--enable-sandbox: a private mount
// namespace and no capabilities once the tap exists; --enable-seccomp). docs/security.md says
// what this allows and what it does not.
//
// Invariant: slirp4netns never outlives its OutboundNetwork, nor flintd. The destructor ends it
// (SIGKILL to its process group) and reaps it, and the owner (the Worker) destroys it as soon as
// the worker is reaped; if flintd dies, slirp4netns sees its exit fd close (flintd held the
// only write end) and gets SIGKILL from PR_SET_PDEATHSIG.
//
// Loop thread only. Start does not block beyond fork and exec; the caller watches ready_fd() on
// its loop and calls CheckReady when it is readable.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "sdk/core/status.h"

namespace flint::scheduler::isolation {

// Longest flintd waits for slirp4netns to configure a namespace (it takes about 10-20 ms).
inline constexpr uint64_t kOutboundNetworkReadyTimeoutMs = 5'000;

struct OutboundNetworkOptions {
  std::string program = "slirp4netns";  // a path, or a name looked up in the system's bin dirs
  uint32_t mtu = 65520;                 // tap0's MTU: large frames make loopback-fast transfers
};

class OutboundNetwork {
 public:
  // Starts slirp4netns for the network namespace of process `target` (which must be the
  // caller's unreaped child, so its pid cannot be reused meanwhile). Unavailable when
  // slirp4netns is not installed.
  static Result<std::unique_ptr<OutboundNetwork>> Start(pid_t target,
                                                        const OutboundNetworkOptions& options = {});
  ~OutboundNetwork();
  OutboundNetwork(const OutboundNetwork&) = delete;
  OutboundNetwork& operator=(const OutboundNetwork&) = delete;

  // Becomes readable once slirp4netns has configured the namespace, or has exited.
  int ready_fd() const { return ready_fd_; }
  // Call when ready_fd() is readable: true once the network is up, false if it is not yet (a
  // spurious wake-up); an error (with slirp4netns' own messages) if it never will be.
  Result<bool> CheckReady();
  // An Unavailable error for a network that did not come up, naming `what` happened and what
  // slirp4netns printed.
  Status Failure(const std::string& what) const;
  pid_t pid() const { return pid_; }

 private:
  OutboundNetwork(pid_t pid, int ready_fd, int exit_fd, int output_fd)
      : pid_(pid), ready_fd_(ready_fd), exit_fd_(exit_fd), output_fd_(output_fd) {}
  // What slirp4netns printed so far (stdout and stderr), at most a few KB, trimmed.
  std::string Output() const;

  pid_t pid_;
  int ready_fd_;   // read end of --ready-fd (non-blocking)
  int exit_fd_;    // write end of --exit-fd: closing it tells slirp4netns to exit
  int output_fd_;  // memfd holding slirp4netns' stdout and stderr
};

}  // namespace flint::scheduler::isolation
