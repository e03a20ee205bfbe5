// HttpClient: a blocking HTTP/1.1 client for the CLI and tests, on libcurl.
//
// One client talks to one server (an "http://host:port" or "https://host:port" URL) and keeps
// its connection open between requests when the server allows (keep-alive); libcurl sends a
// request again on a fresh connection when the server had closed an idle one. https (with the
// system's certificate authorities) and proxies from the environment (`https_proxy`,
// `http_proxy`, `no_proxy`) come with libcurl; a server on the loopback interface is never
// reached through a proxy. Every step is bounded: connecting by `connect_timeout_ms`; after
// that, the exchange fails when no byte moves either way for `io_timeout_ms` (rounded up to
// whole seconds), so a long upload or a server busy compiling is fine while a silent one is not.
//
// Errors are Statuses, never exceptions: kUnavailable when the server cannot be reached (the
// message is the reason alone, e.g. "connection refused", so callers can name the server),
// kRequestTimeout when it stops answering, kIo for a broken or malformed exchange,
// kInvalidArgument for a request that cannot be sent. Any HTTP status is a successful exchange.
//
// Not thread-safe: use one client per thread. libcurl stays inside this module (linked
// PRIVATE): nothing above it sees its headers.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sdk/client/http_message.h"
#include "sdk/core/status.h"

namespace flint::client {

// A parsed "http[s]://host[:port][/prefix]" URL.
struct HttpUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;
  std::string path_prefix;  // "" or "/prefix" without a trailing '/'
  bool tls = false;         // https

  // "http://127.0.0.1:8080" (brackets around IPv6; the prefix appended).
  std::string ToString() const;
};

// Accepts "http://host", "https://host:port", "http://[::1]:port", an optional path prefix
// and surrounding whitespace (flintd.url ends with a newline). Rejects anything else.
Result<HttpUrl> ParseHttpUrl(std::string_view text);

// Percent-encodes every byte except RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~):
// one path segment or one query key or value.
std::string PercentEncode(std::string_view text);

// "/seg/seg?key=value&..." with every segment, key and value percent-encoded. Pairs with an
// empty value are left out.
std::string BuildTarget(std::initializer_list<std::string_view> segments,
                        const std::vector<std::pair<std::string, std::string>>& query = {});

// How far an exchange is, for a progress display. Totals are 0 while unknown.
struct TransferProgress {
  uint64_t upload_total = 0;
  uint64_t uploaded = 0;
  uint64_t download_total = 0;
  uint64_t downloaded = 0;
};
// Called on the calling thread during Send, at least about once a second.
using ProgressFn = std::function<void(const TransferProgress&)>;

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
  // Progress of every following Send; an empty function turns it off.
  void set_progress(ProgressFn progress) { progress_ = std::move(progress); }

 private:
  struct Handle;  // libcurl's easy handle, kept between requests for its connection

  HttpUrl url_;
  HttpClientOptions options_;
  ProgressFn progress_;
  std::unique_ptr<Handle> handle_;
};

// Ok when `request` can be sent as given: a method token, a target starting with '/' without
// spaces or control bytes, header names that are tokens, values without CR, LF or NUL, and none
// of the headers the client sets itself (Host, Content-Length, Connection, Transfer-Encoding).
Status ValidateRequest(const HttpRequest& request);

}  // namespace flint::client
