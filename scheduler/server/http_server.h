// HttpServer: flintd's HTTP/1.1 front door on a libuv loop, parsing with HttpRequestParser
// (http_parser.h).
//
// It accepts TCP connections, parses requests under limits (header bytes and count, a body limit
// chosen per request, header/body/idle timeouts), and hands each complete request to the Handler
// together with an HttpResponder. HTTP/1.1 and 1.0 keep-alive rules apply (1.0 closes unless the
// client asks for keep-alive). Requests on one connection are answered in order: after a complete
// request, parsing pauses until that request is answered; bytes of pipelined requests received
// meanwhile stay buffered. Responses produced while one read is being parsed leave in one write.
// Every error the server answers itself (400, 408, 413, 431, and 500 for a dropped responder) has
// an ErrorResponse body; after any of them but the 500, and after a BodyLimit refusal, the
// connection is closed, since the stream may no longer be in sync.
//
// Threads: loop thread only, for every class here. The process must ignore SIGPIPE (flintd's
// main does), as libuv writes with plain write(2).
//
// A client's EOF ends its connection, even a half-close after a complete request (as Node's
// default): a response still owed then finds no client, and its Send is a no-op.
//
// Ownership: the server owns its connections. An HttpResponder refers to its connection weakly
// and by request number, so it may outlive the connection and even the server: answering a
// client that left is a safe no-op. The Handler and BodyLimit callbacks must not destroy the
// server while they run.
#pragma once

#include <uv.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "scheduler/server/http_parser.h"
#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct HttpResponse {
  int status = 200;  // 200..999; anything else is answered as 500 (and logged)
  // The server adds content-length, date and (when closing, or for HTTP/1.0 keep-alive)
  // connection itself; headers of those names here, and headers whose name or value contains
  // CR, LF or NUL, are dropped, so a function cannot break the framing of the connection.
  std::vector<HttpHeader> headers;
  std::string body;  // not sent for HEAD (content-length still gives its size), 204 and 304
};

// The JSON error every Flint error response uses:
// {"error":{"code":"not_found","message":"..."}} with CodeHttpStatus(status.code()) and
// content-type application/json. Every 503 (Code::kUnavailable: a condition that clears, such
// as a full disk or a locked database) carries Retry-After: kRetryAfterSeconds; SetRetryAfter
// gives a better estimate where the caller has one.
inline constexpr uint32_t kRetryAfterSeconds = 5;
HttpResponse ErrorResponse(const Status& status);
// Sets the response's Retry-After to `seconds`, replacing one already there.
void SetRetryAfter(HttpResponse& response, uint32_t seconds);

namespace detail {
struct HttpConnection;
}

// Answers one request. Move-only. Send() at most once (a second Send is a no-op); after the
// client went away it is a silent no-op, which alive() predicts. Destroyed without Send while its
// connection lives, it answers 500 and logs an error (a bug in the caller).
class HttpResponder {
 public:
  HttpResponder() = default;
  HttpResponder(HttpResponder&& other) noexcept;
  HttpResponder& operator=(HttpResponder&& other) noexcept;
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;
  ~HttpResponder();

  void Send(HttpResponse&& response);
  // True while Send would still reach the client.
  bool alive() const;

 private:
  friend struct detail::HttpConnection;
  HttpResponder(std::weak_ptr<detail::HttpConnection> connection, uint64_t request_number);
  // The connection if this responder's request is still the one it waits to answer.
  std::shared_ptr<detail::HttpConnection> Target() const;

  std::weak_ptr<detail::HttpConnection> connection_;
  uint64_t request_number_ = 0;
};

class HttpServer {
 public:
  struct Options {
    size_t max_header_bytes = 16 * 1024;      // request line + headers; beyond: 431
    size_t max_headers = 100;                 // beyond: 431
    size_t max_body_bytes = 6 * 1024 * 1024;  // unless BodyLimit says otherwise; beyond: 413
    uint64_t header_timeout_ms = 10'000;      // first byte to complete headers; beyond: 408
    uint64_t body_timeout_ms = 30'000;        // complete headers to complete body; beyond: 408
    // A keep-alive connection with no request in progress is closed silently after this long;
    // it also bounds how long a client may take to read a response.
    uint64_t idle_timeout_ms = 60'000;
    size_t max_connections = 10'000;  // beyond: new connections are closed at once
  };
  // Called on the loop thread for each complete request; may Send at once or later.
  using Handler = std::function<void(HttpRequest&& request, HttpResponder responder)>;
  // Called once the headers are complete (the body is still empty): the body limit for this
  // request, e.g. larger for deploys, or the response that refuses the request at once, before
  // its body is read (e.g. 401 for a missing token, 429 over a rate limit); the connection is
  // closed after a refusal.
  using BodyLimit =
      std::function<std::variant<size_t, HttpResponse>(const HttpRequest& request_without_body)>;

  HttpServer(uv_loop_t* loop, Options options, Handler handler, BodyLimit body_limit = nullptr);
  // Closes every connection at once (responses in flight are lost); responders stay safe.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds (SO_REUSEADDR) and listens; `host` is an IPv4 or IPv6 address; port 0 picks a free
  // port (see port()).
  Status Listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // A header added to every response (e.g. a warning).
  void AddDefaultHeader(std::string name, std::string value);
  // Stops accepting, closes idle connections at once, lets requests in flight (and requests
  // whose headers have begun arriving) finish with `connection: close`, and calls `done` once,
  // never before Shutdown returns, when every connection is closed, or after `grace_ms`, when
  // the rest are closed by force. Call at most once.
  void Shutdown(uint64_t grace_ms, std::function<void()> done);

  size_t connection_count() const { return connections_.size(); }
  uint64_t requests_served() const { return requests_served_; }

 private:
  friend struct detail::HttpConnection;
  static void OnConnection(uv_stream_t* server, int status) noexcept;
  void Accept();
  void Forget(detail::HttpConnection* connection);
  void MaybeFinishShutdown();
  // The Date header's value, formatted at most once per second.
  const std::string& HttpDate();

  uv_loop_t* loop_;
  Options options_;
  Handler handler_;
  BodyLimit body_limit_;
  uv_tcp_t* listener_ = nullptr;
  uint16_t port_ = 0;
  std::vector<HttpHeader> default_headers_;
  std::unordered_map<detail::HttpConnection*, std::shared_ptr<detail::HttpConnection>> connections_;
  uint64_t requests_served_ = 0;
  bool draining_ = false;
  std::function<void()> shutdown_done_;
  std::unique_ptr<loop::Timer> grace_timer_;
  // Every connection reads into this buffer: a read is parsed before the next one, and only
  // the unparsed rest is copied into the connection.
  std::unique_ptr<char[]> read_buffer_;
  std::string date_;
  time_t date_second_ = 0;
};

}  // namespace flint::scheduler
