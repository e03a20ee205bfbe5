#include "sdk/client/flint_client.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "sdk/encoding/base64.h"
#include "tests/support/fake_server.h"

using flint::Code;
using flint::client::DeploySpec;
using flint::client::FlintClient;
using flint::client::HttpResponse;
using flint::client::ParseHttpUrl;
using flint::testing::FakeReply;
using flint::testing::FakeServer;
using flint::testing::RecordedRequest;
using nlohmann::json;

namespace {

const char* kFunctionJson =
    R"({"name":"hello","version":3,"runtime":"js","entry":"index.mjs","code_digest":"ab12",)"
    R"("memory_mb":128,"timeout_ms":3000,"keep_alive_ms":600000,"max_instances":10,)"
    R"("concurrency":1,"env":{"K":"V"},"created_at":"2026-01-02T03:04:05Z"})";

}  // namespace

TEST_CASE("DeployRequestJson sends files as base64 and only the settings given", "[client][api]") {
  DeploySpec spec;
  spec.runtime = "js";
  spec.entry = "index.mjs";
  spec.files = {{"index.mjs", "export const handler = () => 1;\n"}, {"lib/u.mjs", "\x01\xff"}};
  spec.config.timeout_ms = 300;
  spec.config.env = std::map<std::string, std::string>{{"A", "1"}};
  spec.config.env_set = {{"B", "2"}};
  spec.config.env_unset = {"C"};
  spec.config.cpu = 0.5;
  json j = json::parse(flint::client::DeployRequestJson(spec));
  CHECK(j["cpu"] == 0.5);
  CHECK(j["runtime"] == "js");
  CHECK(j["entry"] == "index.mjs");
  CHECK(flint::Base64Decode(j["files"]["lib/u.mjs"].get<std::string>()).value() == "\x01\xff");
  CHECK(j["timeout_ms"] == 300);
  CHECK(j["env"]["A"] == "1");
  CHECK(j["env_set"]["B"] == "2");
  CHECK(j["env_unset"] == json::array({"C"}));
  CHECK_FALSE(j.contains("memory_mb"));
  CHECK_FALSE(j.contains("keep_alive_ms"));
}

TEST_CASE("ConfigRequestJson sends only the settings given, never code", "[client][api]") {
  flint::client::FunctionConfig c;
  CHECK(c.empty());
  CHECK(flint::client::ConfigRequestJson(c) == "{}");
  c.memory_mb = 1024;
  CHECK_FALSE(c.empty());
  CHECK(json::parse(flint::client::ConfigRequestJson(c)) == json{{"memory_mb", 1024}});
}

TEST_CASE("An archive deploy is multipart: the settings, then the archive", "[client][api]") {
  DeploySpec spec;
  spec.entry = "index.js";
  spec.files = {{"ignored.js", "x"}};
  spec.archive = std::string("\x1f\x8b archive \r\n bytes", 20);
  spec.config.memory_mb = 256;
  std::string body = flint::client::DeployMultipartBody(spec, "BOUNDARY");
  CHECK(body ==
        "--BOUNDARY\r\n"
        "Content-Disposition: form-data; name=\"deploy\"\r\n"
        "Content-Type: application/json\r\n\r\n"
        "{\"entry\":\"index.js\",\"memory_mb\":256}\r\n"
        "--BOUNDARY\r\n"
        "Content-Disposition: form-data; name=\"code\"; filename=\"code.tar.gz\"\r\n"
        "Content-Type: application/gzip\r\n\r\n" +
            spec.archive + "\r\n--BOUNDARY--\r\n");
}

TEST_CASE("flintd's answers decode into typed values", "[client][api]") {
  auto info =
      flint::client::ParseFunctionInfoJson(std::string(R"({"function":)") + kFunctionJson + "}");
  REQUIRE(info.ok());
  CHECK(info->name == "hello");
  CHECK(info->version == 3);
  CHECK(info->timeout_ms == 3000);
  CHECK(info->env.at("K") == "V");

  auto details = flint::client::ParseFunctionDetailsJson(
      std::string(R"({"function":)") + kFunctionJson +
      R"(,"versions":[{"version":3,"created_at":"t3","code_digest":"d3"},{"version":2}],)"
      R"("pool":{"workers":{"starting":1,"idle":2,"busy":3},"queue":4,"invocations":12,)"
      R"("cold_starts":5,"errors":6},)"
      R"("limits":{"cpu_mode":"weight","cpu_weight":74,"cpu_quota":null,"cpu_period_ms":100}})");
  REQUIRE(details.ok());
  REQUIRE(details->limits.has_value());
  CHECK(details->limits->cpu_mode == "weight");
  CHECK(details->limits->cpu_weight == 74);
  CHECK(details->limits->cpu_quota == 0);
  CHECK(details->function.cpu == 0);
  CHECK(details->versions.size() == 2);
  CHECK(details->versions[0].code_digest == "d3");
  CHECK(details->pool.workers() == 6);
  CHECK(details->pool.cold_starts == 5);

  auto list =
      flint::client::ParseFunctionListJson(std::string(R"({"functions":[)") + kFunctionJson + "]}");
  REQUIRE(list.ok());
  CHECK(list->size() == 1);

  auto logs = flint::client::ParseLogsJson(
      R"({"logs":[{"time":"t","request_id":"r","level":"info","message":"hi"}]})");
  REQUIRE(logs.ok());
  CHECK(logs->at(0).message == "hi");

  CHECK(flint::client::ParseFunctionListJson("[]").status().code() == Code::kIo);
  CHECK(flint::client::ParseLogsJson("not json").status().code() == Code::kIo);
}

