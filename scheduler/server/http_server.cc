#include "scheduler/server/http_server.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>

#include "sdk/core/clock.h"

namespace flint::scheduler {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
// Received bytes a connection buffers beyond what it can parse (pipelined requests waiting for
// an answer) before it stops reading: bounds memory per connection.
constexpr size_t kMaxPendingInput = 1 << 20;
// Bytes queued in libuv for a client that does not read, beyond which further pipelined
// requests are not parsed (so not answered) until the queue drains.
constexpr size_t kMaxQueuedOutput = 1 << 20;
// Bodies up to this size are copied behind their head into the connection's output buffer: one
// write for the whole response, and pipelined responses batch. Larger ones get their own iovec.
constexpr size_t kInlineBodyMax = 16 * 1024;
// After the last response on a closing connection: how long to read and discard what the client
// still sends, so that unread data does not make the kernel reset the connection (which could
// destroy the response before the client read it).
constexpr uint64_t kLingerMs = 1000;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Headers the server writes itself: a copy from a handler would corrupt the framing.
bool IsReservedHeader(std::string_view name) {
  return IEquals(name, "content-length") || IEquals(name, "transfer-encoding") ||
         IEquals(name, "connection") || IEquals(name, "date");
}

// A name or value with CR, LF or NUL would let a function inject headers or a whole response.
bool IsSafeHeader(std::string_view name, std::string_view value) {
  // A byte loop: find_first_of with a set calls memchr once per byte of the text.
  auto clean = [](std::string_view s) {
    for (char c : s) {
      if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
  };
  return !name.empty() && clean(name) && clean(value);
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void AppendDecimal(std::string& out, uint64_t n) {
  char digits[24];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<size_t>(end - p));
}

uv_stream_t* AsStream(uv_tcp_t* tcp) { return reinterpret_cast<uv_stream_t*>(tcp); }

}  // namespace

HttpResponse ErrorResponse(const Status& status) {
  HttpResponse response;
  response.status = CodeHttpStatus(status.code());
  response.headers.emplace_back("content-type", "application/json");
  nlohmann::json body = {
      {"error", {{"code", std::string(CodeName(status.code()))}, {"message", status.message()}}}};
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (status.code() == Code::kUnavailable) SetRetryAfter(response, kRetryAfterSeconds);
  return response;
}

void SetRetryAfter(HttpResponse& response, uint32_t seconds) {
  std::erase_if(response.headers, [](const HttpHeader& h) { return h.first == "retry-after"; });
  response.headers.emplace_back("retry-after", std::to_string(seconds));
}

namespace detail {

// One client connection. Owned by the server's map while open and, from Close() until libuv's
// close callback, by its own `self` (so libuv never sees a freed handle).
//
// Phases: kIdle (no request begun) -> kHeaders (on_message_begin) -> kBody (headers complete)
// -> kWaitingResponse (request complete, handler called, parsing paused) -> kIdle after the
// response, or kClosing when the response ends the connection.
// Invariant: tcp != nullptr implies server != nullptr (the server closes every connection
// before it goes away).
struct HttpConnection : std::enable_shared_from_this<HttpConnection>, HttpRequestParser::Listener {
  enum class Phase { kIdle, kHeaders, kBody, kWaitingResponse, kClosing };

  HttpConnection(HttpServer* s, uv_loop_t* l)
      : server(s),
        loop(l),
        tcp(new uv_tcp_t),
        timer(l),
        parser({s->options_.max_header_bytes, s->options_.max_headers}, this) {}

