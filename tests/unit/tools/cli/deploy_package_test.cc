#include "tools/cli/deploy_package.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using flint::cli::BuildDeployPackage;
using flint::cli::DeployPackage;
using flint::cli::InferRuntime;
using flint::cli::ReadDeployFile;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/flint-deploy-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

std::string Content(const DeployPackage& p, const std::string& rel) {
  return ReadDeployFile(p.files.at(rel)).value();
}

}  // namespace

TEST_CASE("InferRuntime maps extensions to runtimes", "[cli][deploy]") {
  CHECK(InferRuntime("index.mjs").value() == "node");
  CHECK(InferRuntime("a/b.js").value() == "node");
  CHECK(InferRuntime("a/b.cjs").value() == "node");
  CHECK(InferRuntime("index.mts").value() == "node");  // TypeScript: Node.js strips the types
  CHECK(InferRuntime("index.ts").value() == "node");
  CHECK(InferRuntime("a/b.cts").value() == "node");
  CHECK(InferRuntime("fn.cc").value() == "cpp");
  CHECK(InferRuntime("fn.cpp").value() == "cpp");
  CHECK(InferRuntime("libfn.so").value() == "cpp");
  auto py = InferRuntime("main.py");
  REQUIRE_FALSE(py.ok());
  CHECK(py.status().message().find("--runtime node|v8|cpp") != std::string::npos);
}

TEST_CASE("A single file deploys alone as the entry", "[cli][deploy]") {
  TempDir dir;
  std::string file = dir.Write("add.mjs", "export const handler = () => 1;");
  dir.Write("other.mjs", "ignored");
  auto p = BuildDeployPackage(file, "", "");
  REQUIRE(p.ok());
  CHECK(p->entry == "add.mjs");
  CHECK(p->runtime == "node");
  CHECK(p->files.size() == 1);
  CHECK(Content(*p, "add.mjs") == "export const handler = () => 1;");
  CHECK(p->files.at("add.mjs").size == 31);
  CHECK_FALSE(BuildDeployPackage(file, "other.mjs", "").ok());
}

TEST_CASE("A folder deploys every file with node_modules, but dot-files", "[cli][deploy]") {
  TempDir dir;
  dir.Write("index.mjs", "entry");
  dir.Write("main.mjs", "not the entry");
  dir.Write("lib/util.mjs", "util");
  dir.Write(".env", "secret");
  dir.Write(".git/config", "git");
  dir.Write("node_modules/x/index.js", "dep");
  dir.Write("node_modules/@s/y/.prisma/client.js", "p");
  dir.Write("node_modules/.prisma/client/index.js", "q");
  dir.Write("node_modules/.package-lock.json", "{}");
  dir.Write("node_modules/.cache/z", "c");
  dir.Write("node_modules/.bin/tool", "b");
  dir.Write("lib/.hidden", "h");
  auto p = BuildDeployPackage(dir.path, "", "");
  REQUIRE(p.ok());
  CHECK(p->entry == "index.mjs");
  CHECK(p->runtime == "node");
  std::vector<std::string> names;
  for (const auto& [name, _] : p->files) names.push_back(name);
  CHECK(names == std::vector<std::string>{"index.mjs", "lib/util.mjs", "main.mjs",
                                          "node_modules/.prisma/client/index.js",
                                          "node_modules/@s/y/.prisma/client.js",
                                          "node_modules/x/index.js"});
  CHECK(p->total_bytes == 5 + 4 + 13 + 1 + 1 + 3);
}

