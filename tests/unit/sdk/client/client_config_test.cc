#include "sdk/client/client_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

using flint::client::ResolveClientConfig;

namespace {

// A fresh temporary directory, removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/flint-client-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

flint::client::GetEnv EnvOf(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("ClientConfig defaults to ~/.local/share/flint and 127.0.0.1:8080", "[client][config]") {
  auto c = ResolveClientConfig(EnvOf({{"HOME", "/nonexistent-home"}}));
  REQUIRE(c.ok());
  CHECK(c->data_dir == "/nonexistent-home/.local/share/flint");
  CHECK(c->url.ToString() == "http://127.0.0.1:8080");
  CHECK(c->url_source == "default");
  CHECK(c->token.empty());

  auto xdg = ResolveClientConfig(EnvOf({{"HOME", "/h"}, {"XDG_DATA_HOME", "/x"}}));
  CHECK(xdg->data_dir == "/x/flint");
}

TEST_CASE("ClientConfig reads flintd.url and admin.token from the data dir", "[client][config]") {
  TempDir dir;
  Write(dir.path + "/flintd.url", "http://127.0.0.1:41234\n");
  Write(dir.path + "/admin.token", "tok123\n");
  auto c = ResolveClientConfig(EnvOf({{"FLINT_DATA_DIR", dir.path}, {"HOME", "/h"}}));
  REQUIRE(c.ok());
  CHECK(c->url.port == 41234);
  CHECK(c->url_source == dir.path + "/flintd.url");
  CHECK(c->token == "tok123");
  CHECK(c->token_source == dir.path + "/admin.token");
}

TEST_CASE("ClientConfig prefers FLINT_URL and FLINT_TOKEN", "[client][config]") {
  TempDir dir;
  Write(dir.path + "/flintd.url", "http://127.0.0.1:41234\n");
  Write(dir.path + "/admin.token", "file-token");
  auto c = ResolveClientConfig(EnvOf({{"FLINT_DATA_DIR", dir.path},
                                      {"FLINT_URL", "http://10.0.0.1:9"},
                                      {"FLINT_TOKEN", "env-token"}}));
  REQUIRE(c.ok());
  CHECK(c->url.ToString() == "http://10.0.0.1:9");
  CHECK(c->token == "env-token");
  CHECK(c->token_source == "FLINT_TOKEN");

  auto bad = ResolveClientConfig(EnvOf({{"FLINT_URL", "ftp://x"}}));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("(from FLINT_URL)") != std::string::npos);
}