  HttpServer* server;
  uv_loop_t* loop;
  uv_tcp_t* tcp;  // nullptr once Close() began
  // One timer serves every deadline. Deadlines move on every request, timers are not re-armed
  // for each: the timer may fire early, and then re-arms itself for the current deadline.
  loop::Timer timer;
  uint64_t deadline = 0;                 // uv_now() at which OnTimer acts on the phase; 0: none
  uint64_t timer_due = 0;                // uv_now() at which the timer fires; 0: not armed
  std::shared_ptr<HttpConnection> self;  // set while the handle is open
  HttpRequestParser parser;
  Phase phase = Phase::kIdle;
  // Counts the requests dispatched; a responder answers only while it holds the current one.
  uint64_t request_number = 0;
  std::string peer_ip;
  std::string pending;  // received bytes not yet parsed
  std::string out;      // serialised responses not yet handed to libuv (keeps its capacity)
  bool keep_alive = true;
  bool http10 = false;
  bool is_head = false;
  bool close_after_response = false;  // set by Shutdown and by errors
  bool close_after_flush = false;     // the last response is in `out`: linger once it is sent
  bool in_parse = false;
  bool reading = false;
  bool lingering = false;
  // What BodyLimit answered instead of a limit, sent by RespondError.
  std::optional<HttpResponse> refusal;

  const HttpServer::Options& options() const { return server->options_; }

  // HttpRequestParser::Listener
  void OnRequestBegin() override;
  Result<size_t> BodyLimit(HttpRequest& request) override;
  void OnHeadersAccepted(bool has_body, bool send_continue) override;

  void Start();
  void StartRead();
  void OnRead(const char* data, size_t size) noexcept;
  // Whether a request may be parsed now (in order, and not ahead of a client that stopped
  // reading its responses).
  bool CanParse() const;
  size_t Execute(const char* data, size_t size);
  void ParsePending();
  void Dispatch();
  void Respond(HttpResponse&& response) noexcept;
  void Serialize(HttpResponse& response, bool close);
  void RespondError(const Status& status);
  void AfterResponse(bool close);
  void Flush(std::string&& big_body = {});
  void OnWritten(int status) noexcept;
  // Sets the one deadline of the current phase, `ms` from now.
  void ArmTimer(uint64_t ms);
  void OnTimer() noexcept;
  void Linger();
  void Close();
};

namespace {

struct WriteReq {
  uv_write_t req;
  std::string head;  // what was left of the connection's `out`
  std::string body;  // a large body, sent from `offset`
  size_t offset = 0;
};

}  // namespace

void HttpConnection::OnRequestBegin() {
  phase = Phase::kHeaders;
  ArmTimer(options().header_timeout_ms);
}

Result<size_t> HttpConnection::BodyLimit(HttpRequest& request) {
  request.peer_ip = peer_ip;
  request.received_at_ms = static_cast<uint64_t>(WallClockMs());
  request.received_at_ns = uv_hrtime();
  http10 = parser.http10();
  is_head = parser.is_head();
  if (!server->body_limit_) return options().max_body_bytes;
  std::variant<size_t, HttpResponse> decision = server->body_limit_(request);
  if (const size_t* limit = std::get_if<size_t>(&decision)) return *limit;
  refusal = std::move(std::get<HttpResponse>(decision));
  // The parser stops at this error; RespondError sends the refusal in its place.
  return InvalidArgument("request refused before its body");
}

void HttpConnection::OnHeadersAccepted(bool has_body, bool send_continue) {
  // The client waits for this before it sends the body; Execute flushes it as soon as the
  // bytes at hand are parsed.
  if (send_continue) out.append("HTTP/1.1 100 Continue\r\n\r\n");
  phase = Phase::kBody;
  if (has_body) ArmTimer(options().body_timeout_ms);
}

void HttpConnection::Start() {
  uv_tcp_nodelay(tcp, 1);
  sockaddr_storage addr;
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    char ip[INET6_ADDRSTRLEN] = "";
    if (addr.ss_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), ip, sizeof ip);
    } else if (addr.ss_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), ip, sizeof ip);
    }
    peer_ip = ip;
  }
  ArmTimer(options().idle_timeout_ms);
  StartRead();
}

void HttpConnection::StartRead() {
  if (reading || tcp == nullptr) return;
  int rc = uv_read_start(
      AsStream(tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        auto* c = static_cast<HttpConnection*>(h->data);
        *buf = uv_buf_init(c->server->read_buffer_.get(), kReadBufferSize);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
        auto* c = static_cast<HttpConnection*>(s->data);
        if (n < 0) {
          c->Close();  // EOF or error; a response still pending will find no connection
        } else if (n > 0) {
          c->OnRead(buf->base, static_cast<size_t>(n));
        }
      });
  if (rc != 0) {
    Close();
    return;
  }
  reading = true;
}

