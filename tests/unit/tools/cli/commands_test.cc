#include "tools/cli/commands.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
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
        const std::string& stdin_text = "", const std::string& cwd = "") {
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  env.emplace("HOME", "/nonexistent-flint-home");
  flint::cli::CliIo io{out,
                       err,
                       in,
                       [env](const char* name) -> const char* {
                         auto it = env.find(name);
                         return it == env.end() ? nullptr : it->second.c_str();
                       },
                       tty,
                       false,
                       false,
                       cwd};
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

// A part of a deploy's multipart/form-data body: "deploy" (the settings as JSON) or "code" (a
// tar.gz).
std::string DeployPart(const RecordedRequest& req, const std::string& name) {
  std::string type = req.Header("content-type");
  REQUIRE(type.rfind("multipart/form-data; boundary=", 0) == 0);
  std::string delimiter = "--" + type.substr(type.find('=') + 1);
  size_t at = req.body.find("name=\"" + name + "\"");
  REQUIRE(at != std::string::npos);
  size_t start = req.body.find("\r\n\r\n", at) + 4;
  size_t end = req.body.find("\r\n" + delimiter, start);
  REQUIRE(end != std::string::npos);
  return req.body.substr(start, end - start);
}

// The paths in a deploy's "code" part, sorted, one a line (`scratch`: a file name to use).
std::string ArchivePaths(const RecordedRequest& req, const std::string& scratch) {
  std::ofstream(scratch + ".tgz", std::ios::binary) << DeployPart(req, "code");
  std::string command = "tar -tzf '" + scratch + ".tgz' | LC_ALL=C sort > '" + scratch + ".txt'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(scratch + ".txt");
  std::string paths((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(scratch + ".tgz");
  std::filesystem::remove(scratch + ".txt");
  return paths;
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
  auto body = nlohmann::json::parse(DeployPart(req, "deploy"));
  CHECK(body["entry"] == "index.mjs");
  CHECK(body["runtime"] == "node");
  CHECK(body["timeout_ms"] == 300);
  CHECK(body["keep_alive_ms"] == 2000);
  CHECK(body["memory_mb"] == 256);
  CHECK(body["env_set"]["B"] == "x=y");
  CHECK_FALSE(body.contains("env"));  // the function's other variables are kept
  CHECK_FALSE(body.contains("files"));
  std::string archive = DeployPart(req, "code");
  std::string unpacked = dir + "-unpacked";
  std::filesystem::create_directories(unpacked);
  std::ofstream(unpacked + ".tgz", std::ios::binary) << archive;
  CHECK(std::system(("tar -xzf '" + unpacked + ".tgz' -C '" + unpacked + "'").c_str()) == 0);
  std::ifstream util(unpacked + "/lib/u.mjs");
  std::string util_text((std::istreambuf_iterator<char>(util)), std::istreambuf_iterator<char>());
  CHECK(util_text == "export const u = 1;");
  std::filesystem::remove_all(unpacked);
  std::filesystem::remove(unpacked + ".tgz");
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

TEST_CASE("flint percent-encodes every path segment and query value it sends", "[cli][commands]") {
  FakeServer server([](const RecordedRequest& r) {
    if (r.Target().rfind("/v1/topics/", 0) == 0) {
      return FakeReply{FakeServer::Response(
          400, R"({"error":{"code":"invalid_argument","message":"invalid topic name"}})")};
    }
    return FakeReply{FakeServer::Response(200, R"({"subscriptions":[],"schedules":[]})")};
  });
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "t"}};
  Run bad_topic = Cli({"publish", "bad topic!"}, env);
  CHECK(bad_topic.code == flint::cli::kExitFailed);  // flintd's answer, not "cannot reach"
  CHECK(bad_topic.err == "flint: invalid topic name (400)\n");
  Run query = Cli({"publish", "a?b"}, env);
  Run filter = Cli({"subscriptions", "x&y=z"}, env);
  Run schedules = Cli({"schedule", "ls", "f"}, env);
  auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].Target() == "/v1/topics/bad%20topic%21");
  CHECK(requests[1].Target() == "/v1/topics/a%3Fb");
  CHECK(requests[2].Target() == "/v1/subscriptions?topic=x%26y%3Dz");
  CHECK(requests[3].Target() == "/v1/schedules?function=f");
}

