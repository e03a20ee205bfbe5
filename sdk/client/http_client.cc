#include "sdk/client/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <string>

namespace flint::client {
namespace {

using Clock = std::chrono::steady_clock;

// strerror's text with a lower-case first letter: "connection refused".
std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' &&
      !(text.size() > 1 && text[1] >= 'A' && text[1] <= 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::strchr("()<>@,;:\\\"/[]?={}", c) != nullptr) return false;
  }
  return true;
}

bool HasFramingBytes(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

// Milliseconds left until `deadline`, at least 0, for poll().
int MsLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits until `fd` is ready for `events` or the deadline passes. EINTR restarts the wait.
// Returns 1 when ready, 0 on timeout, -1 with errno on error.
int WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, MsLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

}  // namespace

std::string HttpUrl::ToString() const {
  std::string out = "http://";
  if (host.find(':') != std::string::npos) {
    out += "[" + host + "]";
  } else {
    out += host;
  }
  out += ":" + std::to_string(port);
  out += path_prefix;
  return out;
}

Result<HttpUrl> ParseHttpUrl(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string shown(text.substr(0, 200));
  auto bad = [&](std::string why) {
    return InvalidArgument("invalid URL '" + shown + "': " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (text.size() < kScheme.size() || !EqualsIgnoreCase(text.substr(0, kScheme.size()), kScheme)) {
    if (text.size() >= 8 && EqualsIgnoreCase(text.substr(0, 8), "https://")) {
      return bad("https is not supported (flintd speaks plain HTTP)");
    }
    return bad("expected http://HOST:PORT");
  }
  text.remove_prefix(kScheme.size());
  size_t slash = text.find('/');
  std::string_view authority = text.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : text.substr(slash);
  if (path.find_first_of("?# \t") != std::string_view::npos) {
    return bad("no query, fragment or spaces allowed");
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");

  HttpUrl url;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated '['");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
      authority = authority.substr(0, colon);
    }
    url.host = std::string(authority);
  }
  if (url.host.empty()) return bad("missing host");
  for (char c : url.host) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '[' || c == ']') return bad("bad host");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || value > 65535) return bad("bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("port out of range");
    url.port = static_cast<uint16_t>(value);
  }
  url.path_prefix = std::string(path);
  return url;
}

Result<std::string> SerializeRequest(const HttpRequest& request, const HttpUrl& url,
                                     bool keep_alive) {
  if (!IsToken(request.method)) {
    return InvalidArgument("invalid HTTP method '" + request.method.substr(0, 40) + "'");
  }
  if (request.target.empty() || request.target.front() != '/' ||
      request.target.find_first_of(" \t\r\n", 0) != std::string::npos ||
      request.target.find('\0') != std::string::npos) {
    return InvalidArgument("invalid request path '" + request.target.substr(0, 80) +
                           "': it must start with '/' and contain no spaces");
  }
  std::string out;
  out.reserve(256 + request.body.size());
  out += request.method;
  out += ' ';
  out += url.path_prefix;
  out += request.target;
  out += " HTTP/1.1\r\nHost: ";
  out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  out += ':' + std::to_string(url.port);
  out += "\r\n";
  for (const auto& h : request.headers) {
    if (!IsToken(h.name))
      return InvalidArgument("invalid header name '" + h.name.substr(0, 40) + "'");
    if (HasFramingBytes(h.value)) {
      return InvalidArgument("invalid value for header '" + h.name + "': no CR, LF or NUL");
    }
    if (EqualsIgnoreCase(h.name, "host") || EqualsIgnoreCase(h.name, "content-length") ||
        EqualsIgnoreCase(h.name, "connection") || EqualsIgnoreCase(h.name, "transfer-encoding")) {
      return InvalidArgument("header '" + h.name + "' is set by the client itself");
    }
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  bool body_method =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || body_method) {
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += request.body;
  return out;
}

HttpClient::HttpClient(HttpUrl url, HttpClientOptions options)
    : url_(std::move(url)), options_(options), parser_(options.max_response_body_bytes) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

Status HttpClient::Connect() {
  Close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(url_.port);
  int rc = ::getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return Status(Code::kUnavailable,
                  "cannot resolve host '" + url_.host + "': " + ::gai_strerror(rc));
  }
  std::string last_error = "no address";
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = ErrnoText(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        int ready = WaitFor(fd, POLLOUT, deadline);
        if (ready == 0) {
          ::close(fd);
          last_error =
              "connect timed out after " + std::to_string(options_.connect_timeout_ms) + " ms";
          continue;
        }
        socklen_t len = sizeof(err);
        if (ready < 0) {
          err = errno;
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    if (err != 0) {
      ::close(fd);
      last_error = ErrnoText(err);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd_ = fd;
    ::freeaddrinfo(found);
    return Status::Ok();
  }
  ::freeaddrinfo(found);
  return Status(Code::kUnavailable, last_error);
}

Status HttpClient::WriteAll(std::string_view bytes) {
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.io_timeout_ms);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int ready = WaitFor(fd_, POLLOUT, deadline);
      if (ready > 0) continue;
      if (ready == 0) {
        return Status(Code::kRequestTimeout, "timed out sending the request after " +
                                                 std::to_string(options_.io_timeout_ms) + " ms");
      }
    }
    return Status(Code::kIo, "sending the request: " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status HttpClient::ReadResponse() {
  char buffer[64 * 1024];
  for (;;) {
    auto deadline = Clock::now() + std::chrono::milliseconds(options_.io_timeout_ms);
    int ready = WaitFor(fd_, POLLIN, deadline);
    if (ready == 0) {
      return Status(Code::kRequestTimeout,
                    "no response within " + std::to_string(options_.io_timeout_ms) + " ms");
    }
    if (ready < 0) return Status(Code::kIo, "waiting for the response: " + ErrnoText(errno));
    ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      int err = errno;
      if (err == ECONNRESET && !parser_.started()) {
        return Status(Code::kIo, "connection closed before any response");
      }
      return Status(Code::kIo, "reading the response: " + ErrnoText(err));
    }
    bool complete = false;
    if (n == 0) {
      FLINT_RETURN_IF_ERROR(parser_.Finish(&complete));
      return Status::Ok();
    }
    FLINT_RETURN_IF_ERROR(
        parser_.Feed(std::string_view(buffer, static_cast<size_t>(n)), &complete));
    if (complete) return Status::Ok();
  }
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  FLINT_ASSIGN_OR_RETURN(std::string wire, SerializeRequest(request, url_, options_.keep_alive));
  bool head = request.method == "HEAD";
  for (int attempt = 0;; ++attempt) {
    bool reused = fd_ >= 0;
    if (!reused) FLINT_RETURN_IF_ERROR(Connect());
    parser_.Reset(head);
    Status status = WriteAll(wire);
    if (status.ok()) status = ReadResponse();
    if (!status.ok()) {
      Close();
      // The server may close an idle kept-alive connection at any time; if it did so before
      // answering anything, the request never ran: send it again on a fresh connection.
      if (reused && attempt == 0 && status.code() == Code::kIo && !parser_.started()) continue;
      return status;
    }
    if (!options_.keep_alive || !parser_.keep_alive()) Close();
    return parser_.TakeResponse();
  }
}

Result<HttpResponse> HttpClient::Get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return Send(request);
}

Result<HttpResponse> HttpClient::Post(std::string target, std::string body,
                                      std::string content_type) {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  request.headers.push_back({"Content-Type", std::move(content_type)});
  return Send(request);
}

}  // namespace flint::client
