#include "tools/cli/commands.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sdk/encoding/base64.h"
#include "tests/support/fake_server.h"

using flint::testing::FakeReply;
using flint::testing::FakeServer;
using flint::testing::RecordedRequest;

namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cli(std::vector<std::string> args, std::map<std::string, std::string> env, bool tty = false,
        const std::string& stdin_text = "") {
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  env.emplace("HOME", "/nonexistent-flint-home");
  flint::cli::CliIo io{out, err, in,
                       [env](const char* name) -> const char* {
                         auto it = env.find(name);
                         return it == env.end() ? nullptr : it->second.c_str();
                       },
                       tty};
  args.insert(args.begin(), "flint");
  int code = flint::cli::RunCli(args, io);
  return {code, out.str(), err.str()};
}

const char* kInfo = R"({"function":{"name":"hello","version":3,"runtime":"js","entry":"index.mjs",)"
                    R"("code_digest":"d","memory_mb":128,"timeout_ms":300,"keep_alive_ms":0,)"
                    R"("max_instances":10,"concurrency":1,"env":{},"created_at":"t"}})";

// One line on stderr, starting with "flint: ".
bool IsOneErrorLine(const std::string& err) {
  return err.rfind("flint: ", 0) == 0 && err.find('\n') == err.size() - 1;
}

}  // namespace

TEST_CASE("flint rejects a bad function name before calling flintd", "[cli][commands]") {
  Run r = Cli({"deploy", "Hello_World", "/tmp"}, {{"FLINT_URL", "http://127.0.0.1:1"}});
  CHECK(r.code == flint::cli::kExitUsage);
  CHECK(IsOneErrorLine(r.err));
  CHECK(r.err.find("invalid function name 'Hello_World'") != std::string::npos);
}

TEST_CASE("flint reports usage errors in one line", "[cli][commands]") {
  Run unknown = Cli({"frobnicate"}, {});
  CHECK(unknown.code == flint::cli::kExitUsage);
  CHECK(unknown.err == "flint: unknown command 'frobnicate' (see 'flint --help')\n");
  Run missing = Cli({"describe"}, {});
  CHECK(missing.code == flint::cli::kExitUsage);
  CHECK(IsOneErrorLine(missing.err));
  Run bad_duration = Cli({"deploy", "x", "/tmp", "--timeout", "3 weeks"}, {});
  CHECK(bad_duration.code == flint::cli::kExitUsage);
  CHECK(bad_duration.err.find("--timeout: invalid duration") != std::string::npos);
  Run help = Cli({"--help"}, {});
  CHECK(help.code == 0);
  CHECK(help.out.find("deploy") != std::string::npos);
  Run version = Cli({"version"}, {});
  CHECK(version.out.rfind("flint ", 0) == 0);
}

TEST_CASE("flint says how to fix a missing token", "[cli][commands]") {
  Run r = Cli({"ls"}, {{"FLINT_DATA_DIR", "/nonexistent-flint-dir"}});
  CHECK(r.code == flint::cli::kExitUsage);
  CHECK(IsOneErrorLine(r.err));
  CHECK(r.err.find("no admin token: /nonexistent-flint-dir/admin.token does not exist; set "
                   "FLINT_TOKEN") != std::string::npos);
}

TEST_CASE("flint says when flintd is not running", "[cli][commands]") {
  Run r = Cli({"ls"}, {{"FLINT_URL", "http://127.0.0.1:1"}, {"FLINT_TOKEN", "t"}});
  CHECK(r.code == flint::cli::kExitUnreachable);
  CHECK(r.err ==
        "flint: cannot reach flintd at http://127.0.0.1:1: connection refused \u2014 is it "
        "running? (start it with 'flint up')\n");
}

TEST_CASE("flint deploy uploads the package with its settings", "[cli][commands]") {
  FakeServer server(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(201, kInfo)}; });
  std::string dir = "/tmp/flint-cmd-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/lib");
  std::ofstream(dir + "/index.mjs") << "export const handler = () => 1;";
  std::ofstream(dir + "/lib/u.mjs") << "export const u = 1;";
  Run r = Cli({"deploy", "hello", dir, "--timeout", "300ms", "--memory", "256", "--env", "A=1",
               "--env", "B=x=y", "--keep-alive", "2s"},
              {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "tok"}});
  std::filesystem::remove_all(dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out == "deployed hello version 3 (js, 128 MB, timeout 300ms)\n  invoke: curl " +
                     server.url() + "/fn/hello\n");
  RecordedRequest req = server.requests().at(0);
  CHECK(req.Method() == "PUT");
  CHECK(req.Target() == "/v1/functions/hello");
  CHECK(req.Header("authorization") == "Bearer tok");
  auto body = nlohmann::json::parse(req.body);
  CHECK(body["entry"] == "index.mjs");
  CHECK(body["runtime"] == "node");
  CHECK(body["timeout_ms"] == 300);
  CHECK(body["keep_alive_ms"] == 2000);
  CHECK(body["memory_mb"] == 256);
  CHECK(body["env"]["B"] == "x=y");
  CHECK(flint::Base64Decode(body["files"]["lib/u.mjs"].get<std::string>()).value() ==
        "export const u = 1;");
  CHECK_FALSE(body.contains("max_instances"));
}

