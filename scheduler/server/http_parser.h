// HttpRequestParser: HTTP/1.1 requests from a byte stream, under limits, with llhttp. No sockets
// and no loop: HttpServer feeds it what a connection receives, and so can a test or a fuzzer.
//
// Feed bytes with Execute(). It stops after each complete request (the request is then in
// request(), de-chunked, with lower-cased header names and trimmed values) so that requests of
// one connection are answered in order; the next Execute() goes on with the bytes after it.
// Every malformed request and every broken limit (request line and headers beyond
// max_header_bytes or max_headers: 431; a body beyond the limit Listener::BodyLimit returns: 413;
// whatever error Listener::BodyLimit returns instead of a limit;
// an HTTP version other than 1.x or an unsupported Expect: 400) is an error; after an error
// the stream cannot be trusted and the parser parses nothing more.
//
// Thread rules: one thread at a time (a connection's). The listener is called from inside
// Execute() and must outlive the parser.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

using HttpHeader = std::pair<std::string, std::string>;

struct HttpRequest {
  std::string method;               // "GET", upper-case as received
  std::string target;               // raw request-target, e.g. "/fn/hello/x?y=1"
  std::string path;                 // target up to '?', still percent-encoded
  std::string query;                // after '?', without it ("" if none)
  std::vector<HttpHeader> headers;  // names lower-cased, arrival order, values trimmed
  std::string body;                 // de-chunked
  std::string peer_ip;              // "127.0.0.1"
  uint64_t received_at_ms = 0;      // wall clock (epoch ms) when the headers were complete
  uint64_t received_at_ns = 0;      // uv_hrtime() at the same moment, for latency

  // The first header named `lower_name`, or nullptr.
  const std::string* FindHeader(std::string_view lower_name) const;
};

class HttpRequestParser {
 public:
  struct Limits {
    size_t max_header_bytes = 16 * 1024;  // request line + headers
    size_t max_headers = 100;
  };

  class Listener {
   public:
    virtual ~Listener() = default;
    // The first byte of a request arrived.
    virtual void OnRequestBegin() = 0;
    // The request line and headers are complete; the body is still empty. The listener may
    // fill in what the parser cannot know (peer_ip, received_at_*). Returns the largest body
    // this request may have, or an error that refuses the request before its body is read
    // (it becomes error(), as any other).
    virtual Result<size_t> BodyLimit(HttpRequest& request) = 0;
    // The headers passed every check: the body follows if `has_body`; `send_continue`: the
    // client waits for "100 Continue" before it sends it.
    virtual void OnHeadersAccepted(bool has_body, bool send_continue) = 0;
  };

  enum class Event {
    kNeedMore,  // every byte given was consumed; no complete request yet
    kRequest,   // a request is complete: request(); `consumed` stops right after it
    kError,     // malformed or over a limit: error(); nothing more is parsed
  };
  struct Step {
    Event event;
    size_t consumed;
  };

  HttpRequestParser(Limits limits, Listener* listener);
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Parses `data` up to the end of the next complete request, or to its end.
  Step Execute(const char* data, size_t size);

  // The request being parsed, or the one just completed (move it out after kRequest).
  HttpRequest& request();
  // After kError: why (InvalidArgument, kHeadersTooLarge or kPayloadTooLarge, or the listener's
  // refusal; kInternal when memory ran out).
  const Status& error() const;
  // Of the request being parsed or just completed:
  bool http10() const;      // HTTP/1.0 (valid once its headers are complete)
  bool is_head() const;     // a HEAD request (valid once its headers are complete)
  bool keep_alive() const;  // whether the connection may carry another request (after kRequest)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::scheduler
