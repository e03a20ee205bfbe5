#include "scheduler/app/deploy.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "scheduler/app/api_requests.h"
#include "sdk/encoding/base64.h"

using namespace flint;
using namespace flint::scheduler;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/flint-deploy-app-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(path, ec)) {
      fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
    fs::remove_all(path, ec);
  }
};

// A tar.gz of `files`, made by the system's tar.
std::string TarGz(const TempDir& tmp, const std::map<std::string, std::string>& files) {
  std::string src = tmp.path + "/src";
  fs::remove_all(src);
  for (const auto& [path, text] : files) {
    fs::create_directories(fs::path(src + "/" + path).parent_path());
    std::ofstream(src + "/" + path, std::ios::binary) << text;
  }
  std::string out = tmp.path + "/code.tgz";
  int rc = std::system(("cd '" + src + "' && tar -czf '" + out + "' .").c_str());
  REQUIRE(rc == 0);
  std::ifstream in(out, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Multipart(const std::string& document, const std::string& archive) {
  std::string out;
  if (!document.empty()) {
    out += "--XyZ\r\ncontent-disposition: form-data; name=\"deploy\"\r\n\r\n" + document + "\r\n";
  }
  out +=
      "--XyZ\r\nContent-Disposition: form-data; name=\"code\"; filename=\"c.tgz\"\r\n"
      "Content-Type: application/gzip\r\n\r\n" +
      archive + "\r\n--XyZ--\r\n";
  return out;
}

constexpr const char* kType = "multipart/form-data; boundary=\"XyZ\"";

}  // namespace

TEST_CASE("A multipart deploy stores the archive's files with node_modules", "[deploy]") {
  TempDir tmp;
  auto code = CodeStore::Open(tmp.path + "/data");
  REQUIRE(code.ok());
  std::map<std::string, std::string> files = {
      {"index.js", "exports.handler = async () => require('dep');"},
      {"node_modules/dep/package.json", "{\"main\":\"lib/main.js\"}"},
      {"node_modules/@scope/x/lib/main.js", "module.exports = 1;"}};
  std::string body = Multipart(R"({"entry": "index.js", "memory_mb": 256})", TarGz(tmp, files));
  auto prepared = PrepareDeploy(body, kType, *code, tmp.path + "/data");
  INFO(prepared.status().ToString());
  REQUIRE(prepared.ok());
  CHECK(prepared->entry == "index.js");
  CHECK(prepared->runtime == Runtime::kNode);
  CHECK(prepared->config.memory_mb == 256);
  CHECK(prepared->file_count == 3);
  std::vector<CodeFile> same(files.begin(), files.end());
  CHECK(prepared->code_digest == code->Digest(same).value());
  CHECK(fs::exists(code->DirOf(prepared->code_digest) + "/node_modules/@scope/x/lib/main.js"));

  // The same code as JSON gives the same digest.
  std::string json = R"({"entry":"index.js","files":{)";
  bool first = true;
  for (const auto& [path, text] : files) {
    json += (first ? "\"" : ",\"") + path + "\":\"" + Base64Encode(text) + "\"";
    first = false;
  }
  json += "}}";
  auto from_json = PrepareDeploy(json, "application/json", *code, tmp.path + "/data");
  REQUIRE(from_json.ok());
  CHECK(from_json->code_digest == prepared->code_digest);
}

TEST_CASE("A multipart deploy without settings takes a lone file as its entry", "[deploy]") {
  TempDir tmp;
  auto code = CodeStore::Open(tmp.path + "/data");
  REQUIRE(code.ok());
  auto one = PrepareDeploy(Multipart("", TarGz(tmp, {{"fn.mjs", "export default 1;"}})), kType,
                           *code, tmp.path + "/data");
  REQUIRE(one.ok());
  CHECK(one->entry == "fn.mjs");
  CHECK(one->runtime == Runtime::kNode);
  // Several files and no entry: Node.js's default entry, unless the runtime says otherwise.
  auto cpp =
      PrepareDeploy(Multipart(R"({"runtime": "cpp"})", TarGz(tmp, {{"a.cc", "1"}, {"b.cc", "2"}})),
                    kType, *code, tmp.path + "/data");
  CHECK_THAT(cpp.status().message(), Catch::Contains("'entry' is required"));
}

TEST_CASE("A multipart deploy infers a Node.js entry as a JSON deploy does", "[deploy]") {
  TempDir tmp;
  auto code = CodeStore::Open(tmp.path + "/data");
  REQUIRE(code.ok());
  auto deploy = [&](const std::string& settings, std::map<std::string, std::string> files) {
    auto r =
        PrepareDeploy(Multipart(settings, TarGz(tmp, files)), kType, *code, tmp.path + "/data");
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  };
  // Lambda's default handler, resolved by the worker that checks the deploy.
  PreparedDeploy plain = deploy("", {{"index.js", "1"}, {"lib.js", "2"}});
  CHECK(plain.entry == "index.handler");
  CHECK(plain.runtime == Runtime::kNode);
  // package.json's "main", as Node.js resolves it.
  PreparedDeploy main = deploy(
      "", {{"package.json", R"({"main": "./src/app"})"}, {"src/app.js", "1"}, {"index.js", "2"}});
  CHECK(main.entry == "src/app.js");
  // A handler named as Lambda names it, and "js" as another name of Node.js.
  PreparedDeploy named =
      deploy(R"({"entry": "app.main", "runtime": "js"})", {{"app.js", "1"}, {"b.js", "2"}});
  CHECK(named.entry == "app.main");
  CHECK(named.runtime == Runtime::kNode);
  PreparedDeploy lean = deploy(R"({"runtime": "v8"})", {{"fn.mjs", "1"}});
  CHECK(lean.runtime == Runtime::kV8);
}

TEST_CASE("Malformed multipart deploys are refused clearly", "[deploy]") {
  TempDir tmp;
  auto code = CodeStore::Open(tmp.path + "/data");
  REQUIRE(code.ok());
  std::string archive = TarGz(tmp, {{"index.js", "x"}});
  auto run = [&](const std::string& body, const std::string& type = kType) {
    auto r = PrepareDeploy(body, type, *code, tmp.path + "/data");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    return r.status().message();
  };
  CHECK_THAT(run(Multipart("", archive), "multipart/form-data"), Catch::Contains("boundary"));
  CHECK_THAT(run("--XyZ\r\nContent-Disposition: form-data; name=\"deploy\"\r\n\r\n{}\r\n--XyZ--"),
             Catch::Contains("no 'code' part"));
  CHECK_THAT(run(Multipart("", archive).substr(0, 60)), Catch::Contains("malformed multipart"));
  CHECK_THAT(run(Multipart(R"({"files": {}})", archive)), Catch::Contains("one or the other"));
  CHECK_THAT(run(Multipart(R"({"entry": "nope.cc"})", archive)),
             Catch::Contains("entry 'nope.cc' is not among the files"));
  CHECK_THAT(run(Multipart(R"({"runtime": "python"})", archive)),
             Catch::Contains("unsupported runtime 'python'"));
  CHECK_THAT(run(Multipart("[1]", archive)), Catch::Contains("must be a JSON object"));
  CHECK_THAT(run(Multipart("", "not a tar")), Catch::Contains("the archive"));
  CHECK(IsMultipartFormData("Multipart/Form-Data; boundary=a"));
  CHECK_FALSE(IsMultipartFormData("multipart/form-datax"));
  CHECK_FALSE(IsMultipartFormData("application/json"));
}

TEST_CASE("Corrupted multipart deploys fail cleanly, never crash", "[deploy]") {
  TempDir tmp;
  auto code = CodeStore::Open(tmp.path + "/data");
  REQUIRE(code.ok());
  std::string body =
      Multipart(R"({"entry": "index.js", "env": {"A": "1"}})", TarGz(tmp, {{"index.js", "x"}}));
  uint32_t seed = 777;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u; };
  for (int i = 0; i < 200; ++i) {
    std::string bytes = body;
    for (int flips = 1 + static_cast<int>(next() % 3); flips > 0; --flips) {
      bytes[next() % bytes.size()] = "\r\n-\"x;=\0"[next() % 8];
    }
    if (i % 5 == 0) bytes.resize(next() % bytes.size());
    auto r = PrepareDeploy(bytes, kType, *code, tmp.path + "/data");
    if (!r.ok()) CHECK_FALSE(r.status().message().empty());
  }
}
