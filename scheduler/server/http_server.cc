#include "scheduler/server/http_server.h"

#include <arpa/inet.h>
#include <llhttp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace flint::scheduler {
namespace {

constexpr size_t kReadBufferSize = 64 * 1024;
// Bytes of a following request buffered while a response is pending before reading pauses.
constexpr size_t kMaxPendingInput = 1 << 20;
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
    case 304:
      return "Not Modified";
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
    case 413:
      return "Payload Too Large";
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
      return "Status";
  }
}

// "Date" header value, formatted at most once per second.
const std::string& HttpDate() {
  static std::string cached;
  static time_t cached_at = 0;
  time_t now = time(nullptr);
  if (now != cached_at) {
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached = buf;
    cached_at = now;
  }
  return cached;
}

uint64_t WallMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

const std::string* HttpRequest::FindHeader(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

HttpResponse ErrorResponse(const Status& status) {
  HttpResponse response;
  response.status = CodeHttpStatus(status.code());
  response.headers.emplace_back("content-type", "application/json");
  nlohmann::json body = {
      {"error", {{"code", std::string(CodeName(status.code()))}, {"message", status.message()}}}};
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

namespace detail {

// One client connection. Owned by the server's map and, while its handle closes, by itself.
struct Connection : std::enable_shared_from_this<Connection> {
  enum class Phase { kIdle, kHeaders, kBody, kWaitingResponse, kClosing };

  HttpServer* server;
  uv_tcp_t* tcp;
  llhttp_t parser;
  std::shared_ptr<Connection> self;  // set while the handle is open
  loop::Timer timer;
  Phase phase = Phase::kIdle;
  std::string peer_ip;
  std::string pending;  // received, not yet parsed
  HttpRequest request;
  std::string field, value;
  bool in_value = false;
  size_t header_bytes = 0;
  size_t body_limit = 0;
  bool request_ready = false;
  bool keep_alive = true;
  bool http10 = false;
  bool is_head = false;
  bool close_after_response = false;
  bool in_parse = false;
  bool reading = false;
  bool lingering = false;
  Status error;  // set by a parser callback that rejects the request
  char read_buffer[kReadBufferSize];

  Connection(HttpServer* s, uv_loop_t* loop) : server(s), tcp(new uv_tcp_t), timer(loop) {}

  static llhttp_settings_t* Settings();
  static Connection* From(llhttp_t* p) { return static_cast<Connection*>(p->data); }

  void Start();
  void StartRead();
  void OnData(const char* data, size_t size);
  void Parse();
  void Dispatch();
  void Respond(HttpResponse&& response);
  void RespondError(const Status& status);
  void Write(std::string head, std::string body, bool close);
  void AfterResponse(bool close);
  void ArmTimer(uint64_t ms, bool send_408);
  void CommitHeader();
  int Reject(Status status) {
    error = std::move(status);
    return -1;
  }
  void Linger();
  void Close();
};

}  // namespace detail

using detail::Connection;

llhttp_settings_t* Connection::Settings() {
  static llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) noexcept -> int {
      Connection* c = From(p);
      c->phase = Phase::kHeaders;
      c->request = HttpRequest{};
      c->field.clear();
      c->value.clear();
      c->in_value = false;
      c->header_bytes = 0;
      c->ArmTimer(c->server->options_.header_timeout_ms, true);
      return 0;
    };
    s.on_url = [](llhttp_t* p, const char* at, size_t len) noexcept -> int {
      Connection* c = From(p);
      c->header_bytes += len;
      if (c->header_bytes > c->server->options_.max_header_bytes) {
        return c->Reject(Status(Code::kHeadersTooLarge,
                                "request line and headers exceed " +
                                    std::to_string(c->server->options_.max_header_bytes) +
                                    " bytes"));
      }
      c->request.target.append(at, len);
      return 0;
    };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t len) noexcept -> int {
      Connection* c = From(p);
      if (c->in_value) c->CommitHeader();
      c->header_bytes += len + 4;  // ": " and CRLF
      if (c->header_bytes > c->server->options_.max_header_bytes) {
        return c->Reject(Status(Code::kHeadersTooLarge,
                                "request line and headers exceed " +
                                    std::to_string(c->server->options_.max_header_bytes) +
                                    " bytes"));
      }
      c->field.append(at, len);
      return 0;
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t len) noexcept -> int {
      Connection* c = From(p);
      c->in_value = true;
      c->header_bytes += len;
      if (c->header_bytes > c->server->options_.max_header_bytes) {
        return c->Reject(Status(Code::kHeadersTooLarge,
                                "request line and headers exceed " +
                                    std::to_string(c->server->options_.max_header_bytes) +
                                    " bytes"));
      }
      c->value.append(at, len);
      return 0;
    };
    s.on_header_value_complete = [](llhttp_t* p) noexcept -> int {
      Connection* c = From(p);
      c->in_value = true;
      c->CommitHeader();
      if (c->request.headers.size() > c->server->options_.max_headers) {
        return c->Reject(
            Status(Code::kHeadersTooLarge,
                   "more than " + std::to_string(c->server->options_.max_headers) + " headers"));
      }
      return 0;
    };
    s.on_headers_complete = [](llhttp_t* p) noexcept -> int {
      Connection* c = From(p);
      if (c->in_value) c->CommitHeader();
      HttpRequest& r = c->request;
      if (p->http_major != 1) {
        return c->Reject(
            Status(Code::kInvalidArgument, "only HTTP/1.0 and HTTP/1.1 are supported"));
      }
      r.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
      size_t q = r.target.find('?');
      r.path = r.target.substr(0, q);
      if (q != std::string::npos) r.query = r.target.substr(q + 1);
      r.peer_ip = c->peer_ip;
      r.received_at_ms = WallMs();
      r.received_at_ns = uv_hrtime();
      c->http10 = p->http_minor == 0;
      c->is_head = p->method == HTTP_HEAD;
      c->body_limit =
          c->server->body_limit_ ? c->server->body_limit_(r) : c->server->options_.max_body_bytes;
      if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->body_limit) {
        return c->Reject(
            Status(Code::kPayloadTooLarge, "request body of " + std::to_string(p->content_length) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(c->body_limit) + " bytes"));
      }
      const std::string* expect = r.FindHeader("expect");
      if (expect != nullptr && !c->http10) {
        if (strcasecmp(expect->c_str(), "100-continue") != 0) {
          return c->Reject(Status(Code::kInvalidArgument, "unsupported Expect: " + *expect));
        }
        c->Write("HTTP/1.1 100 Continue\r\n\r\n", {}, false);
      }
      c->phase = Phase::kBody;
      c->ArmTimer(c->server->options_.body_timeout_ms, true);
      return 0;
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t len) noexcept -> int {
      Connection* c = From(p);
      if (c->request.body.size() + len > c->body_limit) {
        return c->Reject(Status(
            Code::kPayloadTooLarge,
            "request body exceeds the limit of " + std::to_string(c->body_limit) + " bytes"));
      }
      c->request.body.append(at, len);
      return 0;
    };
    s.on_message_complete = [](llhttp_t* p) noexcept -> int {
      Connection* c = From(p);
      c->keep_alive = llhttp_should_keep_alive(p) != 0;
      c->request_ready = true;
      // Pause: the next pipelined request is parsed only after this one is answered.
      return HPE_PAUSED;
    };
    return s;
  }();
  return &settings;
}

