// JavaScript on Node.js end to end: deploys through flintd's API (folders with node_modules/,
// both handler shapes), deploy-time load errors, events, timeouts, the code cache, the default
// runtime and the lean one beside it. Runs with or without root (the fixture adds
// --no-isolation without it).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::DeploySpec;
using flint::client::HttpRequest;
using flint::client::HttpResponse;
using flint::testing::FlintdProcess;
using flint::testing::GetOrFail;
using flint::testing::PostOrFail;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using namespace std::chrono_literals;

namespace {

// Deploys `spec` as `name`; the API's answer.
flint::Result<flint::client::Reply<flint::client::FunctionInfo>> Deploy(
    const FlintdProcess& flintd, const std::string& name, DeploySpec spec) {
  return flintd.Client().Deploy(name, spec);
}

void DeployOrFail(const FlintdProcess& flintd, const std::string& name, DeploySpec spec) {
  auto r = Deploy(flintd, name, std::move(spec));
  INFO(r.status().ToString() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.ok());
}

// A function folder as Lambda users zip it: their code, package.json and node_modules/.
DeploySpec Unbundled() {
  DeploySpec spec;
  spec.files["package.json"] = R"({"name": "orders", "main": "src/app.js"})";
  spec.files["src/app.js"] =
      "const slugify = require('slugify');\n"
      "const { sign } = require('./sign');\n"
      "exports.handler = async (event, context) => ({\n"
      "  statusCode: 200, headers: { 'content-type': 'application/json' },\n"
      "  body: JSON.stringify({ slug: slugify(event.queryStringParameters.title),\n"
      "                         sig: sign('x'), fn: context.functionName }),\n"
      "});\n";
  spec.files["src/sign.js"] =
      "const crypto = require('node:crypto');\n"
      "exports.sign = (s) => crypto.createHmac('sha256', process.env.SECRET).update(s)\n"
      "  .digest('hex').slice(0, 8);\n";
  spec.files["node_modules/slugify/package.json"] =
      R"({"name": "slugify", "version": "1.0.0", "main": "index.js"})";
  spec.files["node_modules/slugify/index.js"] =
      "module.exports = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-');\n";
  spec.config.env_set["SECRET"] = "k";
  return spec;
}

TEST_CASE("A Node.js function with node_modules deploys by default and answers",
          "[integration][node]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  auto deployed = Deploy(flintd, "orders", Unbundled());
  INFO(deployed.status().ToString() << "\n" << flintd.LogTail());
  REQUIRE(deployed.ok());
  CHECK(deployed->value.runtime == "node");
  CHECK(deployed->value.entry == "src/app.js");  // package.json's main
  HttpResponse r = GetOrFail(flintd, "/fn/orders?title=Hello%20World");
  INFO(r.body << "\n" << flintd.LogTail());
  REQUIRE(r.status == 200);
  nlohmann::json body = nlohmann::json::parse(r.body);
  CHECK(body["slug"] == "hello-world");
  CHECK(body["sig"] == "c38edc88");  // HMAC-SHA256 of "x" with the key "k"
  CHECK(body["fn"] == "orders");
}

TEST_CASE("A Node.js deploy that cannot load fails, naming file, line and module",
          "[integration][node]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeploySpec spec;
  spec.entry = "index.handler";
  spec.files["index.js"] = "const x = 1;\nconst jwt = require('jsonwebtoken');\n";
  auto missing = Deploy(flintd, "broken", spec);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        "index.js:2: Error [MODULE_NOT_FOUND]: Cannot find module 'jsonwebtoken'");
  spec.files["index.js"] = "exports.handler = async () => 1;\n";
  spec.entry = "app.handler";
  auto no_file = Deploy(flintd, "broken", spec);
  REQUIRE_FALSE(no_file.ok());
  CHECK(no_file.status().message() ==
        "app.handler: the function has no file app.js, app.mjs or app.cjs");
  // Nothing was recorded.
  CHECK(GetOrFail(flintd, "/fn/broken").status == 404);
}

