// The compatibility suite (README.md beside this file): real Lambda and Workers handlers built
// from npm packages, deployed to a real flintd with `flint deploy` and compared, case by case,
// with the same handler's answers under plain Node.js (reference.mjs, run with the node binary
// Flint's runtime uses). One flintd on a free port with a temporary data directory serves the
// whole suite: the first test prepares every handler, a few at a time (its reference answers
// and its deploy), and each TEST_CASE then checks one handler; a last one checks the deploys
// that must fail (a missing package, a load error). ctest runs the binary as one test.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sdk/encoding/base64.h"
#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::Result;
using flint::Status;
using flint::client::HttpRequest;
using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::FlintdProcess;
using flint::testing::ReadFile;
using flint::testing::RunProcess;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kCompatDir = FLINT_COMPAT_DIR;
const std::string kNode = FLINT_NODE_BINARY;

// Headers whose values depend on the transport, not on the handler.
const std::set<std::string> kTransportHeaders = {"content-length", "date", "connection",
                                                 "keep-alive", "transfer-encoding"};

const json& Cases() {
  static const json cases = json::parse(ReadFile(kCompatDir + "/cases.json"));
  return cases.at("handlers");
}

// The reference answers: reference.mjs under the runtime's node, with TZ=UTC and only the
// function's environment. Runs on a preparing thread: no assertions, an error is returned.
Result<json> Reference(const std::string& name, const json& spec) {
  if (!std::filesystem::exists(kNode)) {
    return flint::NotFound(kNode + " is missing: run tools/setup.sh (it installs Node.js 22)");
  }
  TempDir tmp("flint-compat-ref");
  std::string out = tmp.path() + "/answers.json";
  std::vector<std::string> args = {"-i", "TZ=UTC", "PATH=/usr/bin:/bin"};
  const json env = spec.value("env", json::object());
  for (const auto& [k, v] : env.items()) args.push_back(k + "=" + v.get<std::string>());
  args.insert(args.end(),
              {kNode, kCompatDir + "/reference.mjs", kCompatDir + "/cases.json", name, out});
  CliResult r = RunProcess("/usr/bin/env", args, {}, 120s);
  if (r.exit_code != 0) return flint::Internal("reference runner: " + r.Describe());
  json answers = json::parse(ReadFile(out), nullptr, /*allow_exceptions=*/false);
  if (answers.is_discarded()) return flint::Internal("reference runner wrote no JSON");
  return answers;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Every value of header `name` (lower-case) in `headers`, in order.
std::vector<std::string> Values(const std::vector<flint::client::Header>& headers,
                                const std::string& name) {
  std::vector<std::string> out;
  for (const auto& h : headers) {
    if (Lower(h.name) == name) out.push_back(h.value);
  }
  return out;
}

void CheckExpectation(const json& expect, int status, const std::string& body) {
  CHECK(status == expect.at("status").get<int>());
  if (expect.contains("contains")) {
    CHECK_THAT(body, Catch::Contains(expect.at("contains").get<std::string>()));
  }
}

// Calls each request case of `name` and compares with the reference answers.
void CompareRequests(const FlintdProcess& flintd, const std::string& name, const json& spec,
                     const json& reference) {
  const json requests = spec.value("requests", json::array());
  REQUIRE(reference.at("requests").size() == requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const json& c = requests[i];
    const json& want = reference["requests"][i];
    HttpRequest request;
    request.method = c.value("method", "GET");
    request.target = "/fn/" + name + c.value("path", "/");
    if (c.contains("query")) request.target += "?" + c["query"].get<std::string>();
    const json headers = c.value("headers", json::object());
    for (const auto& [k, v] : headers.items()) request.headers.push_back({k, v.get<std::string>()});
    if (c.contains("body")) request.body = c["body"].get<std::string>();
    auto got = flintd.Http(request);
    INFO(name << " case " << i << ": " << request.method << " " << request.target);
    REQUIRE(got.ok());
    INFO("Flint answered " << got->status << ": " << got->body.substr(0, 2000));
    INFO("Node.js answered: " << want.dump().substr(0, 2000));
    if (want.contains("error")) {
      // The handler failed under Node.js too: Flint must answer a function error with its message.
      CHECK(got->status >= 500);
      CHECK_THAT(got->body, Catch::Contains(want["error"]["message"].get<std::string>()));
      CHECK(c["expect"]["status"].get<int>() >= 500);
      continue;
    }
    std::string want_body = flint::Base64Decode(want["body_base64"].get<std::string>()).value();
    CheckExpectation(c.at("expect"), want["status"].get<int>(), want_body);  // the reference
    CHECK(got->status == want["status"].get<int>());
    CHECK(got->body == want_body);
    std::map<std::string, std::vector<std::string>> want_headers;
    for (const auto& h : want["headers"]) {
      want_headers[Lower(h[0].get<std::string>())].push_back(h[1].get<std::string>());
    }
    for (const auto& [header, values] : want_headers) {
      if (kTransportHeaders.count(header) != 0) continue;
      INFO("header " << header);
      CHECK(Values(got->headers, header) == values);
    }
  }
}

// Posts each event case as an async invocation and compares its stored result.
void CompareEvents(const FlintdProcess& flintd, const std::string& name, const json& spec,
                   const json& reference) {
  const json events = spec.value("events", json::array());
  REQUIRE(reference.at("events").size() == events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const json& want = reference["events"][i];
    REQUIRE(want.contains("result"));
    HttpRequest request;
    request.method = "POST";
    request.target = "/fn/" + name;
    request.headers.push_back({"Content-Type", "application/json"});
    request.headers.push_back({"X-Flint-Invocation-Type", "Event"});
    request.body = events[i].value("event", json::object()).dump();
    auto accepted = flintd.Http(request);
    REQUIRE(accepted.ok());
    INFO(name << " event " << i << ": " << accepted->status << " " << accepted->body);
    REQUIRE(accepted->status == 202);
    std::string id = json::parse(accepted->body).at("invocation_id").get<std::string>();
    json invocation;
    bool done = WaitUntil(
        [&] {
          auto r = flintd.Client().Call("GET", "/v1/invocations/" + id);
          if (!r.ok()) return false;
          invocation = json::parse(*r).at("invocation");
          std::string status = invocation.value("status", "");
          return status == "succeeded" || status == "dead";
        },
        60s);
    INFO("invocation: " << invocation.dump() << "\nflintd log:\n" << flintd.LogTail());
    REQUIRE(done);
    REQUIRE(invocation["status"] == "succeeded");
    json result = invocation["result"];
    if (result.is_string()) {  // a result stored as JSON text
      json parsed = json::parse(result.get<std::string>(), nullptr, false);
      if (!parsed.is_discarded()) result = parsed;
    }
    CHECK(result == want["result"]);
  }
}

CliResult Deploy(const FlintdProcess& flintd, const std::string& name, const std::string& dir,
                 const json& spec) {
  // Loading a large bundle can take seconds on a loaded machine: the module load and each call
  // get 30 s instead of the default 3 s (no case depends on the limit).
  std::vector<std::string> args = {"deploy", name, dir, "--timeout", "30s"};
  const json env = spec.value("env", json::object());
  for (const auto& [k, v] : env.items()) {
    args.push_back("--env");
    args.push_back(k + "=" + v.get<std::string>());
  }
  if (spec.contains("entry")) {
    args.push_back("--entry");
    args.push_back(spec["entry"].get<std::string>());
  }
  return flintd.RunCli(args, {}, 180s);
}

// What is prepared for one handler before its cases run.
struct Prepared {
  Result<json> reference = flint::Internal("not run");
  CliResult deploy;
};

// A deploy that must fail, and how it failed.
struct BrokenDeploy {
  std::string name;
  std::string dir;
  CliResult result;
};

// The one flintd of the suite, with every handler's reference answers and deploy, made once,
// on first use. Preparing runs the reference runners and `flint deploy`s on a few threads (each
// a child process: RunProcess and RunCli keep no shared state); Catch2 assertions stay on the
// test thread.
class Suite {
 public:
  static Suite& Get() {
    static Suite suite;
    return suite;
  }

  const FlintdProcess& flintd() const { return flintd_; }
  const Status& started() const { return started_; }
  const Prepared& handler(const std::string& name) const { return handlers_.at(name); }
  const std::vector<BrokenDeploy>& broken() const { return broken_; }

 private:
  Suite() {
    started_ = flintd_.Start();
    if (!started_.ok()) return;
    // The largest bundle first, so that it does not end up last alone.
    std::vector<std::string> names;
    for (const auto& item : Cases().items()) names.push_back(item.key());
    std::stable_partition(names.begin(), names.end(),
                          [](const std::string& name) { return name == "cheerio-cjs"; });
    std::vector<std::function<void()>> jobs;
    for (const std::string& name : names) {
      Prepared* prepared = &handlers_[name];
      jobs.push_back([this, name, prepared] {
        const json& spec = Cases().at(name);
        prepared->reference = Reference(name, spec);
        std::string dir = kCompatDir + "/" + spec.value("dir", "handlers/" + name);
        // flintd gives a worker 10 s to start and load: on a machine loaded by other builds
        // and tests a large bundle can miss that, which says nothing about compatibility, so
        // such a deploy is tried again (at most twice).
        for (int attempt = 0; attempt < 3; ++attempt) {
          prepared->deploy = Deploy(flintd_, name, dir, spec);
          if (prepared->deploy.err.find("loading the function took longer than") ==
              std::string::npos) {
            break;
          }
        }
      });
    }
    broken_ = {{"missing", kCompatDir + "/broken/missing-package", {}},
               {"throws", kCompatDir + "/broken/throws-at-load", {}},
               {"syntax", kCompatDir + "/broken/syntax-error", {}}};
    for (BrokenDeploy& b : broken_) {
      jobs.push_back([this, &b] {
        b.result = flintd_.RunCli({"deploy", b.name, b.dir, "--timeout", "30s"}, {}, 120s);
      });
    }
    std::atomic<size_t> next{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (size_t i = next++; i < jobs.size(); i = next++) jobs[i]();
      });
    }
    for (auto& t : threads) t.join();
  }

  // Two at once: node starting and flintd loading a worker keep two cores busy, and more
  // would only make each load slower on a shared machine.
  static constexpr int kThreads = 2;

  FlintdProcess flintd_;
  Status started_ = flint::Internal("not started");
  std::map<std::string, Prepared> handlers_;
  std::vector<BrokenDeploy> broken_;
};

