#include "sdk/core/text.h"

#include <catch2/catch.hpp>

using namespace flint;

TEST_CASE("Function names follow [a-z0-9][a-z0-9-]{0,62}", "[names]") {
  CHECK(IsValidFunctionName("hello"));
  CHECK(IsValidFunctionName("a"));
  CHECK(IsValidFunctionName("json-transform-2"));
  CHECK(IsValidFunctionName("0abc"));
  CHECK(IsValidFunctionName(std::string(63, 'a')));
  CHECK_FALSE(IsValidFunctionName(""));
  CHECK_FALSE(IsValidFunctionName("-abc"));
  CHECK_FALSE(IsValidFunctionName("Hello"));
  CHECK_FALSE(IsValidFunctionName("a_b"));
  CHECK_FALSE(IsValidFunctionName("a/b"));
  CHECK_FALSE(IsValidFunctionName("a.b"));
  CHECK_FALSE(IsValidFunctionName(std::string(64, 'a')));
  auto s = ValidateFunctionName("Bad Name");
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message().find("'Bad Name'") != std::string::npos);
}

TEST_CASE("Durations parse with units and reject nonsense", "[duration]") {
  CHECK(ParseDurationMs("250ms").value() == 250);
  CHECK(ParseDurationMs("3s").value() == 3000);
  CHECK(ParseDurationMs("1.5s").value() == 1500);
  CHECK(ParseDurationMs("10m").value() == 600000);
  CHECK(ParseDurationMs("1h").value() == 3600000);
  CHECK(ParseDurationMs("3000").value() == 3000);
  for (const char* bad : {"", "s", "-1s", "3x", "1e9h", "abc", "1.2.3s"}) {
    CHECK_FALSE(ParseDurationMs(bad).ok());
  }
  CHECK(FormatDurationMs(3000) == "3s");
  CHECK(FormatDurationMs(600000) == "10m");
  CHECK(FormatDurationMs(250) == "250ms");
}

TEST_CASE("Status codes map to names and HTTP statuses from one table", "[status]") {
  CHECK(CodeName(Code::kNotFound) == "not_found");
  CHECK(CodeHttpStatus(Code::kNotFound) == 404);
  CHECK(CodeHttpStatus(Code::kFunctionTimeout) == 504);
  Status s = NotFound("function 'x' does not exist");
  CHECK(s.ToString() == "not_found: function 'x' does not exist");
  Result<int> r = s;
  CHECK_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotFound);
}

#include "sdk/core/base64.h"

TEST_CASE("Base64 round-trips every length and rejects bad characters", "[base64]") {
  std::string bytes;
  for (int n = 0; n < 40; ++n) {
    auto back = Base64Decode(Base64Encode(bytes));
    REQUIRE(back.ok());
    CHECK(*back == bytes);
    bytes += static_cast<char>(n * 37);
  }
  CHECK(Base64Encode("hello") == "aGVsbG8=");
  CHECK(Base64Decode("aGVsbG8").value() == "hello");
  CHECK_FALSE(Base64Decode("aGV*bG8=").ok());
  CHECK_FALSE(Base64Decode("a").ok());
}
