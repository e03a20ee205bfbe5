// The flint CLI as a new user meets it, against a real flintd (tests/support/flintd_fixture.h):
// the README's quick start, the `flint init` templates, project files, configuration kept
// apart from code, secrets, and day-one defects. Each TEST_CASE starts its own flintd on a free
// port with a fresh data directory. Waits poll a state with generous bounds; nothing asserts on
// latency.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::FlintdProcess;
using flint::testing::RunProcess;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The JavaScript between "cat > /tmp/add.mjs <<'JS'" and "JS" in the README.
std::string ReadmeAddFunction() {
  std::string readme = ReadText(std::string(FLINT_SOURCE_DIR) + "/README.md");
  const std::string start = "cat > /tmp/add.mjs <<'JS'\n";
  size_t begin = readme.find(start);
  REQUIRE(begin != std::string::npos);
  begin += start.size();
  size_t end = readme.find("\nJS\n", begin);
  REQUIRE(end != std::string::npos);
  return readme.substr(begin, end - begin + 1);
}

// An executable on $PATH, or "".
std::string OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

CliResult Cli(const FlintdProcess& flintd, const std::vector<std::string>& args,
              const std::string& cwd = "", const std::string& stdin_text = "") {
  return flintd.RunCli(args, {}, 180s, stdin_text, cwd);
}

