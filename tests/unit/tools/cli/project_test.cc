// Project files (flint.toml) and dotenv files: what they hold and how they fail.
#include "tools/cli/project.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tools/cli/init.h"

using flint::Code;
using flint::cli::MatchesExclude;
using flint::cli::ParseEnvText;
using flint::cli::ParseProject;

TEST_CASE("A project file holds the function's code, settings, env and triggers",
          "[cli][project]") {
  auto p = ParseProject(R"(
name = "api"
entry = "src/index.mjs"
memory = "1G"
cpu = 0.5
timeout = 10
keep-alive = "5m"
max_instances = 4
network = "outbound"
private = true
exclude = ["test", "*.md"]

[env]
MODE = "prod"
PORT = 8080

[triggers]
topics = ["orders", "refunds"]

[[triggers.schedules]]
cron = "0 * * * *"

[[triggers.schedules]]
cron = "@every 30s"
data = { job = "sync", n = [1, 2] }
)",
                        "/srv/api");
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  CHECK(p->name == "api");
  CHECK(p->entry == "src/index.mjs");
  CHECK(p->config.memory_mb == 1024u);
  CHECK(p->config.cpu == 0.5);
  CHECK(p->config.timeout_ms == 10000u);
  CHECK(p->config.keep_alive_ms == 300000u);
  CHECK(p->config.max_instances == 4u);
  CHECK(p->config.network == "outbound");
  CHECK(p->config.is_private == true);
  CHECK(*p->config.env == std::map<std::string, std::string>{{"MODE", "prod"}, {"PORT", "8080"}});
  CHECK(p->exclude == std::vector<std::string>{"test", "*.md"});
  REQUIRE(p->topics.has_value());
  CHECK(*p->topics == std::vector<std::string>{"orders", "refunds"});
  REQUIRE(p->schedules->size() == 2);
  CHECK((*p->schedules)[0].cron == "0 * * * *");
  CHECK((*p->schedules)[0].payload.empty());
  CHECK((*p->schedules)[1].payload == R"({"job":"sync","n":[1,2]})");
}

TEST_CASE("A project file without triggers leaves them alone", "[cli][project]") {
  auto p = ParseProject("name = \"x\"\n", ".");
  REQUIRE(p.ok());
  CHECK_FALSE(p->config.is_private.has_value());
  auto bad = ParseProject("name = \"x\"\nprivate = \"yes\"\n", ".");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("private must be true or false") != std::string::npos);
  CHECK_FALSE(p->schedules.has_value());
  CHECK_FALSE(p->topics.has_value());
  CHECK(p->config.env.has_value());
  CHECK(p->config.env->empty());
}

TEST_CASE("A project file's mistakes are refused with their line", "[cli][project]") {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"name = \"x\"\n\nmemroy = 128\n", "flint.toml:3: unknown key 'memroy'"},
           Case{"name = \"x\"\nmemory = \"1k\"\n", "flint.toml:2: memory: invalid memory size"},
           Case{"name = \"x\"\ncpu = \"half\"\n", "flint.toml:2: cpu must be a number of CPUs"},
           Case{"name = \"x\"\ntimeout = \"soon\"\n", "flint.toml:2: timeout: invalid duration"},
           Case{"name = \"Bad\"\n", "flint.toml:1: invalid function name 'Bad'"},
           Case{"name = \"x\"\n[env]\nbad-key = \"v\"\n", "flint.toml:3: invalid variable name"},
           Case{"name = \"x\"\nmax_instances = -1\n", "flint.toml:2: 'max_instances' must be"},
           Case{"name = \"x\"\n[triggers]\ncron = \"x\"\n", "flint.toml:3: unknown key 'cron'"},
           Case{"name = \"x\"\nname = \"y\"\n", "flint.toml:2:"},
           Case{"name = \"x\"\nruntime = \"python\"\n", "flint.toml:2: invalid runtime 'python'"},
           Case{"memory = 128\n", "'name' is required"},
       }) {
    INFO(c.text);
    auto p = ParseProject(c.text, ".");
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == Code::kInvalidArgument);
    CHECK(p.status().message().find(c.message) != std::string::npos);
  }
}

TEST_CASE("A project file names any runtime flintd runs, js as node's other name",
          "[cli][project]") {
  for (const char* runtime : {"node", "v8", "cpp", "js"}) {
    INFO(runtime);
    auto p = ParseProject(std::string("name = \"x\"\nruntime = \"") + runtime + "\"\n", ".");
    REQUIRE(p.ok());
    CHECK(p->runtime == runtime);
  }
}