void HttpConnection::OnRead(const char* data, size_t size) noexcept {
  if (lingering || phase == Phase::kClosing) return;  // discarding what a closing client sends
  try {
    if (pending.empty() && !in_parse && CanParse()) {
      // Fast path: parse straight from the shared read buffer; keep only the rest.
      size_t used = Execute(data, size);
      if (used < size && tcp != nullptr && phase != Phase::kClosing) {
        pending.append(data + used, size - used);
      }
    } else {
      pending.append(data, size);
      ParsePending();
    }
    if (pending.size() > kMaxPendingInput && reading && tcp != nullptr) {
      uv_read_stop(AsStream(tcp));
      reading = false;
    }
  } catch (const std::exception& e) {
    spdlog::error("http connection from {}: {}", peer_ip, e.what());
    Close();
  }
}

bool HttpConnection::CanParse() const {
  return tcp != nullptr &&
         (phase == Phase::kIdle || phase == Phase::kHeaders || phase == Phase::kBody) &&
         uv_stream_get_write_queue_size(AsStream(tcp)) <= kMaxQueuedOutput;
}

// Parses `data` while the connection can take requests, dispatching each complete one, then
// flushes the responses produced meanwhile in one write. Returns the bytes consumed.
size_t HttpConnection::Execute(const char* data, size_t size) {
  size_t consumed = 0;
  in_parse = true;
  while (consumed < size) {
    HttpRequestParser::Step step = parser.Execute(data + consumed, size - consumed);
    consumed += step.consumed;
    if (step.event == HttpRequestParser::Event::kError) {
      consumed = size;  // the rest of the stream is not trusted
      if (parser.error().code() == Code::kInternal) {
        // Out of memory while parsing: close without answering.
        spdlog::error("http connection from {}: {}", peer_ip, parser.error().message());
        Close();
      } else {
        RespondError(parser.error());
      }
      break;
    }
    if (step.event == HttpRequestParser::Event::kRequest) {
      keep_alive = parser.keep_alive();
      Dispatch();  // may answer at once, which sets the phase back to kIdle
    }
    if (!CanParse()) break;
  }
  in_parse = false;
  Flush();
  return consumed;
}

void HttpConnection::ParsePending() {
  if (in_parse || pending.empty() || !CanParse()) return;
  size_t used = Execute(pending.data(), pending.size());
  pending.erase(0, used);
  if (!reading && pending.size() <= kMaxPendingInput && phase != Phase::kClosing) StartRead();
}

void HttpConnection::Dispatch() {
  phase = Phase::kWaitingResponse;
  deadline = 0;  // the handler's own timeouts apply while it works
  if (server->draining_) close_after_response = true;
  ++request_number;
  HttpRequest& request = parser.request();
  std::string method = request.method;
  std::string path = request.path;
  try {
    server->handler_(std::move(request), HttpResponder(weak_from_this(), request_number));
  } catch (const std::exception& e) {
    // The responder, destroyed while unwinding, answered 500 unless the handler kept it.
    spdlog::error("http handler threw for {} {}: {}", method, path, e.what());
  } catch (...) {
    spdlog::error("http handler threw an unknown exception");
  }
}

void HttpConnection::Respond(HttpResponse&& response) noexcept {
  if (tcp == nullptr || phase != Phase::kWaitingResponse) return;
  bool close = !keep_alive || close_after_response || server->draining_;
  server->requests_served_++;
  try {
    Serialize(response, close);
  } catch (const std::exception& e) {
    spdlog::error("http response to {}: {}", peer_ip, e.what());
    Close();
    return;
  }
  if (tcp == nullptr) return;  // a write of a large body failed
  AfterResponse(close);
  if (!in_parse) Flush();
}

