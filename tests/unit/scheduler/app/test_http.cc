#include "tests/unit/scheduler/app/test_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include "sdk/core/check.h"
#include "tests/support/http_response_parser.h"

namespace flint::scheduler::testing {

struct TestHttp::Call {
  int fd = -1;
  flint::testing::HttpResponseParser parser;
  bool complete = false;
  ~Call() {
    if (fd >= 0) close(fd);
  }
};

bool RunUntil(uv_loop_t* loop, const std::function<bool()>& done, uint64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    uv_run(loop, UV_RUN_NOWAIT);
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TestHttp::TestHttp(uv_loop_t* loop, HttpServer::Handler handler) : loop_(loop) {
  signal(SIGPIPE, SIG_IGN);
  server_ = std::make_unique<HttpServer>(loop, HttpServer::Options{}, std::move(handler));
  Status listening = server_->Listen("127.0.0.1", 0);
  FLINT_CHECK(listening.ok());
}

TestHttp::~TestHttp() {
  calls_.clear();
  server_.reset();
  uv_run(loop_, UV_RUN_NOWAIT);  // the server's close callbacks
}

int TestHttp::Send(const std::string& method, const std::string& target, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  auto call = std::make_unique<Call>();
  call->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FLINT_CHECK(call->fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // The listening socket's backlog accepts the connection before the loop runs.
  FLINT_CHECK(connect(call->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string request = method + " " + target + " HTTP/1.1\r\nhost: test\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "content-length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  FLINT_CHECK(write(call->fd, request.data(), request.size()) ==
              static_cast<ssize_t>(request.size()));
  call->parser.Reset(method == "HEAD");
  calls_.push_back(std::move(call));
  return static_cast<int>(calls_.size()) - 1;
}

bool TestHttp::Answered(int index) {
  Call& call = *calls_.at(static_cast<size_t>(index));
  while (!call.complete) {
    char buf[16384];
    ssize_t n = recv(call.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      FLINT_CHECK(
          call.parser.Feed(std::string_view(buf, static_cast<size_t>(n)), &call.complete).ok());
      continue;
    }
    if (n == 0) {
      FLINT_CHECK(call.parser.Finish(&call.complete).ok());
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    FLINT_CHECK(errno == EINTR);
  }
  return call.complete;
}

std::optional<client::HttpResponse> TestHttp::Wait(int index) {
  if (!RunUntil(loop_, [&] { return Answered(index); })) return std::nullopt;
  return calls_.at(static_cast<size_t>(index))->parser.response();
}

}  // namespace flint::scheduler::testing