TEST_CASE("flint reports a check made before sending as a usage error", "[cli][commands]") {
  std::map<std::string, std::string> env = {{"FLINT_URL", "http://127.0.0.1:1"},
                                            {"FLINT_TOKEN", "t"}};
  Run header = Cli({"invoke", "x", "-H", "Bad Name: 1"}, env);
  CHECK(header.code == flint::cli::kExitUsage);
  CHECK(header.err.find("invalid header name") != std::string::npos);
  Run key = Cli({"secret", "set", "x", "bad-key"}, env, false, "v");
  CHECK(key.code == flint::cli::kExitUsage);
}

TEST_CASE("flint invoke encodes spaces in --path and shows the exchange with -v",
          "[cli][commands]") {
  FakeServer server([](const RecordedRequest& r) {
    return FakeReply{
        FakeServer::Response(200, r.Target(), "text/plain", "X-Flint-Request-Id: 0190-abc\r\n")};
  });
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}};
  Run r = Cli({"invoke", "echo", "--path", "/a b?q=x y", "-v"}, env);
  CHECK(r.code == 0);
  CHECK(r.out == "/fn/echo/a%20b?q=x%20y");
  CHECK(r.err.find("> GET " + server.url() + "/fn/echo/a%20b?q=x%20y\n") != std::string::npos);
  CHECK(r.err.find("< 200 Status\n") != std::string::npos);  // the reason as the server sent it
  CHECK(r.err.find("< X-Flint-Request-Id: 0190-abc\n") != std::string::npos);
  CHECK(r.err.find("invocation 0190-abc") != std::string::npos);
}

TEST_CASE("A bare --timeout is seconds and --memory takes units", "[cli][commands]") {
  FakeServer server(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(201, kInfo)}; });
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "t"}};
  Run r = Cli(
      {"config", "hello", "--timeout", "3", "--memory", "1g", "--env", "K=V", "--unset-env", "OLD"},
      env);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out == "configured hello version 3 (js, 128 MB, timeout 300ms)\n");
  RecordedRequest req = server.requests().at(0);
  CHECK(req.Method() == "PATCH");
  CHECK(req.Target() == "/v1/functions/hello");
  auto body = nlohmann::json::parse(req.body);
  CHECK(body["timeout_ms"] == 3000);
  CHECK(body["memory_mb"] == 1024);
  CHECK(body["env_set"]["K"] == "V");
  CHECK(body["env_unset"] == nlohmann::json::array({"OLD"}));
  CHECK_FALSE(body.contains("files"));

  Run nothing = Cli({"config", "hello"}, env);
  CHECK(nothing.code == flint::cli::kExitUsage);
  CHECK(nothing.err.find("nothing to change") != std::string::npos);
  Run bad_memory = Cli({"config", "hello", "--memory", "1k"}, env);
  CHECK(bad_memory.code == flint::cli::kExitUsage);
  CHECK(bad_memory.err.find("--memory: invalid memory size '1k'") != std::string::npos);
}