json CliJson(const FlintdProcess& flintd, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  CliResult r = Cli(flintd, args);
  INFO(r.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void Ok(const CliResult& r, const FlintdProcess& flintd) {
  INFO(r.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.exit_code == 0);
}

// Waits for an async invocation to finish; its "invocation" object.
json WaitForInvocation(const FlintdProcess& flintd, const std::string& id) {
  json last;
  bool done = WaitUntil(
      [&] {
        CliResult r = Cli(flintd, {"--json", "invocation", id});
        if (r.exit_code != 0) return false;
        last = json::parse(r.out)["invocation"];
        return last.value("status", "") == "succeeded" || last.value("status", "") == "dead";
      },
      60s, 200ms);
  INFO(last.dump() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(done);
  return last;
}

std::string InvokeAsync(const FlintdProcess& flintd, const std::string& name,
                        const std::string& data) {
  CliResult r = Cli(flintd, {"invoke", name, "--async", "-d", data});
  Ok(r, flintd);
  return json::parse(r.out).at("invocation_id").get<std::string>();
}

}  // namespace

TEST_CASE("flintd creates the missing parents of its data directory", "[integration][cli]") {
  FlintdProcess flintd({}, "home/.local/share/flint");
  StartOrFail(flintd);
  CHECK(std::filesystem::is_directory(flintd.data_dir()));
  CHECK_FALSE(flintd.token().empty());
  Ok(Cli(flintd, {"ls"}), flintd);
}

TEST_CASE("The README's quick start works as written, over HTTP and as events",
          "[integration][cli]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  TempDir dir("flint-readme");
  std::string add = dir.Write("add.mjs", ReadmeAddFunction());

  Ok(Cli(flintd, {"deploy", "hello", flint::testing::FunctionsDir() + "/hello"}), flintd);
  HttpResponse hello = flint::testing::GetOrFail(flintd, "/fn/hello?name=Ada");
  CHECK(hello.body == "Hello, Ada!\n");

  Ok(Cli(flintd, {"deploy", "add", add}), flintd);
  HttpResponse sum = flint::testing::PostOrFail(flintd, "/fn/add", R"({"a": 2, "b": 40})");
  CHECK(sum.status == 200);
  CHECK(json::parse(sum.body) == json{{"sum", 42}});
  CliResult invoked = Cli(flintd, {"invoke", "add", "--data", R"({"a": 1, "b": 2})"});
  Ok(invoked, flintd);
  CHECK(json::parse(invoked.out) == json{{"sum", 3}});

  std::string id = InvokeAsync(flintd, "add", R"({"a": 5, "b": 6})");
  json event = WaitForInvocation(flintd, id);
  CHECK(event["status"] == "succeeded");
  CHECK(event["result"] == json{{"sum", 11}});
  CliResult text = Cli(flintd, {"invocation", id});
  CHECK(text.out.find("{\"sum\":11}") != std::string::npos);

  Ok(Cli(flintd, {"logs", "add"}), flintd);
  CliResult described = Cli(flintd, {"describe", "add"});
  Ok(described, flintd);
  CHECK(described.out.find("name:") != std::string::npos);

  // The example that used to dead-letter every event.
  Ok(Cli(flintd, {"deploy", "echo", flint::testing::FunctionsDir() + "/echo"}), flintd);
  json echoed = WaitForInvocation(flintd, InvokeAsync(flintd, "echo", R"({"ping": 1})"));
  CHECK(echoed["status"] == "succeeded");
  CHECK(echoed["result"]["event"] == json{{"ping", 1}});

  Ok(Cli(flintd, {"deploy", "hello-cpp", flint::testing::FunctionsDir() + "/hello-cpp"}), flintd);
  CHECK(flint::testing::GetOrFail(flintd, "/fn/hello-cpp?name=Ada").body.find("Ada") !=
        std::string::npos);
  Ok(Cli(flintd, {"bill", "--by", "function"}), flintd);
}

TEST_CASE("flint init templates pass their own test, deploy and answer HTTP and events",
          "[integration][cli]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  TempDir dir("flint-init");
  struct Case {
    const char* template_name;
    std::string tool;  // runs the template's own test: a name on PATH or an absolute path
    std::vector<std::string> test_args;
    const char* passed;  // in its output when every test ran and passed
    // What `npm install` would bring, copied into the project as its node_modules/ (the tests
    // run offline), or "".
    std::string node_modules = "";
  };
  // TypeScript needs a Node.js that strips types (22.18 or later): the one Flint runs. The hono
  // template's test runs with it too, as `npm test` would (npm may be missing), on the hono
  // package committed in fixtures/ (README.md there).
  const std::string hono = std::string(FLINT_SOURCE_DIR) + "/tests/integration/cli/fixtures/hono";
  for (const Case& c :
       {Case{"js", "node", {"--test"}, "pass 3"},
        Case{"ts", FLINT_NODE_BINARY, {"--test"}, "pass 3"}, Case{"cpp", "make", {"test"}, "ok"},
        Case{"hono", FLINT_NODE_BINARY, {"--test"}, "pass 6", hono + "/node_modules"}}) {
    INFO("template " << c.template_name);
    std::string name = std::string("tpl-") + c.template_name;
    CliResult init = Cli(flintd, {"init", "--template", c.template_name, name}, dir.path());
    Ok(init, flintd);
    std::string project = dir.path() + "/" + name;
    CHECK(std::filesystem::exists(project + "/flint.toml"));
    if (!c.node_modules.empty()) {
      CHECK(init.out.find("npm install") != std::string::npos);
      std::filesystem::copy(c.node_modules, project + "/node_modules",
                            std::filesystem::copy_options::recursive);
    }

    std::string tool = c.tool.front() == '/' ? c.tool : OnPath(c.tool);
    if (tool.empty()) {
      WARN("no " << c.tool << " on PATH: the " << c.template_name << " template's test is skipped");
    } else {
      CliResult test = RunProcess(tool, c.test_args, {}, 180s, "", project);
      INFO(test.Describe());
      CHECK(test.exit_code == 0);
      CHECK(test.out.find(c.passed) != std::string::npos);
    }

    // With no arguments: the project in the folder, node_modules/ included (without it the
    // hono template's `import { Hono } from "hono"` fails the deploy).
    Ok(Cli(flintd, {"deploy"}, project), flintd);
    HttpResponse r = flint::testing::GetOrFail(flintd, "/fn/" + name + "?name=Ada");
    INFO(r.body);
    CHECK(r.status == 200);
    CHECK(json::parse(r.body)["message"] == "Hello, Ada!");
    // A Web-standard fetch handler (the hono template's `export default app`) gets an event as
    // a POST of its JSON to /, and the body it answers is the event's result: the template's
    // POST / route greets it like the other templates' handlers.
    json event = WaitForInvocation(flintd, InvokeAsync(flintd, name, R"({"name": "Bob"})"));
    CHECK(event["status"] == "succeeded");
    CHECK(event["result"]["message"] == "Hello, Bob!");
  }

  // The hono template's other routes, through flintd: the path after /fn/NAME is the app's.
  HttpResponse hello = flint::testing::GetOrFail(flintd, "/fn/tpl-hono/hello/Grace");
  CHECK(hello.status == 200);
  CHECK(json::parse(hello.body) == json{{"message", "Hello, Grace!"}});
  HttpResponse echo = flint::testing::PostOrFail(flintd, "/fn/tpl-hono/echo", R"({"n": [1, 2]})");
  CHECK(echo.status == 200);
  CHECK(json::parse(echo.body) == json{{"echo", {{"n", {1, 2}}}}});
  CHECK(flint::testing::PostOrFail(flintd, "/fn/tpl-hono/echo", "not json").status == 400);
  HttpResponse missing = flint::testing::GetOrFail(flintd, "/fn/tpl-hono/nowhere");
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body) == json{{"error", "no route for GET /nowhere"}});
}

