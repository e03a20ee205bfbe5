#include "tools/cli/output.h"

#include <catch2/catch.hpp>
#include <regex>

using flint::client::FunctionInfo;

namespace {

FunctionInfo Hello() {
  FunctionInfo f;
  f.name = "hello";
  f.version = 3;
  f.runtime = "js";
  f.entry = "index.mjs";
  f.memory_mb = 128;
  f.timeout_ms = 3000;
  f.keep_alive_ms = 600000;
  f.max_instances = 10;
  f.concurrency = 1;
  f.created_at = "2026-01-02T03:04:05Z";
  return f;
}

}  // namespace

TEST_CASE("The deploy summary names version, runtime, memory, timeout and the URL",
          "[cli][output]") {
  CHECK(flint::cli::FormatDeployed(Hello(), "http://127.0.0.1:8080") ==
        "deployed hello version 3 (js, 128 MB, timeout 3s)\n"
        "  invoke: curl http://127.0.0.1:8080/fn/hello\n");
}

TEST_CASE("ls prints an aligned table", "[cli][output]") {
  FunctionInfo other = Hello();
  other.name = "json-transform";
  other.version = 12;
  other.timeout_ms = 300;
  std::string table = flint::cli::FormatFunctionTable({Hello(), other});
  CHECK(table ==
        "NAME            VERSION  RUNTIME  MEMORY  TIMEOUT  CREATED\n"
        "hello           3        js       128 MB  3s       2026-01-02T03:04:05Z\n"
        "json-transform  12       js       128 MB  300ms    2026-01-02T03:04:05Z\n");
}

TEST_CASE("describe shows config, pool and versions", "[cli][output]") {
  flint::client::FunctionDetails d;
  d.function = Hello();
  d.function.env = {{"A", "1"}, {"B", "2"}};
  d.pool.idle = 1;
  d.pool.invocations = 12;
  d.pool.cold_starts = 1;
  d.versions = {{3, "t3", "d3"}, {2, "t2", "d2"}};
  std::string text = flint::cli::FormatDetails(d);
  INFO(text);
  // Labels are padded to the widest one; match any padding.
  auto has = [&](const char* pattern) { return std::regex_search(text, std::regex(pattern)); };
  CHECK(has(R"((^|\n)keep-alive: +10m\n)"));
  CHECK(has(R"(\nenv: +A=1\n +B=2\n)"));
  CHECK(has(R"(\nworkers: +1 idle, 0 busy, 0 starting\n)"));
  CHECK(has(R"(\ninvocations: +12 \(1 cold starts, 0 errors\)\n)"));
  CHECK(has(R"(\nversions:\n +VERSION +CREATED +CODE DIGEST\n +3 +t3 +d3\n +2 +t2 +d2\n)"));
  CHECK(has(R"(\ncpu: +unlimited \(no cgroups\)\n)"));
}

TEST_CASE("describe shows each worker's CPU weight and quota", "[cli][output]") {
  flint::client::FunctionDetails d;
  d.function = Hello();
  flint::client::LimitsInfo limits;
  limits.cpu_mode = "weight";
  limits.cpu_weight = 74;
  limits.cpu_period_ms = 100;
  d.limits = limits;
  auto cpu_line = [&] {
    std::smatch m;
    std::string text = flint::cli::FormatDetails(d);
    return std::regex_search(text, m, std::regex(R"(\ncpu: +([^\n]*)\n)")) ? m[1].str() : "";
  };
  CHECK(cpu_line() == "weight 74 (0.07 vCPU under contention), no quota (idle CPU is used)");
  d.limits->cpu_mode = "proportional-quota";
  d.limits->cpu_quota = 0.072;
  CHECK(cpu_line() ==
        "weight 74 (0.07 vCPU under contention), quota 0.072 CPU per 100 ms (node's proportional "
        "quota)");
  d.function.cpu = 0.5;
  d.limits->cpu_weight = 512;
  d.limits->cpu_quota = 0.5;
  CHECK(cpu_line() == "weight 512 (0.50 vCPU under contention), quota 0.5 CPU per 100 ms");
  d.limits.reset();
  CHECK(cpu_line() == "0.5 CPU asked for, not enforced (no cgroups)");
}

TEST_CASE("logs print one line per record", "[cli][output]") {
  CHECK(flint::cli::FormatLogs({{"t1", "r1", "info", "hello"}, {"t2", "", "error", "bad\n"}}) ==
        "t1 info [r1] hello\nt2 error bad\n");
}

TEST_CASE("FormatError keeps a compiler's whole output", "[cli][output]") {
  using flint::cli::FormatError;
  using flint::cli::WithHttpStatus;
  CHECK(FormatError("not found") == "flint: not found\n");
  CHECK(FormatError("\n  \nboom  \n\n") == "flint: boom\n");
  CHECK(FormatError("") == "flint: unknown error\n");
  std::string compiler =
      "compilation failed: hello.cc:3:5: error: 'x' was not declared in this scope\n"
      "hello.cc: In function 'flint::Response H(const flint::Request&)':\n"
      "hello.cc:3:5: error: 'x' was not declared in this scope\n"
      "    3 |   x;\n"
      "      |   ^\n"
      "(g++ exit code 1)\n";
  std::string with_status = WithHttpStatus(compiler, 400);
  CHECK(with_status.rfind(
            "compilation failed: hello.cc:3:5: error: 'x' was not declared in this scope (400)\n",
            0) == 0);
  CHECK(FormatError(with_status) ==
        "flint: " + with_status.substr(0, with_status.size() - 1) + "\n");
  CHECK(FormatError(with_status).find("    3 |   x;\n      |   ^\n(g++ exit code 1)\n") !=
        std::string::npos);
  CHECK(WithHttpStatus("function 'x' does not exist", 404) == "function 'x' does not exist (404)");
  CHECK(WithHttpStatus("gone\n", 410) == "gone (410)");
}
