// C++ builds (scheduler/build/cpp_build.h): the flags, the cache, running the compiler without
// the sandbox (the sandboxed path runs as root in tests/integration/build), and what an outcome
// means for the deploy.
#include "scheduler/build/cpp_build.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/unit/scheduler/store/temp_dir.h"

namespace flint::scheduler {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

BuildOptions Options(bool sandboxed) {
  BuildOptions options;
  options.sdk_include_dir = FLINT_SDK_INCLUDE_DIR;
  if (sandboxed) options.sandbox_path = "/nonexistent/flint-build";
  return options;
}

PendingBuild Pending(bool sandboxed) {
  PendingBuild build;
  build.options = Options(sandboxed);
  build.compiler_path = "/usr/bin/g++";
  return build;
}

ToolOutcome Exited(int code, std::string output) {
  ToolOutcome outcome;
  outcome.exit_code = code;
  outcome.describe = "exit code " + std::to_string(code);
  outcome.output = std::move(output);
  return outcome;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("A sandboxed build names the SDK by its path inside the sandbox", "[cpp_build]") {
  std::vector<std::string> sandboxed = BuildFlags(Options(true));
  CHECK(std::find(sandboxed.begin(), sandboxed.end(), "-I/flint/include") != sandboxed.end());
  std::vector<std::string> direct = BuildFlags(Options(false));
  CHECK(std::find(direct.begin(), direct.end(), std::string("-I") + FLINT_SDK_INCLUDE_DIR) !=
        direct.end());
}

TEST_CASE("A build killed for memory names the memory limit", "[cpp_build]") {
  PendingBuild build = Pending(true);
  build.options.limits.memory_mb = 512;
  Status s = DescribeBuildFailure(
      build, Exited(4, "g++: fatal error: Killed signal terminated program cc1plus\n"), true);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message().rfind("the build exceeded its memory limit of 512 MB and was stopped\n", 0) ==
        0);
  CHECK(Has(s.message(), "Killed signal terminated program cc1plus"));
}

TEST_CASE("A build stopped at its timeout names the time limit and its CPUs", "[cpp_build]") {
  PendingBuild build = Pending(true);
  build.options.limits.timeout = std::chrono::seconds(30);
  build.options.limits.cpu_millis = 500;
  ToolOutcome outcome;
  outcome.timed_out = true;
  Status s = DescribeBuildFailure(build, outcome, false);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message() ==
        "the build exceeded its time limit of 30 s and was stopped (it may use 0.50 CPUs)");
}

TEST_CASE("A build that wrote too large a file names the output limit", "[cpp_build]") {
  PendingBuild build = Pending(true);
  build.options.limits.max_output_bytes = 64ull << 20;
  for (const char* message :
       {"g++: internal compiler error: File size limit exceeded signal terminated program as\n",
        "/usr/bin/ld: final link failed: No space left on device\n"}) {
    Status s = DescribeBuildFailure(build, Exited(4, message), false);
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.message().rfind("the build exceeded its output size limit of 64 MB", 0) == 0);
  }
}

TEST_CASE("A sandbox that could not be set up is an internal error without its details",
          "[cpp_build]") {
  Status s = DescribeBuildFailure(
      Pending(true),
      Exited(125, "flint-build: cannot set up the build sandbox: bind /srv/flint/data: EACCES\n"),
      false);
  CHECK(s.code() == Code::kInternal);
  CHECK_FALSE(Has(s.message(), "/srv/flint"));
}

TEST_CASE("A compile error names the first error, then all the compiler said", "[cpp_build]") {
  std::string output =
      "hello.cc: In function 'int f()':\n"
      "hello.cc:2:18: error: 'x' was not declared in this scope\n"
      "hello.cc:3:1: error: expected ';'\n";
  Status s = DescribeBuildFailure(Pending(true), Exited(1, output), false);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message() ==
        "compilation failed: hello.cc:2:18: error: 'x' was not declared in this "
        "scope\n" +
            output + "(g++ exit code 1)");
}

TEST_CASE("A build that succeeded and left a shared object is no failure", "[cpp_build]") {
  PendingBuild build = Pending(true);
  build.built =
      "\x7f"
      "ELF";
  CHECK(DescribeBuildFailure(build, Exited(0, ""), false).ok());
  build.built.clear();
  CHECK(DescribeBuildFailure(build, Exited(0, ""), false).code() == Code::kInternal);
}

