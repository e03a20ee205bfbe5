// RunTool and CompilerVersion (scheduler/spawn/compiler.h), driven with /bin/sh.
#include "scheduler/spawn/compiler.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace flint::scheduler {
namespace {

ToolRun Shell(const std::string& script) {
  ToolRun run;
  run.program = "sh";
  run.args = {"-c", script};
  run.work_dir = "/tmp";
  return run;
}

// True once `pid` is gone or a zombie (bounded wait; not a timing check).
bool Gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST_CASE("RunTool captures stdout and stderr in order, and the exit code", "[compiler]") {
  Result<ToolOutcome> out = RunTool(Shell("echo out; echo err >&2; echo again; exit 3"));
  REQUIRE(out.ok());
  CHECK(out->exit_code == 3);
  CHECK_FALSE(out->timed_out);
  CHECK(out->output == "out\nerr\nagain\n");
  CHECK(out->describe == "exit code 3");
}

TEST_CASE("RunTool runs in the given folder", "[compiler]") {
  ToolRun run = Shell("pwd");
  run.work_dir = "/";
  Result<ToolOutcome> out = RunTool(run);
  REQUIRE(out.ok());
  CHECK(out->exit_code == 0);
  CHECK(out->output == "/\n");
}

TEST_CASE("RunTool kills the tool's whole process group at the timeout", "[compiler]") {
  ToolRun run = Shell("sleep 60 & echo $!; wait");
  run.timeout = std::chrono::milliseconds(300);
  Result<ToolOutcome> out = RunTool(run);
  REQUIRE(out.ok());
  CHECK(out->timed_out);
  CHECK(out->exit_code == -1);
  CHECK(out->describe == "signal SIGKILL (9)");
  pid_t child = static_cast<pid_t>(std::stol(out->output));
  REQUIRE(child > 0);
  CHECK(Gone(child));
}

TEST_CASE("RunTool cuts long output with a note", "[compiler]") {
  ToolRun run = Shell("head -c 1000 /dev/zero | tr '\\0' a");
  run.max_output_bytes = 100;
  Result<ToolOutcome> out = RunTool(run);
  REQUIRE(out.ok());
  CHECK(out->output.rfind(std::string(100, 'a') + "\n... [900 more bytes of output cut]", 0) == 0);
}

TEST_CASE("RunTool reads a tool's endless output without keeping it", "[compiler]") {
  // 64 MB through the pipe; only the first 1000 bytes are kept.
  ToolRun run = Shell("head -c 67108864 /dev/zero; echo done >&2");
  run.max_output_bytes = 1000;
  Result<ToolOutcome> out = RunTool(run);
  REQUIRE(out.ok());
  CHECK(out->exit_code == 0);
  CHECK(out->output_bytes == 67108864u + 5);
  CHECK(out->output.size() < 1100);
  CHECK(out->output.find("67107869 more bytes of output cut") != std::string::npos);
}

TEST_CASE("RunTool holds a tool to the file size limit", "[compiler]") {
  char dir[] = "/tmp/flint-compiler-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  ToolRun run = Shell("head -c 100000 /dev/zero > big; echo \"exit $?\"; wc -c < big");
  run.work_dir = dir;
  run.max_file_bytes = 4096;
  Result<ToolOutcome> out = RunTool(run);
  std::remove((std::string(dir) + "/big").c_str());
  ::rmdir(dir);
  REQUIRE(out.ok());
  INFO(out->output);
  // head was killed by SIGXFSZ (128 + 25) once the file reached the limit.
  CHECK(out->output.find("exit 153\n4096\n") != std::string::npos);
}

TEST_CASE("RunTool writes the tool's pid into the cgroup files before it runs", "[compiler]") {
  char dir[] = "/tmp/flint-compiler-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  std::string procs = std::string(dir) + "/cgroup.procs";
  std::ofstream(procs).close();
  ToolRun run = Shell("echo $$");
  run.cgroup_procs = {procs};
  Result<ToolOutcome> out = RunTool(run);
  std::ifstream in(procs);
  std::string written;
  std::getline(in, written);
  std::remove(procs.c_str());
  ::rmdir(dir);
  REQUIRE(out.ok());
  CHECK(out->output == written + "\n");

  ToolRun missing = Shell("true");
  missing.cgroup_procs = {"/nonexistent/flint/cgroup.procs"};
  Result<ToolOutcome> refused = RunTool(missing);
  CHECK_FALSE(refused.ok());  // the tool never runs outside its cgroup
}

TEST_CASE("RunTool reports a program that is not installed", "[compiler]") {
  ToolRun run;
  run.program = "flint-no-such-compiler";
  run.work_dir = "/tmp";
  Result<ToolOutcome> out = RunTool(run);
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == Code::kUnavailable);
  CHECK(out.status().message().find("flint-no-such-compiler") != std::string::npos);
}

TEST_CASE("CompilerVersion gives g++'s first --version line", "[compiler]") {
  Result<std::string> version = CompilerVersion("g++");
  REQUIRE(version.ok());
  CHECK(version->find("g++") != std::string::npos);
  CHECK(version->find('\n') == std::string::npos);
  REQUIRE_FALSE(CompilerVersion("flint-no-such-compiler").ok());
}

}  // namespace
}  // namespace flint::scheduler
