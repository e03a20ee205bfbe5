#include "tests/support/http_response_parser.h"

#include <catch2/catch.hpp>
#include <string>

using flint::testing::HttpResponseParser;

namespace {

// Feeds `wire` one byte at a time (the hardest split) and reports completion.
bool FeedBytewise(HttpResponseParser& parser, const std::string& wire) {
  bool complete = false;
  for (char c : wire) {
    REQUIRE(parser.Feed(std::string_view(&c, 1), &complete).ok());
    if (complete) break;
  }
  return complete;
}

}  // namespace

TEST_CASE("HttpResponseParser reads a Content-Length response", "[client][parser]") {
  HttpResponseParser parser;
  bool complete = false;
  std::string wire =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
      "7\r\n\r\n{\"a\":1}";
  REQUIRE(parser.Feed(wire, &complete).ok());
  REQUIRE(complete);
  CHECK(parser.response().status == 201);
  CHECK(parser.response().reason == "Created");
  CHECK(parser.response().body == "{\"a\":1}");
  REQUIRE(parser.response().FindHeader("content-type") != nullptr);
  CHECK(*parser.response().FindHeader("CONTENT-TYPE") == "application/json");
  CHECK(parser.keep_alive());
}

TEST_CASE("HttpResponseParser reads a chunked response split byte by byte", "[client][parser]") {
  HttpResponseParser parser;
  std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Flint-Request-Id: r1\r\n\r\n"
      "5\r\nHello\r\n8\r\n, world!\r\n0\r\n\r\n";
  REQUIRE(FeedBytewise(parser, wire));
  CHECK(parser.response().body == "Hello, world!");
  CHECK(*parser.response().FindHeader("x-flint-request-id") == "r1");
  CHECK(parser.keep_alive());
}

TEST_CASE("HttpResponseParser reads a body delimited by the connection closing",
          "[client][parser]") {
  HttpResponseParser parser;
  bool complete = false;
  REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial", &complete).ok());
  CHECK_FALSE(complete);
  REQUIRE(parser.Feed(" body", &complete).ok());
  CHECK_FALSE(complete);
  REQUIRE(parser.Finish(&complete).ok());
  CHECK(complete);
  CHECK(parser.response().body == "partial body");
  CHECK_FALSE(parser.keep_alive());
}

TEST_CASE("HttpResponseParser skips an interim 100 Continue", "[client][parser]") {
  HttpResponseParser parser;
  bool complete = false;
  REQUIRE(
      parser.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX: y\r\n\r\n", &complete)
          .ok());
  REQUIRE(complete);
  CHECK(parser.response().status == 204);
  CHECK(parser.response().headers.size() == 1);
  CHECK(parser.response().body.empty());
}

TEST_CASE("HttpResponseParser expects no body after HEAD", "[client][parser]") {
  HttpResponseParser parser;
  parser.Reset(/*head_request=*/true);
  bool complete = false;
  REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", &complete).ok());
  CHECK(complete);
  CHECK(parser.response().body.empty());
}

TEST_CASE("HttpResponseParser rejects malformed and truncated responses", "[client][parser]") {
  bool complete = false;
  {
    HttpResponseParser parser;
    flint::Status s = parser.Feed("SMTP ready\r\n\r\n", &complete);
    CHECK(s.code() == flint::Code::kIo);
    CHECK(s.message().find("malformed HTTP response") != std::string::npos);
  }
  {
    HttpResponseParser parser;
    REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &complete).ok());
    flint::Status s = parser.Finish(&complete);
    CHECK_FALSE(complete);
    CHECK(s.message() == "connection closed before the response was complete");
  }
  {
    HttpResponseParser parser;
    CHECK(parser.Finish(&complete).message() == "connection closed before any response");
  }
}

TEST_CASE("HttpResponseParser bounds the body it keeps", "[client][parser]") {
  HttpResponseParser parser(/*max_body_bytes=*/4);
  bool complete = false;
  flint::Status s = parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n12345", &complete);
  CHECK(s.code() == flint::Code::kPayloadTooLarge);
}

TEST_CASE("HttpResponseParser serves several responses after Reset", "[client][parser]") {
  HttpResponseParser parser;
  bool complete = false;
  REQUIRE(parser.Feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", &complete).ok());
  REQUIRE(complete);
  parser.Reset();
  REQUIRE(parser
              .Feed("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 1\r\n\r\nb",
                    &complete)
              .ok());
  REQUIRE(complete);
  CHECK(parser.response().status == 404);
  CHECK(parser.response().body == "b");
  CHECK_FALSE(parser.keep_alive());
}
