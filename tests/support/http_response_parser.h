// HttpResponseParser: turns the bytes of one HTTP/1.1 response into an HttpResponse, using
// llhttp in response mode. For tests that read responses from non-blocking sockets between
// turns of a libuv loop (tests/unit/scheduler/app/test_http.h); clients use sdk/client. Handles
// Content-Length, chunked and read-until-close bodies, and skips interim 1xx responses.
//
// Usage: Feed() bytes as they arrive until it reports the message complete, or call Finish()
// when the peer closed the connection. A parser serves one response; call Reset() before the
// next one on the same connection. Not thread-safe; owns no I/O.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "sdk/client/http_message.h"
#include "sdk/core/status.h"

namespace flint::testing {

using client::HttpResponse;

class HttpResponseParser {
 public:
  // `max_body_bytes` bounds the body kept in memory; a larger body is an error.
  explicit HttpResponseParser(size_t max_body_bytes = 256u << 20);
  ~HttpResponseParser();
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Prepares for the next response. `head_request`: the response to a HEAD has no body.
  void Reset(bool head_request = false);

  // Parses `bytes`. Sets *complete once the whole response has been seen; bytes after the end
  // of the response are ignored (the client never pipelines). Malformed input is an error.
  Status Feed(std::string_view bytes, bool* complete);
  // The peer closed the connection: completes a read-until-close body, or fails when the
  // response is truncated.
  Status Finish(bool* complete);

  // True when the connection may carry another request after this response.
  bool keep_alive() const;
  // True once any byte of the response has been parsed.
  bool started() const { return started_; }
  const HttpResponse& response() const { return response_; }
  HttpResponse TakeResponse() { return std::move(response_); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  HttpResponse response_;
  bool started_ = false;
};

}  // namespace flint::testing