TEST_CASE("flint --version and flint version print the versions", "[cli][commands]") {
  Run flag = Cli({"--version"}, {});
  CHECK(flag.code == 0);
  CHECK(flag.out == std::string("flint ") + flint::cli::Version() + "\n");

  FakeServer server([](const RecordedRequest&) {
    return FakeReply{FakeServer::Response(200, R"({"name":"flint","version":"9.8.7"})")};
  });
  Run text = Cli({"version"}, {{"FLINT_URL", server.url()}});
  CHECK(text.out ==
        std::string("flint ") + flint::cli::Version() + "\nflintd 9.8.7 at " + server.url() + "\n");
  Run json = Cli({"--json", "version"}, {{"FLINT_URL", server.url()}});
  auto j = nlohmann::json::parse(json.out);
  CHECK(j["flint"] == flint::cli::Version());
  CHECK(j["flintd"]["version"] == "9.8.7");
  Run down = Cli({"--json", "version"}, {{"FLINT_URL", "http://127.0.0.1:1"}});
  CHECK(down.code == 0);
  CHECK(nlohmann::json::parse(down.out)["flintd"].contains("error"));
}

TEST_CASE("Every command's help has examples", "[cli][commands]") {
  for (const char* command :
       {"init",     "deploy",    "config",      "invoke",        "ls",         "describe",
        "bill",     "top",       "rm",          "logs",          "invocation", "dlq",
        "schedule", "subscribe", "unsubscribe", "subscriptions", "publish",    "secret",
        "up",       "version",   "completion"}) {
    INFO(command);
    Run r = Cli({command, "--help"}, {});
    CHECK(r.code == 0);
    CHECK(r.out.find("Example") != std::string::npos);
  }
  CHECK(Cli({"--help"}, {}).out.find("Examples:") != std::string::npos);
  CHECK(Cli({"invoke", "--help"}, {}).out.find("--async") != std::string::npos);
}

TEST_CASE("flint completion prints a script for bash, zsh and fish", "[cli][commands]") {
  Run bash = Cli({"completion", "bash"}, {});
  CHECK(bash.code == 0);
  CHECK(bash.out.find("complete -F _flint flint") != std::string::npos);
  CHECK(bash.out.find("deploy) flags=\"--memory") != std::string::npos);
  CHECK(bash.out.find("flint ls -q") != std::string::npos);
  CHECK(Cli({"completion", "zsh"}, {}).out.find("#compdef flint") != std::string::npos);
  Run fish = Cli({"completion", "fish"}, {});
  CHECK(fish.out.find("__fish_seen_subcommand_from deploy' -l memory") != std::string::npos);
  CHECK(Cli({"completion", "tcsh"}, {}).code == flint::cli::kExitUsage);
}

TEST_CASE("flint init writes a template and flint deploy deploys its project", "[cli][commands]") {
  FakeServer server([](const RecordedRequest& r) {
    if (r.Method() == "PUT") return FakeReply{FakeServer::Response(201, kInfo)};
    if (r.Target().rfind("/v1/schedules", 0) == 0 && r.Method() == "GET") {
      return FakeReply{FakeServer::Response(
          200, R"({"schedules":[{"id":"sch-1","function":"hello","schedule":"0 * * * *",)"
               R"("payload":{}}]})")};
    }
    if (r.Target() == "/v1/subscriptions" && r.Method() == "GET") {
      return FakeReply{FakeServer::Response(200, R"({"subscriptions":[]})")};
    }
    return FakeReply{FakeServer::Response(200, "{}")};
  });
  std::string root = "/tmp/flint-init-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(root);
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "t"}};
  Run init = Cli({"init", "hello"}, env, false, "", root);
  INFO(init.err);
  REQUIRE(init.code == 0);
  CHECK(std::filesystem::exists(root + "/hello/flint.toml"));
  CHECK(std::filesystem::exists(root + "/hello/index.test.mjs"));
  CHECK(Cli({"init", "hello"}, env, false, "", root).code == flint::cli::kExitUsage);  // exists
  {
    std::ofstream(root + "/hello/flint.toml", std::ios::app)
        << "\n[triggers]\ntopics = [\"greetings\"]\n\n[[triggers.schedules]]\ncron = \"@every "
           "1m\"\n";
    std::ofstream(root + "/hello/.env") << "SECRETISH=from-env-file\n";
  }
  Run deploy = Cli({"deploy", "--env", "EXTRA=1"}, env, false, "", root + "/hello");
  INFO(deploy.err);
  REQUIRE(deploy.code == 0);
  auto requests = server.requests();
  REQUIRE(requests.size() >= 1);
  auto body = nlohmann::json::parse(DeployPart(requests[0], "deploy"));
  CHECK(requests[0].Target() == "/v1/functions/hello");
  CHECK(body["entry"] == "index.mjs");
  CHECK(body["memory_mb"] == 128);
  CHECK(body["timeout_ms"] == 3000);
  CHECK(body["env"] == nlohmann::json({{"GREETING", "Hello"}, {"EXTRA", "1"}}));
  // index.test.mjs is excluded by the project file, .env as a dot-file.
  CHECK(ArchivePaths(requests[0], root + "/code") == "flint.toml\nindex.mjs\n");
  // The triggers follow the file: the old schedule goes, the new one and the topic come.
  std::vector<std::string> calls;
  for (const auto& r : requests) calls.push_back(r.Method() + " " + r.Target());
  CHECK(std::find(calls.begin(), calls.end(), "DELETE /v1/schedules/sch-1") != calls.end());
  CHECK(std::find(calls.begin(), calls.end(), "POST /v1/schedules") != calls.end());
  CHECK(std::find(calls.begin(), calls.end(), "POST /v1/subscriptions") != calls.end());

  Run no_project = Cli({"deploy"}, env, false, "", root);
  CHECK(no_project.code == flint::cli::kExitUsage);
  CHECK(no_project.err.find("no flint.toml in " + root) != std::string::npos);
  std::filesystem::remove_all(root);
}

