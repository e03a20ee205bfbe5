// The pure pieces of the Lambda event: UTF-8 validation, percent-decoding, time format, JSON.
#include "runtime/api/lambda_event.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace flint::runtime {
namespace {

TEST_CASE("IsValidUtf8 accepts well-formed UTF-8 only", "[event]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("h\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\xFF"));
  CHECK_FALSE(IsValidUtf8("\xC3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xE2\x28\xA1"));      // bad continuation
}

TEST_CASE("PercentDecode decodes escapes and keeps malformed ones", "[event]") {
  CHECK(PercentDecode("a%20b+c", true) == "a b c");
  CHECK(PercentDecode("a%20b+c", false) == "a b+c");
  CHECK(PercentDecode("%E2%82%ac", true) == "\xE2\x82\xAC");
  CHECK(PercentDecode("100%", true) == "100%");
  CHECK(PercentDecode("%zz%4", true) == "%zz%4");
}

TEST_CASE("FormatLambdaTime uses Lambda's requestContext.time layout", "[event]") {
  CHECK(FormatLambdaTime(0) == "01/Jan/1970:00:00:00 +0000");
  CHECK(FormatLambdaTime(1710270238999) == "12/Mar/2024:19:03:58 +0000");
}

TEST_CASE("AppendJsonString escapes quotes, backslashes and control characters", "[event]") {
  std::string out;
  AppendJsonString(&out, std::string("a\"b\\c\n\x01\xC3\xA9", 9));
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001\xC3\xA9\"");
  CHECK(nlohmann::json::parse(out) == std::string("a\"b\\c\n\x01\xC3\xA9", 9));
}

TEST_CASE("BuildHttpEventJson produces valid JSON even from hostile input", "[event]") {
  protocol::InvokeRequest request;
  request.method = "GET";
  request.raw_path = "/\"quoted\"\\path";
  request.raw_query = "k%22=%0A&=empty&&x";
  request.headers = {{"x-evil", "a\"b\\c"}, {"cookie", ";;  ;"}};
  nlohmann::json e = nlohmann::json::parse(BuildHttpEventJson(request, "fn"));
  CHECK(e["rawPath"] == "/\"quoted\"\\path");
  CHECK(e["queryStringParameters"]["k\""] == "\n");
  CHECK(e["queryStringParameters"][""] == "empty");
  CHECK(e["queryStringParameters"]["x"] == "");
  CHECK(e["headers"]["x-evil"] == "a\"b\\c");
  CHECK_FALSE(e.contains("cookies"));  // only empty pieces
}

}  // namespace
}  // namespace flint::runtime
