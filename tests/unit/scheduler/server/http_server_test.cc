// HttpServer against a real TCP client: the server runs on a libuv loop in the test thread,
// the client (plain blocking sockets) in another thread.
#include "scheduler/server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>

using namespace flint;
using namespace flint::scheduler;

namespace {

// A blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(fd_, data.data() + off, data.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `count` complete responses (by content-length) arrived or the peer closed.
  std::string ReadResponses(int count) {
    while (CountComplete() < count) {
      char buf[8192];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      in_.append(buf, static_cast<size_t>(n));
    }
    return in_;
  }
  // Reads until the peer closes (or the timeout); true when it closed.
  bool ReadUntilClosed() {
    char buf[8192];
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
      in_.append(buf, static_cast<size_t>(n));
    }
  }
  const std::string& received() const { return in_; }
  void ReadUntil(const std::string& marker) {
    while (in_.find(marker) == std::string::npos) {
      char buf[8192];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return;
      in_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int CountComplete() const {
    int complete = 0;
    size_t pos = 0;
    while (true) {
      size_t end = in_.find("\r\n\r\n", pos);
      if (end == std::string::npos) return complete;
      std::string head = in_.substr(pos, end - pos);
      if (head.rfind("HTTP/1.1 100", 0) == 0) {
        pos = end + 4;
        continue;
      }
      size_t cl = head.find("content-length: ");
      size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
      bool is_head_reply = head.find("x-head: 1") != std::string::npos;
      if (is_head_reply) length = 0;
      if (in_.size() < end + 4 + length) return complete;
      pos = end + 4 + length;
      complete++;
    }
  }
  int fd_;
  bool connected_ = false;
  std::string in_;
};

int CountOf(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) {
    n++;
  }
  return n;
}

// The loop RunWithServer runs, for handlers that answer later.
uv_loop_t* g_loop = nullptr;

// Answers `responder` with "late" after `ms` on the test loop.
void RespondLater(HttpResponder responder, uint64_t ms) {
  struct Late {
    uv_timer_t timer;
    HttpResponder responder;
  };
  auto* late = new Late{{}, std::move(responder)};
  uv_timer_init(g_loop, &late->timer);
  late->timer.data = late;
  uv_timer_start(
      &late->timer,
      [](uv_timer_t* t) noexcept {
        auto* l = static_cast<Late*>(t->data);
        HttpResponse response;
        response.body = "late";
        l->responder.Send(std::move(response));
        uv_close(reinterpret_cast<uv_handle_t*>(t),
                 [](uv_handle_t* h) noexcept { delete static_cast<Late*>(h->data); });
      },
      ms, 0);
}

// Runs a server on a fresh loop with `handler` while `client` runs in a thread; returns when the
// client is done and the server is destroyed.
void RunWithServer(HttpServer::Options options, HttpServer::Handler handler,
                   std::function<void(uint16_t port)> client,
                   std::function<void(HttpServer&)> before_stop = nullptr) {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  g_loop = &loop;
  {
    auto server = std::make_unique<HttpServer>(&loop, options, std::move(handler));
    REQUIRE(server->Listen("127.0.0.1", 0).ok());
    uint16_t port = server->port();
    uv_async_t done;
    uv_async_init(&loop, &done, [](uv_async_t* a) noexcept { uv_stop(a->loop); });
    std::thread thread([&] {
      client(port);
      uv_async_send(&done);
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    thread.join();
    if (before_stop) before_stop(*server);
    server.reset();
    uv_close(reinterpret_cast<uv_handle_t*>(&done), nullptr);
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
}

HttpServer::Handler Echo() {
  return [](HttpRequest&& request, HttpResponder responder) {
    HttpResponse response;
    response.body =
        request.method + " " + request.path + " q=" + request.query + " body=" + request.body;
    if (request.method == "HEAD") response.headers.emplace_back("x-head", "1");
    responder.Send(std::move(response));
  };
}

}  // namespace

TEST_CASE("HttpServer keeps a connection alive across requests", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    REQUIRE(c.connected());
    c.Send("GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
    c.ReadResponses(1);
    c.Send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    got = c.ReadResponses(2);
  });
  CHECK(CountOf(got, "HTTP/1.1 200 OK") == 2);
  CHECK(got.find("GET /a q=x=1") != std::string::npos);
  CHECK(got.find("GET /b q=") != std::string::npos);
  CHECK(got.find("connection: close") == std::string::npos);
}

TEST_CASE("HttpServer answers pipelined requests in order", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send(
        "GET /1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "POST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
    got = c.ReadResponses(3);
  });
  size_t a = got.find("GET /1"), b = got.find("POST /2 q= body=abc"), c = got.find("GET /3");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
}

TEST_CASE("HttpServer parses a request that arrives one byte at a time", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    std::string req =
        "POST /slow HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n";
    for (char ch : req) c.Send(std::string(1, ch));
    got = c.ReadResponses(1);
  });
  CHECK(got.find("POST /slow q= body=hello") != std::string::npos);
}

TEST_CASE("HttpServer answers 431 to oversized or too many headers", "[server]") {
  HttpServer::Options options;
  options.max_header_bytes = 1024;
  options.max_headers = 10;
  std::string big, many;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c1(port);
    c1.Send("GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    c1.ReadUntilClosed();
    big = c1.received();
    Client c2(port);
    std::string req = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 20; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
    c2.Send(req + "\r\n");
    c2.ReadUntilClosed();
    many = c2.received();
  });
  CHECK(big.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(big.find("headers_too_large") != std::string::npos);
  CHECK(many.rfind("HTTP/1.1 431", 0) == 0);
}