TEST_CASE("package.json main names the entry as Node.js resolves it", "[cli][deploy]") {
  TempDir dir;
  dir.Write("index.js", "i");
  dir.Write("src/handler.js", "h");
  dir.Write("package.json", R"({"name": "x", "main": "./src/handler"})");
  CHECK(BuildDeployPackage(dir.path, "", "")->entry == "src/handler.js");
  CHECK(BuildDeployPackage(dir.path, "index.js", "")->entry == "index.js");
  dir.Write("package.json", R"({"main": "lib"})");
  dir.Write("lib/index.cjs", "l");
  CHECK(BuildDeployPackage(dir.path, "", "")->entry == "lib/index.cjs");
  // A main that names nothing deployable falls back to the usual names.
  dir.Write("package.json", R"({"main": "dist/missing.js"})");
  CHECK(BuildDeployPackage(dir.path, "", "")->entry == "index.js");
  dir.Write("package.json", "not json");
  CHECK(BuildDeployPackage(dir.path, "", "")->entry == "index.js");
}

TEST_CASE("The entry of a folder is --entry or the first usual name", "[cli][deploy]") {
  TempDir dir;
  dir.Write("handler.js", "h");
  dir.Write("main.mjs", "m");
  dir.Write("src/app.mjs", "a");
  CHECK(BuildDeployPackage(dir.path, "", "")->entry == "handler.js");
  CHECK(BuildDeployPackage(dir.path, "./src/app.mjs", "")->entry == "src/app.mjs");
  auto missing = BuildDeployPackage(dir.path, "nope.mjs", "");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("is not a file in") != std::string::npos);

  TempDir none;
  none.Write("app.mjs", "a");
  auto no_entry = BuildDeployPackage(none.path, "", "");
  REQUIRE_FALSE(no_entry.ok());
  CHECK(no_entry.status().message().find("--entry FILE") != std::string::npos);
  CHECK(BuildDeployPackage(none.path, "app.mjs", "cpp")->runtime == "cpp");
  CHECK_FALSE(BuildDeployPackage(none.path, "app.mjs", "python").ok());
}

TEST_CASE("Symlinks inside the folder are followed, those leading out refused", "[cli][deploy]") {
  TempDir outside;
  std::string secret = outside.Write("secret.txt", "do not upload");
  TempDir dir;
  dir.Write("index.mjs", "entry");
  dir.Write("data/real.json", "{}");
  fs::create_symlink("data/real.json", fs::path(dir.path) / "alias.json");
  auto ok = BuildDeployPackage(dir.path, "", "");
  REQUIRE(ok.ok());
  CHECK(Content(*ok, "alias.json") == "{}");

  fs::create_symlink(secret, fs::path(dir.path) / "leak.txt");
  auto refused = BuildDeployPackage(dir.path, "", "");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("refusing symlink") != std::string::npos);
  CHECK(refused.status().message().find("outside") != std::string::npos);
}

TEST_CASE("A deploy over the size cap fails clearly", "[cli][deploy]") {
  TempDir dir;
  dir.Write("index.mjs", std::string(600, 'x'));
  dir.Write("big.bin", std::string(600, 'y'));
  auto p = BuildDeployPackage(dir.path, "", "", /*max_bytes=*/1000);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("upload limit") != std::string::npos);
  CHECK(BuildDeployPackage(dir.path, "", "", 2000).ok());
}

TEST_CASE("A missing PATH is reported", "[cli][deploy]") {
  auto p = BuildDeployPackage("/nonexistent/flint/fn", "", "");
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("cannot read '/nonexistent/flint/fn'") != std::string::npos);
}

TEST_CASE("A folder of C++ sources finds index.cc or index.cpp as its entry", "[cli][deploy]") {
  TempDir cc;
  cc.Write("index.cc", "#include <flint/flint.h>\n");
  cc.Write("orders.h", "#pragma once\n");
  auto p = BuildDeployPackage(cc.path, "", "");
  REQUIRE(p.ok());
  CHECK(p->entry == "index.cc");
  CHECK(p->runtime == "cpp");
  TempDir cpp;
  cpp.Write("index.cpp", "#include <flint/flint.h>\n");
  CHECK(BuildDeployPackage(cpp.path, "", "")->entry == "index.cpp");
  // A JavaScript entry still wins in a folder that has both.
  cpp.Write("index.mjs", "export const handler = () => 1;\n");
  CHECK(BuildDeployPackage(cpp.path, "", "")->entry == "index.mjs");
}