TEST_CASE("A redeploy keeps the configuration; flint config changes it alone",
          "[integration][cli]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  TempDir dir("flint-config");
  std::string code = dir.Write("f.mjs",
                               "export const handler = async () => ({ k: process.env.K ?? null, "
                               "j: process.env.J ?? null });\n");
  Ok(Cli(flintd, {"deploy", "f", code, "--memory", "256", "--env", "K=V", "--timeout", "10s"}),
     flintd);
  Ok(Cli(flintd, {"deploy", "f", code}), flintd);
  json v2 = CliJson(flintd, {"describe", "f"})["function"];
  CHECK(v2["version"] == 2);
  CHECK(v2["memory_mb"] == 256);
  CHECK(v2["timeout_ms"] == 10000);
  CHECK(v2["env"] == json{{"K", "V"}});

  CliResult configured =
      Cli(flintd, {"config", "f", "--memory", "1g", "--timeout", "3", "--env", "J=2"});
  Ok(configured, flintd);
  CHECK(configured.out.rfind("configured f version 3 (node, 1024 MB, timeout 3s)", 0) == 0);
  json v3 = CliJson(flintd, {"describe", "f"})["function"];
  CHECK(v3["code_digest"] == v2["code_digest"]);
  CHECK(v3["env"] == json{{"J", "2"}, {"K", "V"}});
  HttpResponse r = flint::testing::GetOrFail(flintd, "/fn/f");
  CHECK(json::parse(r.body) == json{{"k", "V"}, {"j", "2"}});

  Ok(Cli(flintd, {"config", "f", "--unset-env", "K"}), flintd);
  CHECK(CliJson(flintd, {"describe", "f"})["function"]["env"] == json{{"J", "2"}});
  CliResult bad = Cli(flintd, {"config", "f", "--memory", "64"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("(400)") != std::string::npos);
  CHECK(Cli(flintd, {"config", "missing", "--memory", "256"}).err.find("(404)") !=
        std::string::npos);
}

TEST_CASE("Secrets reach the function encrypted at rest and are never shown",
          "[integration][cli]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  TempDir dir("flint-secret");
  std::string code = dir.Write(
      "s.mjs",
      "export const handler = async () => { console.log(`token is ${process.env.API_TOKEN}`);\n"
      "  return { length: (process.env.API_TOKEN ?? '').length }; };\n");
  Ok(Cli(flintd, {"deploy", "s", code}), flintd);
  const std::string value = "s3cr3t-value-4711";
  CliResult set = Cli(flintd, {"secret", "set", "s", "API_TOKEN"}, "", value + "\n");
  Ok(set, flintd);
  CHECK(set.out.find("set API_TOKEN for s") != std::string::npos);

  HttpResponse r = flint::testing::GetOrFail(flintd, "/fn/s");
  CHECK(json::parse(r.body) == json{{"length", value.size()}});
  CliResult ls = Cli(flintd, {"secret", "ls", "s"});
  CHECK(ls.out == "API_TOKEN\n");
  for (const std::vector<std::string>& show : {std::vector<std::string>{"describe", "s"},
                                               {"--json", "describe", "s"},
                                               {"--json", "ls"},
                                               {"logs", "s"},
                                               {"--json", "logs", "s"}}) {
    CliResult out = Cli(flintd, show);
    INFO(show[0] << " " << show[1]);
    Ok(out, flintd);
    CHECK(out.out.find(value) == std::string::npos);
  }
  CHECK(Cli(flintd, {"logs", "s"}).out.find("token is [secret API_TOKEN]") != std::string::npos);
  CHECK(CliJson(flintd, {"describe", "s"})["function"]["secrets"] == json::array({"API_TOKEN"}));

  // At rest: the key file is private and the database does not hold the value.
  auto perms = std::filesystem::status(flintd.data_dir() + "/secrets.key").permissions();
  CHECK((perms & std::filesystem::perms::group_all) == std::filesystem::perms::none);
  CHECK((perms & std::filesystem::perms::others_all) == std::filesystem::perms::none);
  REQUIRE(flintd.Stop() == 0);
  for (const auto& entry : std::filesystem::directory_iterator(flintd.data_dir())) {
    if (!entry.is_regular_file()) continue;
    INFO(entry.path());
    CHECK(ReadText(entry.path().string()).find(value) == std::string::npos);
  }
  REQUIRE(flintd.Start().ok());
  HttpResponse again = flint::testing::GetOrFail(flintd, "/fn/s");
  CHECK(json::parse(again.body) == json{{"length", value.size()}});
  Ok(Cli(flintd, {"secret", "rm", "s", "API_TOKEN"}), flintd);
  CHECK(json::parse(flint::testing::GetOrFail(flintd, "/fn/s").body) == json{{"length", 0}});
}

TEST_CASE("An async invocation keeps one id across attempts in flint logs", "[integration][cli]") {
  FlintdProcess flintd({"--event-retry-base", "100ms"});
  StartOrFail(flintd);
  TempDir dir("flint-ids");
  std::string code = dir.Write("flaky.mjs",
                               "let attempts = 0;\n"
                               "export const handler = async (event, context) => {\n"
                               "  attempts += 1;\n"
                               "  console.log(`attempt ${attempts} ${context.requestId}`);\n"
                               "  if (attempts === 1) throw new Error('first attempt fails');\n"
                               "  return { attempts };\n"
                               "};\n");
  Ok(Cli(flintd, {"deploy", "flaky", code, "--max-retries", "2", "--max-instances", "1"}), flintd);
  std::string id = InvokeAsync(flintd, "flaky", "{}");
  json done = WaitForInvocation(flintd, id);
  CHECK(done["status"] == "succeeded");
  CHECK(done["attempts"] == 2);
  CliResult logs = Cli(flintd, {"logs", "flaky"});
  INFO(logs.out);
  CHECK(logs.out.find("[" + id + "] attempt 1 " + id) != std::string::npos);
  CHECK(logs.out.find("[" + id + "] attempt 2 " + id) != std::string::npos);

  // A synchronous call: the id flint invoke -v shows is the one in its log lines.
  CliResult verbose = Cli(flintd, {"invoke", "flaky", "-v"});
  Ok(verbose, flintd);
  size_t at = verbose.err.find("invocation ");
  REQUIRE(at != std::string::npos);
  std::string sync_id = verbose.err.substr(at + 11, verbose.err.find(' ', at + 11) - at - 11);
  CHECK(verbose.err.find("< 200") != std::string::npos);
  CHECK(Cli(flintd, {"logs", "flaky"}).out.find("[" + sync_id + "] attempt 3") !=
        std::string::npos);
}

TEST_CASE("Day-one defects: escaping, exit codes, versions", "[integration][cli]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  CliResult bad_topic = Cli(flintd, {"publish", "bad topic!"});
  CHECK(bad_topic.exit_code == 1);
  CHECK(bad_topic.err.find("invalid topic name 'bad topic!'") != std::string::npos);
  CHECK(bad_topic.err.find("(400)") != std::string::npos);
  CliResult query = Cli(flintd, {"--json", "publish", "a?b"});
  CHECK(query.exit_code == 1);  // "a?b" is not a topic name, and not topic "a"
  CHECK(query.err.find("'a?b'") != std::string::npos);

  CliResult dlq = Cli(flintd, {"dlq", "never-deployed"});
  CHECK(dlq.exit_code == 1);
  CHECK(dlq.err.find("(404)") != std::string::npos);

  CliResult version = Cli(flintd, {"--version"});
  Ok(version, flintd);
  CHECK(version.out.rfind("flint ", 0) == 0);
  json versions = CliJson(flintd, {"version"});
  CHECK(versions["flint"].is_string());
  CHECK(versions["flintd"]["version"] == versions["flint"]);
}

TEST_CASE("flintd's config file takes either key spelling and refuses unknown keys by line",
          "[integration][cli]") {
  TempDir dir("flint-conf");
  std::string good =
      dir.Write("good.toml", "# flintd\nmemory_budget = \"1g\"\nkeep-alive = \"5m\"\n");
  FlintdProcess flintd({"--config", good});
  StartOrFail(flintd);
  auto pools = flintd.Client().Pools();
  REQUIRE(pools.ok());
  CHECK(pools->value.memory_budget_mb == 1024);

  std::string bad = dir.Write("bad.toml", "listen = \"127.0.0.1:0\"\n\ndata_directory = \"/x\"\n");
  CliResult refused = RunProcess(flint::testing::FlintdBinary(),
                                 {"--config", bad, "--data-dir", dir.path() + "/data"}, {}, 60s);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("line 3: unknown key 'data_directory'") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/data"));
}