const FlintdProcess& SuiteFlintd() {
  const Suite& suite = Suite::Get();
  INFO("flintd: " << suite.started().ToString());
  REQUIRE(suite.started().ok());
  return suite.flintd();
}

void RunHandler(const std::string& name) {
  const FlintdProcess& flintd = SuiteFlintd();
  const json& spec = Cases().at(name);
  const Prepared& prepared = Suite::Get().handler(name);
  INFO("reference: " << prepared.reference.status().ToString());
  REQUIRE(prepared.reference.ok());
  const CliResult& deployed = prepared.deploy;
  INFO("flint deploy: " << deployed.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(deployed.exit_code == 0);
  CompareRequests(flintd, name, spec, *prepared.reference);
  CompareEvents(flintd, name, spec, *prepared.reference);
}

}  // namespace

#define FLINT_COMPAT_CASE(name) \
  TEST_CASE("compat: " name " answers as under Node.js", "[compat]") { RunHandler(name); }

FLINT_COMPAT_CASE("jwt-cjs")
FLINT_COMPAT_CASE("bcrypt-cjs")
FLINT_COMPAT_CASE("middy-cjs")
FLINT_COMPAT_CASE("papaparse-cjs")
FLINT_COMPAT_CASE("cheerio-cjs")
FLINT_COMPAT_CASE("sanitize-cjs")
FLINT_COMPAT_CASE("cookies-cjs")
FLINT_COMPAT_CASE("zod-cjs")
FLINT_COMPAT_CASE("ajv-cjs")
FLINT_COMPAT_CASE("lodash-cjs")
FLINT_COMPAT_CASE("hono-lambda-cjs")
FLINT_COMPAT_CASE("markdown-cjs")
FLINT_COMPAT_CASE("jose-esm")
FLINT_COMPAT_CASE("uuid-esm")
FLINT_COMPAT_CASE("datefns-esm")
FLINT_COMPAT_CASE("nanoid-esm")
FLINT_COMPAT_CASE("hono-fetch-esm")
FLINT_COMPAT_CASE("itty-esm")
FLINT_COMPAT_CASE("jwt-esm")
FLINT_COMPAT_CASE("yaml-xml-esm")
FLINT_COMPAT_CASE("classic-crypto")
FLINT_COMPAT_CASE("callback")
FLINT_COMPAT_CASE("builtins-cjs")
FLINT_COMPAT_CASE("builtins-esm")
FLINT_COMPAT_CASE("local-files")
FLINT_COMPAT_CASE("plain-fetch")
FLINT_COMPAT_CASE("webcrypto")
FLINT_COMPAT_CASE("jwt-unbundled")
FLINT_COMPAT_CASE("esm-module")
FLINT_COMPAT_CASE("require-esm")
FLINT_COMPAT_CASE("itty-unbundled")

