#include "scheduler/isolation/outbound_network.h"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace iso = flint::scheduler::isolation;

namespace {

// Waits (bounded) for the ready fd, then asks the network whether it is up.
flint::Result<bool> WaitReady(iso::OutboundNetwork& network) {
  for (int i = 0; i < 100; ++i) {
    pollfd p = {network.ready_fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) {
      auto ready = network.CheckReady();
      if (!ready.ok() || *ready) return ready;
    }
  }
  return false;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

}  // namespace

TEST_CASE("OutboundNetwork says when its program is not installed", "[isolation][network]") {
  iso::OutboundNetworkOptions options;
  options.program = "flint-no-such-slirp4netns";
  auto network = iso::OutboundNetwork::Start(::getpid(), options);
  REQUIRE_FALSE(network.ok());
  CHECK(network.status().code() == flint::Code::kUnavailable);
  CHECK(network.status().message() ==
        "'flint-no-such-slirp4netns' is not installed on this server");
}

TEST_CASE("OutboundNetwork reports a helper that exits before the network is up",
          "[isolation][network]") {
  iso::OutboundNetworkOptions options;
  options.program = "false";  // ignores its arguments and exits 1
  auto network = iso::OutboundNetwork::Start(::getpid(), options);
  REQUIRE(network.ok());
  auto ready = WaitReady(**network);
  REQUIRE_FALSE(ready.ok());
  CHECK(ready.status().code() == flint::Code::kUnavailable);
  CHECK(ready.status().message() ==
        "outbound network for the worker failed: slirp4netns exited before the network was "
        "ready");
}

TEST_CASE("OutboundNetwork brings a network namespace up and ends slirp4netns with itself",
          "[isolation][network]") {
  if (::geteuid() != 0) {
    WARN("skipped: joining another network namespace needs root; run the tests as root");
    return;
  }
  // A child alone in a new network namespace, as a sandboxed worker is.
  int sync[2];
  REQUIRE(::pipe(sync) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char c = ::unshare(CLONE_NEWNET) == 0 ? '1' : '0';
    (void)!::write(sync[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(sync[1]);
  char c = 0;
  REQUIRE(::read(sync[0], &c, 1) == 1);
  ::close(sync[0]);
  REQUIRE(c == '1');

  auto network = iso::OutboundNetwork::Start(child);
  if (!network.ok() && network.status().code() == flint::Code::kUnavailable) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    WARN("skipped: " << network.status().message() << " (tools/setup.sh installs it)");
    return;
  }
  REQUIRE(network.ok());
  auto ready = WaitReady(**network);
  INFO(ready.status().ToString());
  CHECK(ready.ok());
  CHECK((ready.ok() && *ready));
  pid_t slirp = (*network)->pid();
  CHECK(Alive(slirp));
  network->reset();
  // Ended and reaped: the pid is gone, not a zombie.
  CHECK_FALSE(Alive(slirp));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}
