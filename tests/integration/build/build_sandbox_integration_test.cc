// The build sandbox on its own: flint-build runs /bin/sh in place of the compiler, and the
// script reports what it can see and do. Needs root (namespaces, mounts); otherwise each test
// WARNs that it was skipped and passes. Quick: no compiler runs here.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"
#include "tests/support/skip_unless_root.h"

using flint::testing::CliResult;
using flint::testing::RunProcess;
using flint::testing::TempDir;
using namespace std::chrono_literals;

namespace {

const std::string kFlintBuild = FLINT_BUILD_PATH;
const std::string kSdk = FLINT_SDK_INCLUDE_DIR;

// A sources folder, an output folder, and flint-build's arguments for them.
struct Folders {
  TempDir root{"flint-build-test"};
  std::string sources = root.path() + "/src";
  std::string output = root.path() + "/out";

  Folders() {
    root.Write("src/hello.txt", "hello from the sources\n");
    root.Write("out/.keep", "");
  }

  std::vector<std::string> Args(const std::string& script, uint64_t max_file_bytes = 1 << 20,
                                const std::string& sdk = kSdk) const {
    return {"--sources",
            sources,
            "--output",
            output,
            "--sdk",
            sdk,
            "--max-file-bytes",
            std::to_string(max_file_bytes),
            "--",
            "/bin/sh",
            "-c",
            script};
  }
};

CliResult InSandbox(const Folders& folders, const std::string& script,
                    uint64_t max_file_bytes = 1 << 20) {
  return RunProcess(kFlintBuild, folders.Args(script, max_file_bytes), {}, 30s);
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("The build sandbox runs the compiler as nobody in a view of only what it needs",
          "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  CliResult r = InSandbox(folders,
                          "id -u; id -g; echo; ls /; echo; "
                          "cat /src/hello.txt; ls /flint/include/flint/flint.h; pwd");
  INFO(r.Describe());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("65534\n65534\n\n", 0) == 0);
  for (const char* dir : {"src\n", "out\n", "tmp\n", "usr\n", "flint\n", "dev\n"}) {
    CHECK(Has(r.out, dir));
  }
  for (const char* dir : {"etc\n", "proc\n", "sys\n", "root\n", "home\n", "var\n", "run\n"}) {
    CHECK_FALSE(Has(r.out, dir));
  }
  CHECK(Has(r.out, "hello from the sources\n/flint/include/flint/flint.h\n/src\n"));
}

TEST_CASE("The build sandbox hides the host's files and processes", "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  std::string script;
  for (const std::string& path :
       {std::string("/etc/shadow"), std::string("/etc/passwd"), std::string("/proc/1/environ"),
        std::string("/root"), std::string("/sys"), folders.root.path(), folders.sources,
        std::string("/tmp/..") + folders.root.path()}) {
    script += "[ -e '" + path + "' ] && echo 'visible: " + path + "'; ";
  }
  script += "echo checked";
  CliResult r = InSandbox(folders, script);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "checked\n");
}

TEST_CASE("The build sandbox lets the compiler write only its output and /tmp", "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  CliResult r = InSandbox(folders,
                          "for f in /src/x /usr/x /x /flint/include/x /dev/x; do "
                          "  (: > $f) 2>/dev/null && echo \"wrote $f\"; done; "
                          "echo built > /out/function.so && echo out; "
                          "echo tmp > /tmp/t && echo tmp");
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "out\ntmp\n");
  CHECK(flint::testing::ReadFile(folders.output + "/function.so") == "built\n");
}

TEST_CASE("The build sandbox holds files to the output limit and /tmp to its size",
          "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  // 1 MB: a 2 MB file kills its writer (SIGXFSZ: 128 + 25); two of 0.9 MB fill /tmp.
  CliResult r = InSandbox(folders,
                          "head -c 2000000 /dev/urandom > /out/big; echo $?; "
                          "head -c 900000 /dev/urandom > /tmp/a; echo $?; "
                          "head -c 900000 /dev/urandom > /tmp/b 2>/dev/null; echo $?",
                          1 << 20);
  INFO(r.Describe());
  CHECK(r.exit_code == 0);
  CHECK(r.out == "153\n0\n1\n");
}

TEST_CASE("The build sandbox exits as the compiler did", "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  CHECK(InSandbox(folders, "echo failing >&2; exit 3").exit_code == 3);
  CliResult killed = InSandbox(folders, "kill -9 $$");
  CHECK(killed.exit_code == 128 + SIGKILL);
}

TEST_CASE("The build sandbox refuses to run when it cannot be set up", "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  CliResult no_sdk =
      RunProcess(kFlintBuild, folders.Args("echo ran", 1 << 20, folders.root.path()), {}, 30s);
  INFO(no_sdk.Describe());
  CHECK(no_sdk.exit_code == 125);
  CHECK(no_sdk.out.empty());
  CHECK(Has(no_sdk.err, "flint-build: cannot set up the build sandbox"));
  std::vector<std::string> args = folders.Args("echo ran");
  args[args.size() - 3] = "/nonexistent/compiler";
  CliResult no_program = RunProcess(kFlintBuild, args, {}, 30s);
  CHECK(no_program.exit_code == 125);
  CHECK(Has(no_program.err, "cannot run the compiler"));
}

TEST_CASE("Killing flint-build ends every process of the build", "[build_sandbox]") {
  FLINT_SKIP_UNLESS_ROOT("the build sandbox's tests (namespaces, mounts)");
  Folders folders;
  std::vector<std::string> args = folders.Args("sleep 300 & sleep 301; wait");
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(kFlintBuild.c_str()));
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::vector<pid_t> sleepers;
  bool found = flint::testing::WaitUntil([&] {
    sleepers.clear();
    for (pid_t p : flint::testing::Descendants(pid)) {
      if (flint::testing::ProcessCmdline(p).rfind("sleep 30", 0) == 0) sleepers.push_back(p);
    }
    return sleepers.size() == 2;
  });
  ::kill(pid, SIGKILL);  // flint-build alone: the sandbox must follow
  ::waitpid(pid, nullptr, 0);
  REQUIRE(found);
  CHECK(flint::testing::WaitUntil([&] {
    for (pid_t p : sleepers) {
      if (flint::testing::ProcessAlive(p)) return false;
    }
    return true;
  }));
}
