// How a worker's RESULT becomes the caller's HTTP response and the meter's outcome.
#include "scheduler/app/result_response.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace flint::scheduler {

TEST_CASE("A function's response passes through without hop-by-hop headers", "[result]") {
  protocol::InvokeResult result;
  result.status = 201;
  result.body = "made";
  result.headers = {
      {"Content-Type", "text/plain"}, {"Content-Length", "1"},   {"Transfer-Encoding", "chunked"},
      {"Connection", "close"},        {"Keep-Alive", "5"},       {"Upgrade", "h2"},
      {"Date", "yesterday"},          {"X-Custom", "Kept As Is"}};
  HttpResponse r = ResponseFromResult(std::move(result));
  CHECK(r.status == 201);
  CHECK(r.body == "made");
  REQUIRE(r.headers.size() == 2);
  CHECK(r.headers[0] == HttpHeader{"content-type", "text/plain"});
  CHECK(r.headers[1] == HttpHeader{"x-custom", "Kept As Is"});
}

TEST_CASE("A failed invocation becomes flintd's JSON error with the outcome's code", "[result]") {
  auto check = [](protocol::Outcome outcome, int status, const char* code, const char* type) {
    protocol::InvokeResult result;
    result.outcome = outcome;
    result.error_type = outcome == protocol::Outcome::kError ? "RangeError" : "";
    result.error_message = "what happened";
    HttpResponse r = ResponseFromResult(std::move(result));
    INFO(r.body);
    CHECK(r.status == status);
    auto error = nlohmann::json::parse(r.body)["error"];
    CHECK(error["code"] == code);
    CHECK(error["message"] == "what happened");
    if (type == nullptr) {
      CHECK_FALSE(error.contains("type"));
    } else {
      CHECK(error["type"] == type);
    }
  };
  check(protocol::Outcome::kError, 500, "function_error", "RangeError");
  check(protocol::Outcome::kTimeout, 504, "function_timeout", nullptr);
  check(protocol::Outcome::kOutOfMemory, 502, "function_crashed", "OutOfMemory");
}

TEST_CASE("Each RESULT outcome has its meter outcome", "[result]") {
  CHECK(MeterOutcome(protocol::Outcome::kOk) == meter::Outcome::kOk);
  CHECK(MeterOutcome(protocol::Outcome::kError) == meter::Outcome::kError);
  CHECK(MeterOutcome(protocol::Outcome::kTimeout) == meter::Outcome::kTimeout);
  CHECK(MeterOutcome(protocol::Outcome::kOutOfMemory) == meter::Outcome::kOom);
}

}  // namespace flint::scheduler