TEST_CASE("LookUpBuild refuses an upload holding function.so and a missing SDK", "[cpp_build]") {
  TempDir data;
  auto code = CodeStore::Open(data.path());
  REQUIRE(code.ok());
  auto refused = LookUpBuild({{"index.cc", "int x;"}, {"function.so", "x"}}, *code, data.path(),
                             Options(true));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == Code::kInvalidArgument);
  BuildOptions no_sdk = Options(true);
  no_sdk.sdk_include_dir = data.path();
  auto unavailable = LookUpBuild({{"index.cc", "int x;"}}, *code, data.path(), no_sdk);
  REQUIRE_FALSE(unavailable.ok());
  CHECK(unavailable.status().code() == Code::kUnavailable);
}

TEST_CASE("A stored build is found in the cache by the same sources, sandboxed or not",
          "[cpp_build]") {
  TempDir data;
  auto code = CodeStore::Open(data.path());
  REQUIRE(code.ok());
  std::vector<CodeFile> files = {{"index.cc", "int answer() { return 42; }\n"},
                                 {"lib/b.cpp", "int b;\n"},
                                 {"README", "not a source"}};
  auto miss = LookUpBuild(files, *code, data.path(), Options(true));
  REQUIRE(miss.ok());
  REQUIRE(miss->pending != nullptr);
  CHECK(miss->cached_digest.empty());
  CHECK(miss->pending->sources == std::vector<std::string>{"index.cc", "lib/b.cpp"});
  miss->pending->built = "the shared object";
  auto digest = StoreBuild(*miss->pending, *code);
  REQUIRE(digest.ok());

  auto hit = LookUpBuild(files, *code, data.path(), Options(true));
  REQUIRE(hit.ok());
  CHECK(hit->pending == nullptr);
  CHECK(hit->cached_digest == *digest);
  std::ifstream built(code->DirOf(*digest) + "/function.so");
  std::string text((std::istreambuf_iterator<char>(built)), std::istreambuf_iterator<char>());
  CHECK(text == "the shared object");

  // An unsandboxed build is another build: it never answers for a sandboxed one or back.
  auto other = LookUpBuild(files, *code, data.path(), Options(false));
  REQUIRE(other.ok());
  CHECK(other->pending != nullptr);
  files[0].second += "// changed\n";
  auto changed = LookUpBuild(files, *code, data.path(), Options(true));
  REQUIRE(changed.ok());
  CHECK(changed->pending != nullptr);
}

TEST_CASE(
    "An unsandboxed build compiles in a scratch folder it removes, naming only the "
    "user's files",
    "[cpp_build]") {
  TempDir data;
  auto code = CodeStore::Open(data.path());
  REQUIRE(code.ok());
  auto ok = LookUpBuild({{"fn/good.cc", "extern \"C\" int answer() { return 42; }\n"}}, *code,
                        data.path(), Options(false));
  REQUIRE(ok.ok());
  REQUIRE(ok->pending != nullptr);
  auto ran = RunBuild(*ok->pending, {});
  REQUIRE(ran.ok());
  INFO(ran->output);
  CHECK(ran->exit_code == 0);
  CHECK(ok->pending->built.rfind("\x7f"
                                 "ELF",
                                 0) == 0);
  CHECK(DescribeBuildFailure(*ok->pending, *ran, false).ok());

  auto bad = LookUpBuild({{"fn/bad.cc", "int f() { return undefined_name; }\n"}}, *code,
                         data.path(), Options(false));
  REQUIRE(bad.ok());
  auto failed = RunBuild(*bad->pending, {});
  REQUIRE(failed.ok());
  Status s = DescribeBuildFailure(*bad->pending, *failed, false);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(Has(s.message(), "compilation failed: fn/bad.cc:1:18: error:"));
  CHECK_FALSE(Has(s.message(), data.path()));
  // Nothing is left of the scratch folders.
  size_t left = 0;
  for (const auto& entry : fs::directory_iterator(data.path() + "/build-cache")) {
    (void)entry;
    ++left;
  }
  CHECK(left == 0);
}

}  // namespace flint::scheduler