TEST_CASE("flint init --template hono says to npm install; flint deploy uploads node_modules/",
          "[cli][commands]") {
  FakeServer server(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(201, kInfo)}; });
  std::string root = "/tmp/flint-init-hono-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(root);
  std::map<std::string, std::string> env = {{"FLINT_URL", server.url()}, {"FLINT_TOKEN", "t"}};
  Run init = Cli({"init", "--template", "hono", "api"}, env, false, "", root);
  INFO(init.err);
  REQUIRE(init.code == 0);
  CHECK(init.out ==
        "created api/ (hono): .gitignore flint.toml index.mjs index.test.mjs package.json\n"
        "next:\n"
        "  cd api\n"
        "  npm install                 # install its packages into node_modules/ (deployed with "
        "it)\n"
        "  npm test                    # run its test\n"
        "  flint deploy                # deploy it (flintd must be running: flint up)\n"
        "  flint invoke api --path '/?name=Ada'\n");
  // What npm install leaves, in short.
  std::string project = root + "/api";
  std::filesystem::create_directories(project + "/node_modules/hono/dist");
  std::ofstream(project + "/node_modules/hono/package.json") << R"({"name":"hono"})";
  std::ofstream(project + "/node_modules/hono/dist/index.js") << "export class Hono {}\n";
  std::ofstream(project + "/node_modules/.package-lock.json") << "{}";
  std::ofstream(project + "/package-lock.json") << "{}";

  Run deploy = Cli({"deploy"}, env, false, "", project);
  INFO(deploy.err);
  REQUIRE(deploy.code == 0);
  RecordedRequest req = server.requests().at(0);
  CHECK(req.Target() == "/v1/functions/api");
  auto body = nlohmann::json::parse(DeployPart(req, "deploy"));
  CHECK(body["entry"] == "index.mjs");
  CHECK(body["runtime"] == "node");
  CHECK(body["env"] == nlohmann::json({{"GREETING", "Hello"}}));
  // The test stays home, and so does npm's own bookkeeping in node_modules/.
  CHECK(ArchivePaths(req, root + "/code") ==
        "flint.toml\n"
        "index.mjs\n"
        "node_modules/hono/dist/index.js\n"
        "node_modules/hono/package.json\n"
        "package-lock.json\n"
        "package.json\n");
  std::filesystem::remove_all(root);
}