void Connection::CommitHeader() {
  if (!in_value && field.empty()) return;
  for (char& ch : field) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t b = value.find_first_not_of(" \t");
  size_t e = value.find_last_not_of(" \t");
  std::string trimmed = b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
  request.headers.emplace_back(std::move(field), std::move(trimmed));
  field.clear();
  value.clear();
  in_value = false;
}

void Connection::Start() {
  llhttp_init(&parser, HTTP_REQUEST, Settings());
  parser.data = this;
  tcp->data = this;
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
  ArmTimer(server->options_.idle_timeout_ms, false);
  StartRead();
}

void Connection::StartRead() {
  if (reading || phase == Phase::kClosing) return;
  reading = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
        auto* c = static_cast<Connection*>(h->data);
        *buf = uv_buf_init(c->read_buffer, sizeof c->read_buffer);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept {
        auto* c = static_cast<Connection*>(s->data);
        if (n < 0) {
          c->Close();
          return;
        }
        if (n == 0) return;
        if (c->lingering) return;  // discarding what a rejected client still sends
        try {
          c->OnData(buf->base, static_cast<size_t>(n));
        } catch (const std::exception& e) {
          spdlog::error("http connection from {}: {}", c->peer_ip, e.what());
          c->Close();
        }
      });
}

void Connection::OnData(const char* data, size_t size) {
  pending.append(data, size);
  if (phase == Phase::kWaitingResponse) {
    if (pending.size() > kMaxPendingInput) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(tcp));
      reading = false;
    }
    return;
  }
  Parse();
}