TEST_CASE("A project's env file comes first and its [env] wins", "[cli][project]") {
  std::string dir = "/tmp/flint-project-test-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/.env") << "# comment\nexport A=from-file\nB=\"two words\\n\"\nC='lit $x'\n";
  auto p = ParseProject("name = \"x\"\nenv_file = \".env\"\n[env]\nA = \"from-toml\"\n", dir);
  std::filesystem::remove_all(dir);
  REQUIRE(p.ok());
  CHECK(*p->config.env == std::map<std::string, std::string>{
                              {"A", "from-toml"}, {"B", "two words\n"}, {"C", "lit $x"}});
}

TEST_CASE("Dotenv text takes KEY=VALUE lines and names the bad one", "[cli][project]") {
  auto vars = ParseEnvText("A=1\n\n  # c\nB = x y # note\nC=\"q\\\"q\"\nexport D=\n", "e");
  REQUIRE(vars.ok());
  CHECK(*vars ==
        std::map<std::string, std::string>{{"A", "1"}, {"B", "x y"}, {"C", "q\"q"}, {"D", ""}});
  CHECK(ParseEnvText("A=1\nnot a pair\n", ".env").status().message() ==
        ".env:2: expected KEY=VALUE");
  CHECK(ParseEnvText("A=\"open\n", ".env").status().message() == ".env:1: unterminated quote");
}

TEST_CASE("Exclude patterns match a path or a folder above it", "[cli][project]") {
  CHECK(MatchesExclude("test/a_test.cc", "test"));
  CHECK(MatchesExclude("test/a_test.cc", "test/"));
  CHECK(MatchesExclude("test/a_test.cc", "./test"));
  CHECK(MatchesExclude("index.test.mjs", "*.test.mjs"));
  CHECK(MatchesExclude("lib/x.md", "lib/*.md"));
  CHECK_FALSE(MatchesExclude("testing/a.cc", "test"));
  CHECK_FALSE(MatchesExclude("lib/index.test.mjs", "*.test.mjs"));
  CHECK_FALSE(MatchesExclude("index.mjs", ""));
}

TEST_CASE("Every template's project file parses and names the function", "[cli][init]") {
  for (const auto& t : flint::cli::Templates()) {
    INFO(t.name);
    auto files = flint::cli::RenderTemplate(t.name, "demo");
    REQUIRE(files.ok());
    REQUIRE(files->count("flint.toml") == 1);
    auto p = ParseProject(files->at("flint.toml"), ".");
    INFO(p.status().ToString());
    REQUIRE(p.ok());
    CHECK(p->name == "demo");
    CHECK(files->count(p->entry) == 1);
  }
  CHECK_FALSE(flint::cli::RenderTemplate("cobol", "demo").ok());
}

TEST_CASE("The hono template is a Hono app that deploys with its node_modules/", "[cli][init]") {
  auto files = flint::cli::RenderTemplate("hono", "demo");
  REQUIRE(files.ok());
  auto package = nlohmann::json::parse(files->at("package.json"));
  CHECK(package["name"] == "demo");
  CHECK(package["type"] == "module");
  CHECK(package["scripts"]["test"] == "node --test");
  // The version tests/compat pins and tests/integration/cli/fixtures/hono holds.
  CHECK(package["dependencies"] == nlohmann::json{{"hono", "^4.13.19"}});
  const std::string& app = files->at("index.mjs");
  CHECK(app.find("import { Hono } from \"hono\";") != std::string::npos);
  CHECK(app.find("export default app;") != std::string::npos);
  CHECK(files->at("index.test.mjs").find("from \"./index.mjs\"") != std::string::npos);
  auto p = ParseProject(files->at("flint.toml"), ".");
  REQUIRE(p.ok());
  CHECK(p->entry == "index.mjs");
  bool test_excluded = false;
  for (const std::string& pattern : p->exclude) {
    INFO(pattern);
    test_excluded = test_excluded || MatchesExclude("index.test.mjs", pattern);
    CHECK_FALSE(MatchesExclude("node_modules/hono/dist/index.js", pattern));
    CHECK_FALSE(MatchesExclude("package.json", pattern));
  }
  CHECK(test_excluded);
}
