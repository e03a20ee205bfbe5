#include "tests/support/fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "sdk/core/check.h"

namespace flint::testing {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Waits up to `ms` for `fd` to be readable; false on timeout or when `stop` is set.
bool WaitReadable(int fd, int ms, const std::atomic<bool>& stop) {
  for (int waited = 0; waited < ms && !stop.load(); waited += 50) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) return true;
  }
  return false;
}

}  // namespace

std::string RecordedRequest::Target() const {
  size_t a = head.find(' ');
  size_t b = head.find(' ', a + 1);
  return head.substr(a + 1, b - a - 1);
}

std::string RecordedRequest::Header(const std::string& name) const {
  std::string lower = Lower(head);
  std::string key = "\r\n" + Lower(name) + ":";
  size_t at = lower.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  size_t end = head.find("\r\n", start);
  std::string value = head.substr(start, end - start);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FLINT_CHECK(listen_fd_ >= 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  FLINT_CHECK(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  FLINT_CHECK(::listen(listen_fd_, 16) == 0);
  socklen_t len = sizeof(addr);
  FLINT_CHECK(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Run(); });
}

FakeServer::~FakeServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<RecordedRequest> FakeServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::string FakeServer::Response(int status, const std::string& body,
                                 const std::string& content_type,
                                 const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" +
         body;
}

void FakeServer::Run() {
  while (!stop_.load()) {
    if (!WaitReadable(listen_fd_, 100, stop_)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int connection = ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    serving_.emplace_back([this, fd, connection] {
      Serve(fd, connection);
      ::close(fd);
    });
  }
  std::vector<std::thread> serving;
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving.swap(serving_);
  }
  for (auto& t : serving) t.join();
}

void FakeServer::Serve(int fd, int connection) {
  std::string buffer;
  char chunk[8192];
  while (!stop_.load()) {
    // Read one request: headers, then Content-Length bytes of body.
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!WaitReadable(fd, 10'000, stop_)) return;
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    RecordedRequest request;
    request.connection = connection;
    request.head = buffer.substr(0, head_end + 2);
    std::string length = request.Header("Content-Length");
    size_t body_size = length.empty() ? 0 : std::strtoul(length.c_str(), nullptr, 10);
    size_t total = head_end + 4 + body_size;
    while (buffer.size() < total) {
      if (!WaitReadable(fd, 10'000, stop_)) return;
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    request.body = buffer.substr(head_end + 4, body_size);
    buffer.erase(0, total);
    FakeReply reply = handler_(request);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }
    size_t sent = 0;
    while (sent < reply.bytes.size()) {
      ssize_t n = ::send(fd, reply.bytes.data() + sent, reply.bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
    if (reply.close) return;
  }
}

}  // namespace flint::testing