TEST_CASE("compat: every handler of cases.json has a test case", "[compat]") {
  // Keeps this file and cases.json in step: 31 handlers above.
  CHECK(Cases().size() == 31);
}

TEST_CASE("compat: a large bundle shows upload progress and a deploy names what fails to load",
          "[compat]") {
  const FlintdProcess& flintd = SuiteFlintd();
  // cheerio's bundle is 1.4 MB: progress goes to stderr (not a terminal: plain lines).
  const CliResult& big = Suite::Get().handler("cheerio-cjs").deploy;
  INFO(big.Describe());
  REQUIRE(big.exit_code == 0);
  CHECK_THAT(big.err, Catch::Contains("packed 1 file: 1.4 MB"));
  CHECK_THAT(big.err, Catch::Contains("uploading"));
  CHECK_THAT(big.err, Catch::Contains("100%"));
  CHECK_THAT(big.out, Catch::StartsWith("deployed cheerio-cjs version 1"));

  std::map<std::string, CliResult> broken;
  for (const BrokenDeploy& b : Suite::Get().broken()) broken[b.name] = b.result;

  // A package that is not in node_modules/: the deploy fails naming the file, the line and
  // the module; nothing is deployed.
  const CliResult& missing = broken.at("missing");
  INFO(missing.Describe());
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("index.js:3"));
  CHECK_THAT(missing.err, Catch::Contains("left-pad"));
  CHECK(flintd.RunCli({"describe", "missing"}).exit_code != 0);

  // A dependency that throws while it loads: named with its file and line.
  const CliResult& throws = broken.at("throws");
  INFO(throws.Describe());
  CHECK(throws.exit_code == 1);
  CHECK_THAT(throws.err, Catch::Contains("config.js:3"));
  CHECK_THAT(throws.err, Catch::Contains("DATABASE_URL is not set"));

  // A syntax error in a CommonJS file.
  const CliResult& syntax = broken.at("syntax");
  INFO(syntax.Describe());
  CHECK(syntax.exit_code == 1);
  CHECK_THAT(syntax.err, Catch::Contains("index.js:3"));
  CHECK_THAT(syntax.err, Catch::Contains("SyntaxError"));
}