TEST_CASE("ErrorFromResponse uses flintd's error code and message", "[client][api]") {
  HttpResponse r;
  r.status = 404;
  r.body = R"({"error":{"code":"not_found","message":"function 'x' does not exist"}})";
  flint::Status s = flint::client::ErrorFromResponse(r);
  CHECK(s.code() == Code::kNotFound);
  CHECK(s.message() == "function 'x' does not exist");
  CHECK(flint::client::IsFlintErrorBody(r.body));

  HttpResponse plain;
  plain.status = 504;
  plain.reason = "Gateway Timeout";
  plain.body = "<html>\n</html>";
  flint::Status p = flint::client::ErrorFromResponse(plain);
  CHECK(p.code() == Code::kFunctionTimeout);
  CHECK(p.message() == "Gateway Timeout");
  CHECK_FALSE(flint::client::IsFlintErrorBody(plain.body));
  CHECK_FALSE(flint::client::IsFlintErrorBody(R"({"error":{"code":"mine"}})"));
}

TEST_CASE("FlintClient sends the bearer token and maps API errors", "[client][api]") {
  FakeServer server([](const RecordedRequest& r) {
    if (r.Header("authorization") != "Bearer sekret") {
      return FakeReply{FakeServer::Response(
          401, R"({"error":{"code":"unauthenticated","message":"missing or invalid token"}})")};
    }
    if (r.Target() == "/v1/functions/nope") {
      return FakeReply{FakeServer::Response(
          404, R"({"error":{"code":"not_found","message":"function 'nope' does not exist"}})")};
    }
    if (r.Method() == "PUT") {
      return FakeReply{
          FakeServer::Response(201, std::string(R"({"function":)") + kFunctionJson + "}")};
    }
    return FakeReply{FakeServer::Response(200, R"({"deleted":"hello"})")};
  });
  auto url = ParseHttpUrl(server.url()).value();

  FlintClient good(url, "sekret");
  DeploySpec spec;
  spec.files = {{"index.mjs", "x"}};
  auto deployed = good.Deploy("hello", spec);
  REQUIRE(deployed.ok());
  CHECK(deployed->value.version == 3);
  CHECK(deployed->json.find("\"code_digest\":\"ab12\"") != std::string::npos);
  CHECK(good.last_http_status() == 201);
  auto sent = json::parse(server.requests().back().body);
  CHECK(sent["files"]["index.mjs"] == flint::Base64Encode("x"));

  auto missing = good.Describe("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(good.last_http_status() == 404);

  auto deleted = good.Delete("hello");
  REQUIRE(deleted.ok());
  CHECK(deleted->value == "hello");
  CHECK(server.requests().back().Method() == "DELETE");

  FlintClient bad(url, "wrong");
  auto denied = bad.List();
  REQUIRE_FALSE(denied.ok());
  CHECK(denied.status().code() == Code::kUnauthenticated);
  CHECK(bad.last_http_status() == 401);
}

TEST_CASE(
    "FlintClient invokes with its token, unless the caller sends its own, and returns any "
    "status",
    "[client][api]") {
  FakeServer server([](const RecordedRequest& r) {
    return FakeReply{FakeServer::Response(
        418, r.Method() + " " + r.Target() + " " + r.Header("authorization") + "|" + r.body)};
  });
  FlintClient client(ParseHttpUrl(server.url()).value(), "sekret");
  flint::client::InvokeRequest request;
  request.path = "/rest?q=1";
  request.body = "{}";
  auto r = client.Invoke("echo", request);
  REQUIRE(r.ok());
  CHECK(r->status == 418);
  // The token reaches flintd for private functions (flintd removes it before the function).
  CHECK(r->body == "POST /fn/echo/rest?q=1 Bearer sekret|{}");
  request.headers.push_back({"Authorization", "Basic dTpw"});
  auto own = client.Invoke("echo", request);
  REQUIRE(own.ok());
  CHECK(own->body == "POST /fn/echo/rest?q=1 Basic dTpw|{}");
  FlintClient anonymous(ParseHttpUrl(server.url()).value(), "");
  auto none = anonymous.Invoke("echo", flint::client::InvokeRequest{});
  REQUIRE(none.ok());
  CHECK(none->body == "GET /fn/echo |");
}

TEST_CASE("FlintClient names flintd when it cannot reach it", "[client][api]") {
  flint::client::HttpUrl url;
  url.host = "127.0.0.1";
  url.port = 1;  // nothing listens on port 1 here
  FlintClient client(url, "t");
  auto r = client.List();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message() == "cannot reach flintd at http://127.0.0.1:1: connection refused");
  CHECK(client.last_http_status() == 0);
}