void HttpConnection::Serialize(HttpResponse& response, bool close) {
  int status = response.status;
  if (status < 200 || status > 999) {
    spdlog::error("http response with invalid status {} answered as 500", status);
    response = ErrorResponse(Internal("invalid response status " + std::to_string(status)));
    status = response.status;
  }
  bool no_body = status == 204 || status == 304;
  out.append("HTTP/1.1 ");
  AppendDecimal(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(ReasonPhrase(status));
  out.append("\r\n");
  for (const auto* list : {&server->default_headers_, &response.headers}) {
    for (const auto& [name, value] : *list) {
      if (IsReservedHeader(name)) continue;
      if (!IsSafeHeader(name, value)) {
        spdlog::warn("dropped an unsafe response header for {}", peer_ip);
        continue;
      }
      AppendHeader(out, name, value);
    }
  }
  if (status != 204) {
    out.append("content-length: ");
    AppendDecimal(out, no_body ? 0 : response.body.size());
    out.append("\r\n");
  }
  AppendHeader(out, "date", server->HttpDate());
  if (close) {
    out.append("connection: close\r\n");
  } else if (http10) {
    out.append("connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (close) close_after_flush = true;
  if (is_head || no_body || response.body.empty()) return;
  if (response.body.size() <= kInlineBodyMax) {
    out.append(response.body);
  } else {
    Flush(std::move(response.body));
  }
}

void HttpConnection::RespondError(const Status& status) {
  // The stream cannot be trusted after a rejected request: answer, then close.
  keep_alive = false;
  close_after_response = true;
  phase = Phase::kWaitingResponse;
  is_head = false;
  ++request_number;  // no responder may answer in its place
  HttpResponse response = refusal ? std::move(*refusal) : ErrorResponse(status);
  refusal.reset();
  Respond(std::move(response));
}

void HttpConnection::AfterResponse(bool close) {
  if (close) {
    phase = Phase::kClosing;
    // Bounds how long the client may take to read the response; Linger shortens it.
    ArmTimer(options().idle_timeout_ms);
    return;
  }
  phase = Phase::kIdle;
  ArmTimer(options().idle_timeout_ms);
  ParsePending();
}

void HttpConnection::Flush(std::string&& big_body) {
  if (tcp == nullptr) {
    out.clear();
    return;
  }
  if (!out.empty() || !big_body.empty()) {
    uv_buf_t bufs[2];
    unsigned nbufs = 0;
    if (!out.empty()) bufs[nbufs++] = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    if (!big_body.empty()) {
      bufs[nbufs++] = uv_buf_init(big_body.data(), static_cast<unsigned>(big_body.size()));
    }
    int n = uv_try_write(AsStream(tcp), bufs, nbufs);
    if (n < 0 && n != UV_EAGAIN) {
      Close();
      return;
    }
    size_t written = n > 0 ? static_cast<size_t>(n) : 0;
    if (written < out.size() + big_body.size()) {
      // The kernel's buffer is full (or earlier writes are queued): libuv sends the rest.
      auto* w = new (std::nothrow) WriteReq;
      if (w == nullptr) {
        Close();
        return;
      }
      if (written < out.size()) {
        w->head.assign(out, written);
      } else {
        w->offset = written - out.size();
      }
      w->body = std::move(big_body);
      uv_buf_t rest[2];
      nbufs = 0;
      if (!w->head.empty()) {
        rest[nbufs++] = uv_buf_init(w->head.data(), static_cast<unsigned>(w->head.size()));
      }
      if (w->offset < w->body.size()) {
        rest[nbufs++] = uv_buf_init(w->body.data() + w->offset,
                                    static_cast<unsigned>(w->body.size() - w->offset));
      }
      int rc =
          uv_write(&w->req, AsStream(tcp), rest, nbufs, [](uv_write_t* req, int status) noexcept {
            std::unique_ptr<WriteReq> done(reinterpret_cast<WriteReq*>(req));
            if (status == UV_ECANCELED) return;  // the connection is closing
            static_cast<HttpConnection*>(req->handle->data)->OnWritten(status);
          });
      if (rc != 0) {
        delete w;
        Close();
        return;
      }
    }
    out.clear();
  }
  // libuv shuts the write side down only after the queued writes are sent.
  if (close_after_flush) Linger();
}

void HttpConnection::OnWritten(int status) noexcept {
  if (tcp == nullptr) return;
  if (status < 0) {
    Close();
    return;
  }
  // Parsing may have waited for the queue to drain.
  try {
    ParsePending();
  } catch (const std::exception& e) {
    spdlog::error("http connection from {}: {}", peer_ip, e.what());
    Close();
  }
}

void HttpConnection::ArmTimer(uint64_t ms) {
  uint64_t now = uv_now(loop);
  deadline = now + ms;
  if (timer_due == 0 || timer_due > deadline) {
    timer_due = deadline;
    timer.Start(ms, 0, [this] { OnTimer(); });
  }
}

void HttpConnection::OnTimer() noexcept {
  timer_due = 0;
  if (tcp == nullptr || deadline == 0) return;
  uint64_t now = uv_now(loop);
  if (now < deadline) {
    ArmTimer(deadline - now);
    return;
  }
  deadline = 0;
  try {
    if (phase == Phase::kHeaders || phase == Phase::kBody) {
      RespondError(Status(Code::kRequestTimeout, phase == Phase::kHeaders
                                                     ? "request headers not received in time"
                                                     : "request body not received in time"));
    } else if (phase != Phase::kWaitingResponse) {
      Close();  // idle, or closing and done lingering (or the client stopped reading)
    }
  } catch (const std::exception& e) {
    spdlog::error("http connection from {}: {}", peer_ip, e.what());
    Close();
  }
}

void HttpConnection::Linger() {
  // Half-close, then read (and discard) what the client still sends, so the kernel does not
  // answer unread data with a reset that could destroy the response in flight.
  if (lingering || tcp == nullptr) return;
  lingering = true;
  phase = Phase::kClosing;
  auto* req = new (std::nothrow) uv_shutdown_t;
  if (req == nullptr || uv_shutdown(req, AsStream(tcp), [](uv_shutdown_t* r, int status) noexcept {
                          auto* c = static_cast<HttpConnection*>(r->handle->data);
                          delete r;
                          // The response is sent: from now on only the client's close is awaited,
                          // briefly.
                          if (status == 0 && c->tcp != nullptr) c->ArmTimer(kLingerMs);
                        }) != 0) {
    delete req;
    Close();
    return;
  }
  if (!reading) StartRead();
}

void HttpConnection::Close() {
  if (tcp == nullptr) return;
  phase = Phase::kClosing;
  timer.Stop();
  uv_tcp_t* handle = tcp;
  tcp = nullptr;
  out.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) noexcept {
    auto* c = static_cast<HttpConnection*>(h->data);
    delete reinterpret_cast<uv_tcp_t*>(h);
    c->self.reset();  // may destroy the connection
  });
  HttpServer* owner = server;
  server = nullptr;
  if (owner != nullptr) owner->Forget(this);  // may destroy the connection's map entry
}

}  // namespace detail

