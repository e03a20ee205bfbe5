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
  CHECK(ParseDurationMs("3000ms").value() == 3000);
  for (const char* bad : {"", "s", "-1s", "3x", "1e9h", "abc", "1.2.3s"}) {
    CHECK_FALSE(ParseDurationMs(bad).ok());
  }
  CHECK(FormatDurationMs(3000) == "3s");
  CHECK(FormatDurationMs(600000) == "10m");
  CHECK(FormatDurationMs(250) == "250ms");
}

TEST_CASE("A bare number of a duration is seconds, as Lambda's timeout is", "[duration]") {
  CHECK(ParseDurationMs("3").value() == 3000);
  CHECK(ParseDurationMs("0.5").value() == 500);
  CHECK(ParseDurationMs("900").value() == 900000);
}

TEST_CASE("PercentDecode decodes escapes and keeps stray percent signs", "[text]") {
  CHECK(flint::PercentDecode("bad%20topic%21") == "bad topic!");
  CHECK(flint::PercentDecode("a%3Fb%2fc") == "a?b/c");
  CHECK(flint::PercentDecode("100%") == "100%");
  CHECK(flint::PercentDecode("%zz%4") == "%zz%4");
  CHECK(flint::PercentDecode("a+b") == "a+b");
  CHECK(flint::PercentDecode("a+b", /*plus_is_space=*/true) == "a b");
}

TEST_CASE("Memory sizes take MB or a unit in either case", "[memory]") {
  CHECK(ParseMemoryMb("512").value() == 512);
  CHECK(ParseMemoryMb("512M").value() == 512);
  CHECK(ParseMemoryMb("512mb").value() == 512);
  CHECK(ParseMemoryMb("512MiB").value() == 512);
  CHECK(ParseMemoryMb("1g").value() == 1024);
  CHECK(ParseMemoryMb("1G").value() == 1024);
  CHECK(ParseMemoryMb("4GB").value() == 4096);
  CHECK(ParseMemoryMb("1.5Gi").value() == 1536);
  for (const char* bad : {"", "0", "0.5", "1.3M", "G", "12 M", "1T", "-1", "1e3"}) {
    INFO(bad);
    CHECK_FALSE(ParseMemoryMb(bad).ok());
  }
  CHECK(ParseMemoryMb("1k").status().message().find("512M, 1G") != std::string::npos);
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
