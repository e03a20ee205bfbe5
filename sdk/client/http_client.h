// HttpClient: a small blocking HTTP/1.1 client over TCP, for the CLI and tests.
//
// One client talks to one server (an "http://host:port" URL) over at most one connection,
// which it keeps open between requests when the server allows (keep-alive). A request on a
// reused connection that the server had closed meanwhile is retried once on a fresh one. Every
// step is bounded: connecting by `connect_timeout_ms`, each wait for the server (writing the
// request, the next bytes of the response) by `io_timeout_ms`.
//
// Errors are Statuses, never exceptions: kUnavailable when the server cannot be reached (the
// message is the reason alone, e.g. "connection refused", so callers can name the server),
// kRequestTimeout when it stops answering, kIo for a broken or malformed exchange,
// kInvalidArgument for a request that cannot be sent. Any HTTP status is a successful exchange.
//
// Not thread-safe: use one client per thread. No TLS (flintd speaks plain HTTP on localhost).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/client/http_message.h"
#include "sdk/client/http_response_parser.h"
#include "sdk/core/status.h"

namespace flint::client {

// A parsed "http://host[:port][/prefix]" URL.
struct HttpUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;
  std::string path_prefix;  // "" or "/prefix" without a trailing '/'

  // "http://127.0.0.1:8080" (brackets around IPv6; the prefix appended).
  std::string ToString() const;
};

// Accepts "http://host", "http://host:port", "http://[::1]:port", an optional path prefix and
// surrounding whitespace (flintd.url ends with a newline). Rejects https and anything else.
Result<HttpUrl> ParseHttpUrl(std::string_view text);

struct HttpClientOptions {
  uint32_t connect_timeout_ms = 5'000;
  uint32_t io_timeout_ms = 60'000;
  bool keep_alive = true;
  size_t max_response_body_bytes = 256u << 20;
};

class HttpClient {
 public:
  explicit HttpClient(HttpUrl url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` (its target is appended to the URL's path prefix) and reads the response.
  Result<HttpResponse> Send(const HttpRequest& request);
  Result<HttpResponse> Get(std::string target);
  Result<HttpResponse> Post(std::string target, std::string body,
                            std::string content_type = "application/json");

  // Closes the kept-alive connection, if any.
  void Close();

  const HttpUrl& url() const { return url_; }
  const HttpClientOptions& options() const { return options_; }
  void set_io_timeout_ms(uint32_t ms) { options_.io_timeout_ms = ms; }
  // True while a kept-alive connection is open (for tests).
  bool connected() const { return fd_ >= 0; }

 private:
  Status Connect();
  Status WriteAll(std::string_view bytes);
  Status ReadResponse();

  HttpUrl url_;
  HttpClientOptions options_;
  HttpResponseParser parser_;
  int fd_ = -1;
};

// Serializes a request as HttpClient sends it (exposed for tests). Fails on a method, target or
// header that would break the framing (spaces, CR, LF, NUL).
Result<std::string> SerializeRequest(const HttpRequest& request, const HttpUrl& url,
                                     bool keep_alive);

}  // namespace flint::client