using detail::HttpConnection;

HttpResponder::HttpResponder(std::weak_ptr<detail::HttpConnection> connection,
                             uint64_t request_number)
    : connection_(std::move(connection)), request_number_(request_number) {}

HttpResponder::HttpResponder(HttpResponder&& other) noexcept
    : connection_(std::move(other.connection_)), request_number_(other.request_number_) {
  other.connection_.reset();
}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    HttpResponder discard(std::move(*this));  // answers 500 if this one was still owed
    connection_ = std::move(other.connection_);
    request_number_ = other.request_number_;
    other.connection_.reset();
  }
  return *this;
}

HttpResponder::~HttpResponder() {
  if (connection_.expired()) return;
  if (auto c = Target()) {
    spdlog::error("BUG: a request from {} was dropped without a response", c->peer_ip);
    c->Respond(ErrorResponse(Internal("the request was dropped without a response")));
  }
}

std::shared_ptr<detail::HttpConnection> HttpResponder::Target() const {
  auto c = connection_.lock();
  if (c && c->tcp != nullptr && c->phase == HttpConnection::Phase::kWaitingResponse &&
      c->request_number == request_number_) {
    return c;
  }
  return nullptr;
}

void HttpResponder::Send(HttpResponse&& response) {
  auto c = Target();
  connection_.reset();
  if (c) c->Respond(std::move(response));
}

