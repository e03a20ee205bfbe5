#include "scheduler/app/api_requests.h"

#include <catch2/catch.hpp>
#include <string>

using namespace flint::scheduler;
using flint::Code;
using flint::Runtime;

namespace {

// A deploy body of one JavaScript file ("aGk=" is "hi") with `config` added to the object.
std::string DeployBody(const std::string& config) {
  return R"({"files": {"index.mjs": "aGk="})" + (config.empty() ? "" : ", " + config) + "}";
}

// The error of a deploy of `body`: from its parsing, or from its settings applied to a new
// function's configuration.
std::string ErrorOf(const std::string& body) {
  auto r = ParseDeployRequest(DeployBody(body));
  flint::Status status = r.status();
  if (r.ok()) status = ApplyConfigPatch(FunctionConfig(), r->patch).status();
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == Code::kInvalidArgument);
  return status.message();
}

}  // namespace

TEST_CASE("A deploy body gives the runtime, entry, decoded files and configuration", "[api]") {
  auto r = ParseDeployRequest(DeployBody(
      R"("memory_mb": 256, "timeout_ms": 5000.0, "max_retries": -1, "env": {"A": "1"})"));
  REQUIRE(r.ok());
  CHECK(r->runtime == Runtime::kNode);
  CHECK(r->entry == "index.mjs");
  REQUIRE(r->files.size() == 1);
  CHECK(r->files[0].second == "hi");
  CHECK(r->patch.memory_mb == 256u);
  CHECK(r->patch.timeout_ms == 5000u);
  CHECK(r->patch.max_retries == -1);
  REQUIRE(r->patch.env);
  REQUIRE(r->patch.env->size() == 1);
  CHECK_FALSE(r->patch.concurrency);
}

// Found by fuzzing (tests/fuzz/deploy_upload): 1e30 was converted to uint32_t with undefined
// behaviour, and a negative size wrapped around to 4294967295.
TEST_CASE("A configuration number must be a whole number within its type's range", "[api]") {
  CHECK(ErrorOf(R"("timeout_ms": 1e30)") ==
        "timeout_ms must be a whole number between 0 and 4294967295, got 1e+30");
  CHECK(ErrorOf(R"("memory_mb": -1)") ==
        "memory_mb must be a whole number between 0 and 4294967295, got -1");
  CHECK(ErrorOf(R"("memory_mb": 256.5)") ==
        "memory_mb must be a whole number between 0 and 4294967295, got 256.5");
  CHECK(ErrorOf(R"("keep_alive_ms": 1.8446744073709552e19)") ==
        "keep_alive_ms must be a whole number between 0 and 18446744073709551615, got "
        "1.8446744073709552e+19");
  CHECK(ErrorOf(R"("max_retries": 2147483648)") ==
        "max_retries must be a whole number between -2147483648 and 2147483647, got 2147483648");
  CHECK(ErrorOf(R"("concurrency": "2")") ==
        "concurrency must be a whole number between 0 and 4294967295, got \"2\"");
  // In range for the type, out of range for Flint: the configuration's own rule speaks.
  CHECK(ErrorOf(R"("memory_mb": 64)") == "memory_mb must be between 128 and 10240, got 64");
}

TEST_CASE("A deploy body's cpu is a number of CPUs: a hard quota, or none at 0 or null", "[api]") {
  auto half = ParseDeployRequest(DeployBody(R"("cpu": 0.5)"));
  REQUIRE(half.ok());
  CHECK(half->patch.cpu_millis == 500u);
  auto two = ParseDeployRequest(DeployBody(R"("cpu": 2)"));
  REQUIRE(two.ok());
  CHECK(two->patch.cpu_millis == 2000u);
  for (const char* none : {R"("cpu": 0)", R"("cpu": null)", ""}) {
    auto r = ParseDeployRequest(DeployBody(none));
    REQUIRE(r.ok());
    CHECK(r->patch.cpu_millis.value_or(0) == 0);
  }
  CHECK(ErrorOf(R"("cpu": "2")") == "'cpu' must be a number of CPUs, e.g. 0.5 or 2");
  CHECK(ErrorOf(R"("cpu": -1)") == "'cpu' must be a number of CPUs, e.g. 0.5 or 2");
  CHECK(ErrorOf(R"("cpu": 1e30)") == "'cpu' must be a number of CPUs, e.g. 0.5 or 2");
  // Too small to be a quota, or more than the range allows: the configuration's own rule.
  CHECK(ErrorOf(R"("cpu": 0.0001)") == "cpu must be between 0.01 and 64 CPUs, got 0.001");
  CHECK(ErrorOf(R"("cpu": 65)") == "cpu must be between 0.01 and 64 CPUs, got 65");
}