TEST_CASE("flint prints API errors with their status and --json raw answers", "[cli][commands]") {
  FakeServer server([](const RecordedRequest& r) {
    if (r.Target() == "/v1/functions") {
      return FakeReply{FakeServer::Response(200, R"({"functions":[]})")};
    }
    return FakeReply{FakeServer::Response(
        404, R"({"error":{"code":"not_found","message":"function 'x' does not exist"}})")};
  });
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "t"}};
  Run missing = Cli({"describe", "x"}, env);
  CHECK(missing.code == flint::cli::kExitFailed);
  CHECK(missing.err == "flint: function 'x' does not exist (404)\n");
  Run json = Cli({"ls", "--json"}, env);
  CHECK(json.code == 0);
  CHECK(json.out == "{\"functions\":[]}\n");
  Run json_first = Cli({"--json", "ls"}, env);
  CHECK(json_first.out == "{\"functions\":[]}\n");
}

TEST_CASE("flint invoke prints the body exactly and fails on non-2xx", "[cli][commands]") {
  FakeServer server([](const RecordedRequest& r) {
    if (r.Target() == "/fn/slow") {
      return FakeReply{FakeServer::Response(
          504, R"({"error":{"code":"function_timeout","message":"timed out after 300ms"}})")};
    }
    if (r.Target() == "/fn/busy") {
      return FakeReply{FakeServer::Response(
          429, R"({"error":{"code":"too_many_requests","message":"queue full"}})",
          "application/json", "Retry-After: 1\r\n")};
    }
    if (r.Target() == "/fn/teapot") return FakeReply{FakeServer::Response(418, "short and stout")};
    return FakeReply{FakeServer::Response(200, r.Method() + " " + r.Target() + " " +
                                                   r.Header("content-type") + " " +
                                                   r.Header("x-k") + " " + r.body)};
  });
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}};
  Run get = Cli({"invoke", "echo", "--path", "/a?b=1"}, env);
  CHECK(get.code == 0);
  CHECK(get.out == "GET /fn/echo/a?b=1   ");
  Run post = Cli({"invoke", "echo", "--data", "{\"a\":1}", "--header", "X-K: v"}, env,
                 /*tty=*/true);
  CHECK(post.out == "POST /fn/echo application/json v {\"a\":1}\n");
  Run from_stdin = Cli({"invoke", "echo", "-d", "@-", "-X", "put"}, env, false, "[1]");
  CHECK(from_stdin.out == "PUT /fn/echo application/json  [1]");

  Run slow = Cli({"invoke", "slow"}, env);
  CHECK(slow.code == flint::cli::kExitFailed);
  CHECK(slow.out.empty());
  CHECK(slow.err == "flint: 504: timed out after 300ms\n");
  Run busy = Cli({"invoke", "busy"}, env);
  CHECK(busy.err == "flint: 429: queue full (retry after 1s)\n");
  Run teapot = Cli({"invoke", "teapot"}, env);
  CHECK(teapot.code == flint::cli::kExitFailed);
  CHECK(teapot.out == "short and stout");
  CHECK(teapot.err == "flint: 418: short and stout\n");
}

TEST_CASE("flint up looks for flintd beside itself and in the build tree", "[cli][commands]") {
  std::string root = "/tmp/flint-up-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(root + "/tools/cli");
  std::filesystem::create_directories(root + "/scheduler");
  std::ofstream(root + "/scheduler/flintd") << "#!/bin/sh\n";
  std::filesystem::permissions(root + "/scheduler/flintd", std::filesystem::perms::owner_all);
  auto candidates = flint::cli::FlintdCandidates(root + "/tools/cli/flint");
  std::filesystem::remove_all(root);
  REQUIRE(candidates.size() == 1);
  CHECK(candidates[0] == root + "/scheduler/flintd");
}
