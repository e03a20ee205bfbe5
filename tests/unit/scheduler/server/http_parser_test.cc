#include "scheduler/server/http_parser.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace flint::scheduler;
using flint::Code;

namespace {

// Records what the parser reports; every body may be `body_limit` bytes.
struct Recorder : HttpRequestParser::Listener {
  explicit Recorder(size_t limit = 1024) : body_limit(limit) {}
  void OnRequestBegin() override { begun++; }
  flint::Result<size_t> BodyLimit(HttpRequest& request) override {
    request.peer_ip = "10.0.0.1";
    return body_limit;
  }
  void OnHeadersAccepted(bool has_body, bool send_continue) override {
    bodies.push_back(has_body);
    continues.push_back(send_continue);
  }
  size_t body_limit;
  int begun = 0;
  std::vector<bool> bodies, continues;
};

// Feeds `stream` in reads of `read_size` bytes; returns the requests, stopping at an error.
std::vector<HttpRequest> ParseAll(HttpRequestParser& parser, const std::string& stream,
                                  size_t read_size, flint::Status* error = nullptr) {
  std::vector<HttpRequest> out;
  for (size_t at = 0; at < stream.size(); at += read_size) {
    std::string chunk = stream.substr(at, read_size);
    size_t used = 0;
    while (used < chunk.size()) {
      auto step = parser.Execute(chunk.data() + used, chunk.size() - used);
      used += step.consumed;
      if (step.event == HttpRequestParser::Event::kError) {
        if (error != nullptr) *error = parser.error();
        return out;
      }
      if (step.event == HttpRequestParser::Event::kRequest) out.push_back(parser.request());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("HttpRequestParser splits pipelined requests, however the bytes arrive", "[http]") {
  const std::string stream =
      "GET /fn/a?x=1 HTTP/1.1\r\nHost: h\r\nX-Trim:  v  \r\n\r\n"
      "POST /fn/b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "PUT /v1/functions/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
  for (size_t read_size : {size_t{1}, size_t{7}, stream.size()}) {
    INFO("reads of " << read_size);
    Recorder recorder;
    HttpRequestParser parser({}, &recorder);
    auto requests = ParseAll(parser, stream, read_size);
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].method == "GET");
    CHECK(requests[0].path == "/fn/a");
    CHECK(requests[0].query == "x=1");
    CHECK(*requests[0].FindHeader("x-trim") == "v");
    CHECK(requests[0].peer_ip == "10.0.0.1");
    CHECK(requests[1].body == "abc");
    CHECK(requests[2].method == "PUT");
    CHECK(requests[2].body == "hi");
    CHECK(recorder.begun == 3);
    CHECK(recorder.bodies == std::vector<bool>{false, true, true});
  }
}

TEST_CASE("HttpRequestParser enforces its limits and stops after an error", "[http]") {
  Recorder recorder(4);
  HttpRequestParser::Limits limits;
  limits.max_header_bytes = 64;
  limits.max_headers = 2;
  flint::Status error;
  {
    HttpRequestParser parser(limits, &recorder);
    ParseAll(parser, "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", 1000, &error);
    CHECK(error.code() == Code::kHeadersTooLarge);
    CHECK(parser.Execute("GET / HTTP/1.1\r\n\r\n", 18).event == HttpRequestParser::Event::kError);
  }
  {
    HttpRequestParser parser(limits, &recorder);
    ParseAll(parser, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 1000, &error);
    CHECK(error.message() == "more than 2 headers");
  }
  {
    HttpRequestParser parser(limits, &recorder);
    ParseAll(parser, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", 1000, &error);
    CHECK(error.code() == Code::kPayloadTooLarge);
  }
  {
    HttpRequestParser parser(limits, &recorder);
    ParseAll(parser, "GET / HTTP/2.0\r\n\r\n", 1000, &error);
    CHECK(error.code() == Code::kInvalidArgument);
  }
  {
    HttpRequestParser parser(limits, &recorder);
    ParseAll(parser, "\x01garbage\r\n\r\n", 1000, &error);
    CHECK(error.message().rfind("malformed HTTP request: ", 0) == 0);
  }
}

TEST_CASE("HttpRequestParser asks for 100 Continue only for an HTTP/1.1 body", "[http]") {
  Recorder recorder;
  HttpRequestParser parser({}, &recorder);
  auto requests = ParseAll(parser,
                           "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"
                           "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"
                           // HTTP/1.0 without keep-alive: the last request of the connection.
                           "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
                           1000);
  REQUIRE(requests.size() == 3);
  CHECK(recorder.continues == std::vector<bool>{true, false, false});
  CHECK(parser.http10());
  CHECK_FALSE(parser.keep_alive());
  flint::Status error;
  HttpRequestParser other({}, &recorder);
  ParseAll(other, "GET / HTTP/1.1\r\nExpect: coffee\r\n\r\n", 1000, &error);
  CHECK(error.message() == "unsupported expectation: Expect: coffee");
}