TEST_CASE("A deploy body that is not an object with files is refused", "[api]") {
  for (const char* body :
       {"", "[]", "{", R"({"files": {}})", R"({"files": {"a": 1}})", R"({"files": {"a": "!!"}})",
        R"({"runtime": "cpp", "files": {"a.cc": "", "b.cc": ""}})",
        R"({"runtime": "v8", "files": {"a": ""}, "entry": "b"})",
        R"({"runtime": "py", "files": {"a": ""}})"}) {
    INFO(body);
    auto r = ParseDeployRequest(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("A deploy without runtime or entry gets them as Lambda would", "[api]") {
  // C++ by the entry's extension, else Node.js; "js" names Node.js.
  CHECK(ParseDeployRequest(R"({"files": {"fn.cc": ""}})")->runtime == Runtime::kCpp);
  CHECK(ParseDeployRequest(R"({"runtime": "js", "files": {"a.mjs": ""}})")->runtime ==
        Runtime::kNode);
  CHECK(ParseDeployRequest(R"({"runtime": "v8", "files": {"a.mjs": ""}})")->runtime ==
        Runtime::kV8);
  // Several files: package.json's "main", else index.handler, which the worker resolves.
  auto main = ParseDeployRequest(
      R"({"files": {"package.json": "eyJtYWluIjogIi4vc3JjL2FwcCJ9", "src/app.js": ""}})");
  REQUIRE(main.ok());  // package.json: {"main": "./src/app"}
  CHECK(main->entry == "src/app.js");
  auto lambda = ParseDeployRequest(R"({"files": {"index.js": "", "lib.js": ""}})");
  REQUIRE(lambda.ok());
  CHECK(lambda->runtime == Runtime::kNode);
  CHECK(lambda->entry == "index.handler");
  CHECK(ParseDeployRequest(R"({"files": {"app.js": ""}, "entry": "app.main"})")->entry ==
        "app.main");
}

TEST_CASE("Schedule and subscription bodies name valid functions and topics", "[api]") {
  auto s = ParseScheduleRequest(R"({"function": "f", "schedule": "@daily", "payload": {"a": 1}})");
  REQUIRE(s.ok());
  CHECK(s->function == "f");
  CHECK(s->schedule == "@daily");
  CHECK(s->payload == R"({"a":1})");
  CHECK(ParseScheduleRequest(R"({"function": "f", "schedule": "@daily"})")->payload == "{}");
  CHECK_FALSE(ParseScheduleRequest(R"({"function": "F!", "schedule": "@daily"})").ok());
  CHECK_FALSE(ParseScheduleRequest(R"({"function": "f", "schedule": 5})").ok());
  auto sub = ParseSubscriptionRequest(R"({"topic": "orders.new", "function": "ship"})");
  REQUIRE(sub.ok());
  CHECK(sub->topic == "orders.new");
  CHECK_FALSE(ParseSubscriptionRequest(R"({"topic": "a b", "function": "ship"})").ok());
  CHECK_FALSE(ParseSubscriptionRequest("[1]").ok());
}

TEST_CASE("An event is its body when that is JSON within the limit", "[api]") {
  CHECK(*EventPayload("", 10) == "{}");
  CHECK(*EventPayload("[1,2]", 10) == "[1,2]");
  CHECK(EventPayload("{", 10).status().code() == Code::kInvalidArgument);
  CHECK(EventPayload("[1,2,3,4,5,6]", 10).status().code() == Code::kPayloadTooLarge);
}

TEST_CASE("Settings apply over the current configuration and keep what they do not name", "[api]") {
  FunctionConfig live;
  live.memory_mb = 256;
  live.timeout_ms = 10'000;
  live.env = {{"K", "V"}, {"OLD", "1"}};
  auto patch =
      ParseConfigPatch(R"({"timeout_ms": 3000, "env_set": {"J": "2"}, "env_unset": ["OLD"]})");
  REQUIRE(patch.ok());
  auto config = ApplyConfigPatch(live, *patch);
  REQUIRE(config.ok());
  CHECK(config->memory_mb == 256);
  CHECK(config->timeout_ms == 3000);
  CHECK(config->env == std::vector<EnvVar>{{"K", "V"}, {"J", "2"}});
  // A body of settings alone: code is deployed with PUT, and numbers are checked as in a deploy.
  CHECK(ParseConfigPatch(R"({"files": {}})").status().message() ==
        "'files' is code: deploy it with PUT /v1/functions/NAME");
  CHECK(ParseConfigPatch(R"({"memory_mb": -1})").status().message() ==
        "memory_mb must be a whole number between 0 and 4294967295, got -1");
  CHECK_FALSE(ParseConfigPatch("[]").ok());
}