TEST_CASE("A Web-standard fetch handler answers HTTP requests and events",
          "[integration][node]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeploySpec spec;
  spec.files["index.mjs"] =
      "export default {\n"
      "  async fetch(request, env) {\n"
      "    const url = new URL(request.url);\n"
      "    if (request.method === 'POST' && request.headers.get('x-flint-event')) {\n"
      "      console.log('event', await request.text());\n"
      "      return new Response('done');\n"
      "    }\n"
      "    return Response.json({ path: url.pathname, q: url.searchParams.get('q'),\n"
      "                           method: request.method, body: await request.text(),\n"
      "                           greeting: env.GREETING }, { status: 201,\n"
      "                           headers: { 'x-shape': 'fetch' } });\n"
      "  },\n"
      "};\n";
  spec.config.env_set["GREETING"] = "hi";
  DeployOrFail(flintd, "web", spec);
  HttpResponse r = PostOrFail(flintd, "/fn/web/items/7?q=z", "payload");
  INFO(r.body << "\n" << flintd.LogTail());
  REQUIRE(r.status == 201);
  CHECK(*r.FindHeader("x-shape") == "fetch");
  nlohmann::json body = nlohmann::json::parse(r.body);
  CHECK(body == nlohmann::json{{"path", "/items/7"}, {"q", "z"}, {"method", "POST"},
                               {"body", "payload"}, {"greeting", "hi"}});
  // An async event reaches fetch as a POST of its JSON.
  flint::client::HttpRequest event;
  event.method = "POST";
  event.target = "/fn/web";
  event.headers.push_back({"Content-Type", "application/json"});
  event.headers.push_back({"X-Flint-Invocation-Type", "Event"});
  event.body = R"({"n":1})";
  auto accepted = flintd.Http(event);
  REQUIRE(accepted.ok());
  CHECK(accepted->status == 202);
  REQUIRE(WaitUntil(
      [&] {
        return flintd.RunCli({"logs", "web"}).out.find("event {\"n\":1}") != std::string::npos;
      },
      30s, 200ms));
}

TEST_CASE("Both JavaScript runtimes serve the same function, the lean one on request",
          "[integration][node]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  const std::string hello = flint::testing::FunctionsDir() + "/hello";
  for (const char* runtime : {"node", "v8"}) {
    flint::testing::CliResult r =
        flintd.RunCli({"deploy", std::string("hello-") + runtime, hello, "--runtime", runtime});
    INFO(r.Describe() << "\n" << flintd.LogTail());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.rfind("deployed hello-" + std::string(runtime) + " version 1 (" + runtime, 0) ==
          0);
    HttpResponse answer = GetOrFail(flintd, std::string("/fn/hello-") + runtime + "?name=Ada");
    CHECK(answer.status == 200);
    CHECK(answer.body == "Hello, Ada!\n");
  }
  // "js" is the default JavaScript runtime's other name.
  flint::testing::CliResult js = flintd.RunCli({"deploy", "hello-js", hello, "--runtime", "js"});
  CHECK(js.out.rfind("deployed hello-js version 1 (node", 0) == 0);
  // Node.js APIs exist only on Node.js.
  TempDir dir("flint-node");
  std::string fn = dir.Write("buf.mjs",
                             "export const handler = async () => Buffer.from('ok').toString();\n");
  CHECK(flintd.RunCli({"deploy", "buf-node", fn}).exit_code == 0);
  CHECK(GetOrFail(flintd, "/fn/buf-node").body == "ok");
  CHECK(flintd.RunCli({"deploy", "buf-v8", fn, "--runtime", "v8"}).exit_code == 0);
  HttpResponse lean = GetOrFail(flintd, "/fn/buf-v8");
  CHECK(lean.status == 500);
  CHECK(lean.body.find("Buffer is not defined") != std::string::npos);
}

TEST_CASE("A Node.js function times out, keeps its worker, and reuses its code cache",
          "[integration][node]") {
  FlintdProcess flintd({"--log-level", "info"});
  StartOrFail(flintd);
  DeploySpec spec;
  spec.files["index.js"] =
      "let calls = 0;\n"
      "exports.handler = async (event) => {\n"
      "  calls++;\n"
      "  if (event.rawPath === '/spin') for (;;) {}\n"
      "  return String(calls);\n"
      "};\n";
  spec.config.timeout_ms = 500;
  spec.config.keep_alive_ms = 200;
  DeployOrFail(flintd, "spin", spec);
  CHECK(GetOrFail(flintd, "/fn/spin").body == "1");
  HttpResponse spun = GetOrFail(flintd, "/fn/spin/spin");
  CHECK(spun.status == 504);
  CHECK(spun.body.find("function timed out after 500 ms") != std::string::npos);
  CHECK(GetOrFail(flintd, "/fn/spin").body == "3");  // the same worker: its count went on
  // The first worker sent V8's code cache after its first invocation; once it is gone, the
  // next cold start loads with it.
  REQUIRE(WaitUntil(
      [&] { return flintd.LogTail(100000).find("kept a code cache") != std::string::npos; }, 20s));
  REQUIRE(WaitUntil(
      [&] {
        auto d = flintd.Client().Describe("spin");
        return d.ok() && d->value.pool.idle + d->value.pool.busy + d->value.pool.starting == 0;
      },
      20s, 100ms));
  HttpResponse cold = GetOrFail(flintd, "/fn/spin");
  CHECK(cold.body == "1");
  CHECK(cold.FindHeader("x-flint-cold-start") != nullptr);
}

}  // namespace
