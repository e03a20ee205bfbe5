#include "scheduler/spawn/helper_process.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace {

using flint::scheduler::HelperSpawn;
using flint::scheduler::SpawnHelper;

// Everything written to `fd` from its start.
std::string Contents(int fd) {
  char buf[4096];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

int Wait(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("SpawnHelper gives the helper its descriptors as 3, 4, ... and nothing else", "[spawn]") {
  int a[2], b[2];
  REQUIRE(::pipe2(a, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(b, O_CLOEXEC) == 0);
  int output = ::memfd_create("helper-test", MFD_CLOEXEC);
  REQUIRE(output >= 0);
  // The two write ends in reverse order of their numbers: the helper must still get them in
  // the order listed.
  HelperSpawn spawn;
  spawn.program = "sh";
  spawn.args = {
      "-c", "echo to-3 >&3; echo to-4 >&4; echo out; ls /proc/self/fd | sort -n | tr '\\n' ' '"};
  spawn.fds = {b[1], a[1]};
  spawn.output_fd = output;
  auto pid = SpawnHelper(spawn);
  REQUIRE(pid.ok());
  ::close(a[1]);
  ::close(b[1]);
  CHECK(Wait(*pid) == 0);
  char buf[16] = {};
  CHECK(::read(b[0], buf, sizeof buf) == 5);
  CHECK(std::string(buf, 5) == "to-3\n");
  CHECK(::read(a[0], buf, sizeof buf) == 5);
  CHECK(std::string(buf, 5) == "to-4\n");
  // stdout and stderr go to the output; ls sees 0-4 and its own directory fd only.
  std::string out = Contents(output);
  CHECK(out.rfind("out\n0 1 2 3 4 ", 0) == 0);
  CHECK(out.size() <= std::string("out\n0 1 2 3 4 5 ").size());
  ::close(a[0]);
  ::close(b[0]);
  ::close(output);
}

TEST_CASE("SpawnHelper says when the program is not installed", "[spawn]") {
  HelperSpawn spawn;
  spawn.program = "flint-no-such-helper";
  auto pid = SpawnHelper(spawn);
  REQUIRE_FALSE(pid.ok());
  CHECK(pid.status().message() == "'flint-no-such-helper' is not installed on this server");
}