void Connection::Parse() {
  if (in_parse) return;
  in_parse = true;
  auto keep = shared_from_this();
  while (!pending.empty() &&
         (phase == Phase::kIdle || phase == Phase::kHeaders || phase == Phase::kBody)) {
    llhttp_errno_t err = llhttp_execute(&parser, pending.data(), pending.size());
    if (err == HPE_OK) {
      pending.clear();
    } else if (err == HPE_PAUSED) {
      size_t consumed = static_cast<size_t>(llhttp_get_error_pos(&parser) - pending.data());
      pending.erase(0, consumed);
      llhttp_resume(&parser);
    } else if (!error.ok()) {
      // A callback rejected the request (llhttp reports it under the callback's own code).
      RespondError(error);
      break;
    } else {
      RespondError(InvalidArgument(std::string("malformed HTTP request: ") +
                                   llhttp_get_error_reason(&parser)));
      break;
    }
    if (request_ready) {
      request_ready = false;
      Dispatch();  // may answer at once, which sets phase back to kIdle
    }
  }
  in_parse = false;
}

void Connection::Dispatch() {
  phase = Phase::kWaitingResponse;
  timer.Stop();
  if (server->draining_) close_after_response = true;
  server->handler_(std::move(request), HttpResponder(weak_from_this()));
}

void Connection::Respond(HttpResponse&& response) {
  if (phase != Phase::kWaitingResponse) return;
  server->requests_served_++;
  bool close = !keep_alive || close_after_response || server->draining_;
  std::string head;
  head.reserve(256);
  head += "HTTP/1.1 ";
  head += std::to_string(response.status);
  head += ' ';
  head += ReasonPhrase(response.status);
  head += "\r\n";
  for (const auto& [name, value] : server->default_headers_) {
    head += name + ": " + value + "\r\n";
  }
  for (const auto& [name, value] : response.headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  head += "content-length: ";
  head += std::to_string(response.body.size());
  head += "\r\ndate: ";
  head += HttpDate();
  head += "\r\n";
  if (close) {
    head += "connection: close\r\n";
  } else if (http10) {
    head += "connection: keep-alive\r\n";
  }
  head += "\r\n";
  if (is_head) response.body.clear();
  Write(std::move(head), std::move(response.body), close);
  AfterResponse(close);
}

void Connection::RespondError(const Status& status) {
  // The stream cannot be trusted after a rejected request: answer, then close.
  keep_alive = false;
  phase = Phase::kWaitingResponse;
  is_head = false;
  Respond(ErrorResponse(status));
}

namespace {
struct WriteReq {
  uv_write_t req;
  std::string head, body;
  bool close;
};
}  // namespace

void Connection::Write(std::string head, std::string body, bool close) {
  uv_buf_t bufs[2] = {uv_buf_init(head.data(), static_cast<unsigned>(head.size())),
                      uv_buf_init(body.data(), static_cast<unsigned>(body.size()))};
  int nbufs = body.empty() ? 1 : 2;
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(tcp), bufs, nbufs);
  size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  if (n < 0 && n != UV_EAGAIN) {
    Close();
    return;
  }
  if (written == head.size() + body.size()) {
    if (close) Linger();
    return;
  }
  auto* w = new WriteReq;
  if (written < head.size()) {
    w->head = head.substr(written);
    w->body = std::move(body);
  } else {
    w->body = body.substr(written - head.size());
  }
  w->close = close;
  w->req.data = this;
  uv_buf_t rest[2] = {uv_buf_init(w->head.data(), static_cast<unsigned>(w->head.size())),
                      uv_buf_init(w->body.data(), static_cast<unsigned>(w->body.size()))};
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(tcp), w->head.empty() ? rest + 1 : rest,
                    w->head.empty() ? 1 : 2, [](uv_write_t* req, int status) noexcept {
                      std::unique_ptr<WriteReq> w(reinterpret_cast<WriteReq*>(req));
                      if (status == UV_ECANCELED) return;  // the connection is closing
                      auto* c = static_cast<Connection*>(req->handle->data);
                      if (status < 0) {
                        c->Close();
                      } else if (w->close) {
                        c->Linger();
                      }
                    });
  if (rc != 0) {
    delete w;
    Close();
  }
}

void Connection::AfterResponse(bool close) {
  if (close) {
    phase = Phase::kClosing;
    timer.Stop();
    return;
  }
  phase = Phase::kIdle;
  ArmTimer(server->options_.idle_timeout_ms, false);
  if (!reading) StartRead();
  if (!pending.empty()) Parse();
}

void Connection::ArmTimer(uint64_t ms, bool send_408) {
  timer.Start(ms, 0, [this, send_408] {
    if (phase == Phase::kClosing) return;
    if (send_408 && (phase == Phase::kHeaders || phase == Phase::kBody)) {
      RespondError(Status(Code::kRequestTimeout, phase == Phase::kHeaders
                                                     ? "request headers not received in time"
                                                     : "request body not received in time"));
    } else {
      Close();
    }
  });
}