TEST_CASE("HttpServer answers 413 to a body over the limit, declared or chunked", "[server]") {
  HttpServer::Options options;
  options.max_body_bytes = 100;
  std::string declared, chunked;
  bool handler_called = false;
  RunWithServer(
      options,
      [&](HttpRequest&&, HttpResponder r) {
        handler_called = true;
        r.Send({});
      },
      [&](uint16_t port) {
        Client c1(port);
        c1.Send("POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
        c1.ReadUntilClosed();
        declared = c1.received();
        Client c2(port);
        c2.Send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 5; ++i) c2.Send("40\r\n" + std::string(64, 'x') + "\r\n");
        c2.ReadUntilClosed();
        chunked = c2.received();
      });
  CHECK(declared.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(chunked.rfind("HTTP/1.1 413", 0) == 0);
  CHECK_FALSE(handler_called);
}

TEST_CASE("HttpServer answers 400 to a malformed request and closes", "[server]") {
  std::string got;
  bool closed = false;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GARBAGE\r\n\r\n");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(got.find("invalid_argument") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer sends 100 Continue before reading an expected body", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("PUT /x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    c.ReadUntil("\r\n\r\n");  // the interim response, before any body was sent
    c.Send("ok");
    got = c.ReadResponses(1);
  });
  CHECK(got.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
  CHECK(got.find("PUT /x q= body=ok") != std::string::npos);
}

TEST_CASE("HttpServer answers HEAD without a body", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("HEAD /h HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
    got = c.ReadResponses(2);
  });
  // The HEAD response declares the GET body's length but carries none: the next response
  // follows its blank line directly.
  size_t head_end = got.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  CHECK(got.compare(head_end + 4, 8, "HTTP/1.1") == 0);
  CHECK(got.find("GET /after") != std::string::npos);
}

TEST_CASE("HttpServer closes an HTTP/1.0 connection after the response", "[server]") {
  bool closed = false;
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET /old HTTP/1.0\r\n\r\n");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(closed);
  CHECK(got.find("connection: close") != std::string::npos);
}

TEST_CASE("HttpServer answers 408 to a client too slow to send its headers", "[server]") {
  HttpServer::Options options;
  options.header_timeout_ms = 100;
  std::string got;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET / HTTP/1.1\r\nHost: sl");
    c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 408", 0) == 0);
}

TEST_CASE("HttpServer closes an idle keep-alive connection silently", "[server]") {
  HttpServer::Options options;
  options.idle_timeout_ms = 100;
  bool closed = false;
  std::string got;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c(port);
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(closed);
  CHECK(got.empty());
}

TEST_CASE("HttpServer delivers a response sent later from the loop", "[server]") {
  std::string got;
  RunWithServer(
      {}, [](HttpRequest&&, HttpResponder responder) { RespondLater(std::move(responder), 50); },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET / HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(1);
      });
  CHECK(got.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(got.find("\r\n\r\nlate") != std::string::npos);
}

TEST_CASE("HttpServer drops a late response to a client that left, safely", "[server]") {
  int handled = 0;
  RunWithServer(
      {},
      [&](HttpRequest&&, HttpResponder responder) {
        handled++;
        RespondLater(std::move(responder), 200);
      },
      [&](uint16_t port) {
        {
          Client c(port);
          c.Send("GET / HTTP/1.1\r\n\r\n");
          usleep(50'000);
        }                 // closed before the response
        usleep(300'000);  // the late response fires into the closed connection
        Client again(port);
        again.Send("GET / HTTP/1.1\r\n\r\n");
        again.ReadResponses(1);
      });
  CHECK(handled == 2);
}

TEST_CASE("HttpServer answers 500 when a handler drops the responder", "[server]") {
  std::string got;
  RunWithServer(
      {}, [](HttpRequest&&, HttpResponder) {},
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET / HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(1);
      });
  CHECK(got.rfind("HTTP/1.1 500", 0) == 0);
}

TEST_CASE("HttpServer::Shutdown lets a request in flight finish, then reports done", "[server]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  g_loop = &loop;
  bool done = false;
  std::string got;
  {
    HttpServer server(&loop, {}, [&](HttpRequest&&, HttpResponder responder) {
      RespondLater(std::move(responder), 100);
      server.Shutdown(5000, [&] { done = true; });
    });
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    uint16_t port = server.port();
    std::thread client([&] {
      Client c(port);
      c.Send("GET / HTTP/1.1\r\n\r\n");
      c.ReadUntilClosed();
      got = c.received();
    });
    while (!done) uv_run(&loop, UV_RUN_ONCE);
    client.join();
    CHECK(server.connection_count() == 0);
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(got.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(got.find("connection: close") != std::string::npos);
  CHECK(got.find("late") != std::string::npos);
}

TEST_CASE("HttpServer asks for the body limit per request", "[server]") {
  std::string small, large;
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  g_loop = &loop;
  {
    HttpServer server(
        &loop, {}, [](HttpRequest&&, HttpResponder r) { r.Send({}); },
        [](const HttpRequest& r) -> size_t { return r.path == "/big" ? 1000 : 10; });
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    uint16_t port = server.port();
    std::atomic<bool> finished{false};
    std::thread client([&] {
      Client a(port);
      a.Send("POST /big HTTP/1.1\r\nContent-Length: 500\r\n\r\n" + std::string(500, 'x'));
      large = a.ReadResponses(1);
      Client b(port);
      b.Send("POST /small HTTP/1.1\r\nContent-Length: 500\r\n\r\n" + std::string(500, 'x'));
      b.ReadUntilClosed();
      small = b.received();
      finished = true;
    });
    while (!finished) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    client.join();
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(large.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(small.rfind("HTTP/1.1 413", 0) == 0);
}
