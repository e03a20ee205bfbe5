// HttpServer: flintd's HTTP/1.1 front door on a libuv loop, parsing with llhttp.
//
// It accepts TCP connections, parses requests under limits (header bytes and count, a body limit
// chosen per request, header/body/idle timeouts), and hands each complete request to the Handler
// with an HttpResponder. Requests on one connection are answered in order: parsing of a
// pipelined request waits until the previous response is written. Every error it answers itself
// (400, 408, 413, 431, 505) uses ErrorResponse and closes the connection.
//
// Loop thread only. The server owns its connections; an HttpResponder refers to its connection
// weakly, so answering after the client left is a safe no-op.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

using HttpHeader = std::pair<std::string, std::string>;

struct HttpRequest {
  std::string method;               // "GET", as received
  std::string target;               // raw request-target, e.g. "/fn/hello/x?y=1"
  std::string path;                 // target up to '?', still percent-encoded
  std::string query;                // after '?', without it
  std::vector<HttpHeader> headers;  // names lower-cased, arrival order
  std::string body;                 // de-chunked
  std::string peer_ip;
  uint64_t received_at_ms = 0;  // wall clock when the headers were complete
  uint64_t received_at_ns = 0;  // uv_hrtime() at the same moment

  // The first header named `lower_name`, or nullptr.
  const std::string* FindHeader(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;  // the server adds content-length, date and connection
  std::string body;
};

// The JSON error every Flint error response uses:
// {"error":{"code":"not_found","message":"..."}} with CodeHttpStatus(status.code()).
HttpResponse ErrorResponse(const Status& status);

namespace detail {
struct Connection;
}

// Answers one request. Move-only. Send() at most once; after the client went away it is a no-op.
// Destroyed without Send while its connection lives, it answers 500 (a bug on the caller's side).
class HttpResponder {
 public:
  HttpResponder() = default;
  explicit HttpResponder(std::weak_ptr<detail::Connection> connection);
  HttpResponder(HttpResponder&&) noexcept = default;
  HttpResponder& operator=(HttpResponder&& other) noexcept;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;
  ~HttpResponder();

  void Send(HttpResponse&& response);
  bool alive() const;

 private:
  std::weak_ptr<detail::Connection> connection_;
};

class HttpServer {
 public:
  struct Options {
    size_t max_header_bytes = 16 * 1024;      // request line + headers; beyond: 431
    size_t max_headers = 100;                 // beyond: 431
    size_t max_body_bytes = 6 * 1024 * 1024;  // unless BodyLimit says otherwise; beyond: 413
    uint64_t header_timeout_ms = 10'000;      // first byte to complete headers; beyond: 408
    uint64_t body_timeout_ms = 30'000;        // complete headers to complete body; beyond: 408
    uint64_t idle_timeout_ms = 60'000;        // keep-alive connection without a request: closed
    size_t max_connections = 10'000;          // beyond: new connections are closed at once
  };
  using Handler = std::function<void(HttpRequest&& request, HttpResponder responder)>;
  // Called once the headers are complete: the body limit for this request.
  using BodyLimit = std::function<size_t(const HttpRequest& request_without_body)>;

  HttpServer(uv_loop_t* loop, Options options, Handler handler, BodyLimit body_limit = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks a free port (see port()).
  Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // A header added to every response (e.g. a warning).
  void AddDefaultHeader(std::string name, std::string value);
  // Stops accepting, closes idle connections, lets requests in flight finish (their responses
  // close the connection) and calls `done` once every connection is closed, or after
  // `grace_ms`, when the rest are closed by force.
  void Shutdown(uint64_t grace_ms, std::function<void()> done);

  size_t connection_count() const { return connections_.size(); }
  uint64_t requests_served() const { return requests_served_; }

 private:
  friend struct detail::Connection;
  static void OnConnection(uv_stream_t* server, int status) noexcept;
  void Accept();
  void Forget(detail::Connection* connection);
  void MaybeFinishShutdown();

  uv_loop_t* loop_;
  Options options_;
  Handler handler_;
  BodyLimit body_limit_;
  uv_tcp_t* listener_ = nullptr;
  uint16_t port_ = 0;
  std::vector<HttpHeader> default_headers_;
  std::unordered_map<detail::Connection*, std::shared_ptr<detail::Connection>> connections_;
  uint64_t requests_served_ = 0;
  bool draining_ = false;
  std::function<void()> shutdown_done_;
  std::unique_ptr<loop::Timer> grace_timer_;
};

}  // namespace flint::scheduler