bool HttpResponder::alive() const { return Target() != nullptr; }

HttpServer::HttpServer(uv_loop_t* loop, Options options, Handler handler, BodyLimit body_limit)
    : loop_(loop),
      options_(options),
      handler_(std::move(handler)),
      body_limit_(std::move(body_limit)),
      read_buffer_(new char[kReadBufferSize]) {}

HttpServer::~HttpServer() {
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
  }
  shutdown_done_ = nullptr;
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [raw, c] : connections) c->Close();
}

Status HttpServer::Listen(const std::string& host, uint16_t port) {
  FLINT_CHECK(listener_ == nullptr);
  sockaddr_storage addr;
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return InvalidArgument("invalid listen address '" + host + "' (use an IP address)");
  }
  listener_ = new uv_tcp_t;
  FLINT_CHECK(uv_tcp_init(loop_, listener_) == 0);
  listener_->data = this;
  // libuv sets SO_REUSEADDR on the socket it binds.
  int rc = uv_tcp_bind(listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 1024, OnConnection);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
    return Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                       uv_strerror(rc));
  }
  sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return Status::Ok();
}

void HttpServer::OnConnection(uv_stream_t* listener, int status) noexcept {
  auto* server = static_cast<HttpServer*>(listener->data);
  if (status < 0) {
    spdlog::warn("accept failed: {}", uv_strerror(status));
    return;
  }
  try {
    server->Accept();
  } catch (const std::exception& e) {
    spdlog::error("accepting a connection: {}", e.what());
  }
}

void HttpServer::Accept() {
  auto c = std::make_shared<HttpConnection>(this, loop_);
  FLINT_CHECK(uv_tcp_init(loop_, c->tcp) == 0);
  c->tcp->data = c.get();
  c->self = c;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                reinterpret_cast<uv_stream_t*>(c->tcp)) != 0 ||
      draining_ || connections_.size() >= options_.max_connections) {
    c->server = nullptr;  // not in the map: nothing to forget
    c->Close();
    return;
  }
  try {
    connections_.emplace(c.get(), c);
  } catch (...) {
    c->server = nullptr;
    c->Close();
    throw;
  }
  c->Start();
}

void HttpServer::AddDefaultHeader(std::string name, std::string value) {
  default_headers_.emplace_back(std::move(name), std::move(value));
}

const std::string& HttpServer::HttpDate() {
  time_t now = time(nullptr);
  if (now != date_second_) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    date_.assign(buf, n);
    date_second_ = now;
  }
  return date_;
}

void HttpServer::Forget(HttpConnection* connection) {
  connections_.erase(connection);
  MaybeFinishShutdown();
}

void HttpServer::Shutdown(uint64_t grace_ms, std::function<void()> done) {
  draining_ = true;
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
  }
  std::vector<std::shared_ptr<HttpConnection>> idle;
  for (auto& [raw, c] : connections_) {
    if (c->phase == HttpConnection::Phase::kIdle && c->pending.empty()) {
      idle.push_back(c);
    } else {
      c->close_after_response = true;
    }
  }
  // `done` is not set yet: closing these cannot call it before Shutdown returns.
  for (auto& c : idle) c->Close();
  shutdown_done_ = std::move(done);
  grace_timer_ = std::make_unique<loop::Timer>(loop_);
  grace_timer_->Start(connections_.empty() ? 0 : grace_ms, 0, [this] {
    if (connections_.empty()) return MaybeFinishShutdown();
    std::vector<std::shared_ptr<HttpConnection>> rest;
    for (auto& [raw, c] : connections_) rest.push_back(c);
    // The last Close calls `done`, which may destroy the server: touch nothing after it.
    for (auto& c : rest) c->Close();
  });
}

void HttpServer::MaybeFinishShutdown() {
  if (!draining_ || !connections_.empty() || !shutdown_done_) return;
  if (grace_timer_) grace_timer_->Stop();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace flint::scheduler