void Connection::Linger() {
  // Half-close, then read (and discard) what the client still sends, so the kernel does not
  // answer unread data with a reset that could destroy our response in flight.
  if (lingering || tcp == nullptr) return;
  lingering = true;
  phase = Phase::kClosing;
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, reinterpret_cast<uv_stream_t*>(tcp),
                  [](uv_shutdown_t* r, int) noexcept { delete r; }) != 0) {
    delete req;
    Close();
    return;
  }
  if (!reading) StartRead();
  timer.Start(kLingerMs, 0, [this] { Close(); });
}

void Connection::Close() {
  if (tcp == nullptr) return;
  phase = Phase::kClosing;
  timer.Stop();
  uv_tcp_t* handle = tcp;
  tcp = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) noexcept {
    auto* c = static_cast<Connection*>(h->data);
    delete reinterpret_cast<uv_tcp_t*>(h);
    c->self.reset();  // may destroy the connection
  });
  if (server != nullptr) server->Forget(this);
}

HttpResponder::HttpResponder(std::weak_ptr<detail::Connection> connection)
    : connection_(std::move(connection)) {}

HttpResponder& HttpResponder::operator=(HttpResponder&& other) noexcept {
  if (this != &other) {
    HttpResponder discard(std::move(*this));
    connection_ = std::move(other.connection_);
    other.connection_.reset();
  }
  return *this;
}

HttpResponder::~HttpResponder() {
  auto c = connection_.lock();
  if (c && c->tcp != nullptr && c->phase == Connection::Phase::kWaitingResponse) {
    spdlog::error("a request to {} was dropped without a response", c->peer_ip);
    c->Respond(ErrorResponse(Internal("the request was dropped without a response")));
  }
}

void HttpResponder::Send(HttpResponse&& response) {
  auto c = connection_.lock();
  connection_.reset();
  if (!c || c->tcp == nullptr) return;
  c->Respond(std::move(response));
}

bool HttpResponder::alive() const {
  auto c = connection_.lock();
  return c && c->tcp != nullptr;
}

HttpServer::HttpServer(uv_loop_t* loop, Options options, Handler handler, BodyLimit body_limit)
    : loop_(loop),
      options_(options),
      handler_(std::move(handler)),
      body_limit_(std::move(body_limit)) {}

HttpServer::~HttpServer() {
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
  }
  auto connections = std::move(connections_);
  for (auto& [raw, c] : connections) {
    c->server = nullptr;
    c->Close();
  }
}

Status HttpServer::Listen(const std::string& host, uint16_t port) {
  FLINT_CHECK(listener_ == nullptr);
  sockaddr_storage addr;
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return InvalidArgument("invalid listen address '" + host + "' (use an IP address)");
  }
  listener_ = new uv_tcp_t;
  uv_tcp_init(loop_, listener_);
  listener_->data = this;
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
  auto c = std::make_shared<Connection>(this, loop_);
  uv_tcp_init(loop_, c->tcp);
  c->tcp->data = c.get();
  c->self = c;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                reinterpret_cast<uv_stream_t*>(c->tcp)) != 0 ||
      draining_ || connections_.size() >= options_.max_connections) {
    c->server = nullptr;
    c->Close();
    return;
  }
  connections_.emplace(c.get(), c);
  c->Start();
}

void HttpServer::AddDefaultHeader(std::string name, std::string value) {
  default_headers_.emplace_back(std::move(name), std::move(value));
}

void HttpServer::Forget(Connection* connection) {
  connections_.erase(connection);
  MaybeFinishShutdown();
}

void HttpServer::Shutdown(uint64_t grace_ms, std::function<void()> done) {
  draining_ = true;
  shutdown_done_ = std::move(done);
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
  }
  std::vector<std::shared_ptr<Connection>> idle;
  for (auto& [raw, c] : connections_) {
    if (c->phase == Connection::Phase::kIdle && c->pending.empty()) {
      idle.push_back(c);
    } else {
      c->close_after_response = true;
    }
  }
  for (auto& c : idle) c->Close();
  grace_timer_ = std::make_unique<loop::Timer>(loop_);
  grace_timer_->Start(grace_ms, 0, [this] {
    auto rest = connections_;
    for (auto& [raw, c] : rest) c->Close();
  });
  MaybeFinishShutdown();
}

void HttpServer::MaybeFinishShutdown() {
  if (!draining_ || !connections_.empty() || !shutdown_done_) return;
  if (grace_timer_) grace_timer_->Stop();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace flint::scheduler
