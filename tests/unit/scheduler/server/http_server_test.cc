// HttpServer against a real TCP client: the server runs on a libuv loop in the test thread,
// the client (plain blocking sockets) in another thread.
#include "scheduler/server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
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

// Writes to a client that left must fail with EPIPE, not kill the test (flintd does the same).
const bool kSigpipeIgnored = [] {
  signal(SIGPIPE, SIG_IGN);
  return true;
}();

// The loop RunWithServer runs, for handlers that answer later.
uv_loop_t* g_loop = nullptr;

// Runs `fn` on the test loop after `ms`.
void After(uint64_t ms, std::function<void()> fn) {
  struct Later {
    uv_timer_t timer;
    std::function<void()> fn;
  };
  auto* later = new Later{{}, std::move(fn)};
  uv_timer_init(g_loop, &later->timer);
  later->timer.data = later;
  uv_timer_start(
      &later->timer,
      [](uv_timer_t* t) noexcept {
        auto* l = static_cast<Later*>(t->data);
        l->fn();
        uv_close(reinterpret_cast<uv_handle_t*>(t),
                 [](uv_handle_t* h) noexcept { delete static_cast<Later*>(h->data); });
      },
      ms, 0);
}

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

TEST_CASE("HttpServer gives the handler lower-case names, trimmed values, path and query",
          "[server]") {
  HttpRequest seen;
  std::string got;
  RunWithServer(
      {},
      [&](HttpRequest&& request, HttpResponder responder) {
        seen = std::move(request);
        responder.Send({});
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send(
            "DELETE /fn/a%20b/x?y=1&z HTTP/1.1\r\nX-Mixed-Case:   v1  \r\nX-Empty:\r\n"
            "x-second: two\r\n\r\n");
        got = c.ReadResponses(1);
      });
  CHECK(got.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(seen.method == "DELETE");
  CHECK(seen.target == "/fn/a%20b/x?y=1&z");
  CHECK(seen.path == "/fn/a%20b/x");
  CHECK(seen.query == "y=1&z");
  CHECK(seen.peer_ip == "127.0.0.1");
  CHECK(seen.received_at_ms > 0);
  CHECK(seen.received_at_ns > 0);
  REQUIRE(seen.headers.size() == 3);
  CHECK(seen.headers[0] == HttpHeader("x-mixed-case", "v1"));
  CHECK(seen.headers[1] == HttpHeader("x-empty", ""));
  CHECK(seen.headers[2] == HttpHeader("x-second", "two"));
  REQUIRE(seen.FindHeader("x-second") != nullptr);
  CHECK(*seen.FindHeader("x-second") == "two");
  CHECK(seen.FindHeader("x-missing") == nullptr);
}

TEST_CASE("HttpServer counts header bytes, not reads, against the limit", "[server]") {
  HttpServer::Options options;
  options.max_header_bytes = 1024;
  std::string got;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c(port);
    std::string req = "GET /near-limit HTTP/1.1\r\n";
    for (int i = 0; i < 10; ++i)
      req += "X-H" + std::to_string(i) + ": " + std::string(60, 'v') + "\r\n";
    req += "\r\n";
    REQUIRE(req.size() < 1000);
    for (char ch : req) c.Send(std::string(1, ch));
    got = c.ReadResponses(1);
  });
  CHECK(got.rfind("HTTP/1.1 200 OK", 0) == 0);
}

TEST_CASE("HttpServer answers 413 instead of 100 Continue to a body too large", "[server]") {
  HttpServer::Options options;
  options.max_body_bytes = 100;
  std::string got;
  bool closed = false;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("PUT /x HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(got.find("100 Continue") == std::string::npos);
  CHECK(got.find("payload_too_large") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer answers 408 to a client too slow to send its body", "[server]") {
  HttpServer::Options options;
  options.body_timeout_ms = 100;
  std::string got;
  bool closed = false;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(got.find("request_timeout") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer keeps an HTTP/1.0 connection alive when the client asks", "[server]") {
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.ReadResponses(1);
    c.Send("GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    got = c.ReadResponses(2);
  });
  CHECK(CountOf(got, "connection: keep-alive") == 2);
  CHECK(got.find("GET /2") != std::string::npos);
}

TEST_CASE("HttpServer closes an HTTP/1.1 connection after Connection: close", "[server]") {
  bool closed = false;
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET /bye HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(closed);
  CHECK(CountOf(got, "HTTP/1.1 200") == 1);
  CHECK(got.find("connection: close") != std::string::npos);
  CHECK(got.find("/ignored") == std::string::npos);
}

TEST_CASE("HttpServer drops response headers that would break the framing", "[server]") {
  std::string got;
  RunWithServer(
      {},
      [](HttpRequest&&, HttpResponder responder) {
        HttpResponse response;
        response.headers = {{"Content-Length", "999"},
                            {"x-evil", "a\r\nx-injected: b"},
                            {"Connection", "upgrade"},
                            {"x-fine", "yes"}};
        response.body = "ok";
        responder.Send(std::move(response));
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(2);
      },
      nullptr);
  CHECK(CountOf(got, "HTTP/1.1 200 OK") == 2);
  CHECK(CountOf(got, "content-length: 2\r\n") == 2);
  CHECK(got.find("999") == std::string::npos);
  CHECK(got.find("injected") == std::string::npos);
  CHECK(got.find("upgrade") == std::string::npos);
  CHECK(CountOf(got, "x-fine: yes\r\n") == 2);
}

TEST_CASE("HttpServer adds default headers and counts the requests it served", "[server]") {
  std::string got;
  uint64_t served = 0;
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  {
    HttpServer server(&loop, {}, Echo());
    server.AddDefaultHeader("x-flint-warning", "dev mode");
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    uint16_t port = server.port();
    std::atomic<bool> finished{false};
    std::thread client([&] {
      Client c(port);
      c.Send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nBAD\r\n\r\n");
      c.ReadUntilClosed();
      got = c.received();
      finished = true;
    });
    while (!finished) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    client.join();
    served = server.requests_served();
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(CountOf(got, "x-flint-warning: dev mode\r\n") == 3);
  CHECK(CountOf(got, "HTTP/1.1 200 OK") == 2);
  CHECK(got.find("HTTP/1.1 400") != std::string::npos);
  CHECK(served == 3);
}

TEST_CASE("HttpServer sends a large response whole to a client that reads late", "[server]") {
  const std::string big(8 * 1024 * 1024, 'z');
  std::string got;
  RunWithServer(
      {},
      [&](HttpRequest&& request, HttpResponder responder) {
        HttpResponse response;
        response.body = request.path == "/big" ? big : "small";
        responder.Send(std::move(response));
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n");
        usleep(200'000);  // let the kernel's buffers fill: the rest waits in libuv
        got = c.ReadResponses(2);
      });
  size_t body = got.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  CHECK(got.find("content-length: 8388608\r\n") < body);
  REQUIRE(got.size() >= body + 4 + big.size());
  CHECK(got.compare(body + 4, big.size(), big) == 0);
  CHECK(got.compare(body + 4 + big.size(), 8, "HTTP/1.1") == 0);
  CHECK(got.size() > body + 4 + big.size() + 5);
  CHECK(got.compare(got.size() - 5, 5, "small") == 0);
}

TEST_CASE("HttpServer answers deferred pipelined requests in order", "[server]") {
  std::string got;
  RunWithServer(
      {},
      [](HttpRequest&& request, HttpResponder responder) {
        // The first answers last if the server did not keep order.
        uint64_t delay = request.path == "/1" ? 80 : 5;
        auto shared = std::make_shared<HttpResponder>(std::move(responder));
        After(delay, [shared, path = request.path] {
          HttpResponse response;
          response.body = "answer" + path;
          shared->Send(std::move(response));
        });
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(3);
      });
  size_t a = got.find("answer/1"), b = got.find("answer/2"), c = got.find("answer/3");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
}

TEST_CASE("HttpServer rejects HTTP versions other than 1.x", "[server]") {
  std::string got;
  bool closed = false;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET / HTTP/2.0\r\n\r\n");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(closed);
}

TEST_CASE("HttpServer rejects a body framed both by length and by chunks", "[server]") {
  std::string got;
  bool handled = false;
  RunWithServer(
      {},
      [&](HttpRequest&&, HttpResponder responder) {
        handled = true;
        responder.Send({});
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send(
            "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n");
        c.ReadUntilClosed();
        got = c.received();
      });
  CHECK(got.rfind("HTTP/1.1 400", 0) == 0);
  CHECK_FALSE(handled);
}

TEST_CASE("HttpServer answers an Upgrade request as HTTP/1.1 and closes", "[server]") {
  std::string got;
  bool closed = false;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    c.Send("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nxyz");
    closed = c.ReadUntilClosed();
    got = c.received();
  });
  CHECK(got.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(got.find("GET /ws") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer closes connections beyond max_connections", "[server]") {
  HttpServer::Options options;
  options.max_connections = 1;
  std::string first, second;
  bool second_closed = false;
  RunWithServer(options, Echo(), [&](uint16_t port) {
    Client a(port);
    a.Send("GET /a HTTP/1.1\r\n\r\n");
    a.ReadResponses(1);  // accepted and counted
    Client b(port);
    second_closed = b.ReadUntilClosed();
    second = b.received();
    a.Send("GET /again HTTP/1.1\r\n\r\n");
    first = a.ReadResponses(2);
  });
  CHECK(second_closed);
  CHECK(second.empty());
  CHECK(first.find("GET /again") != std::string::npos);
}

TEST_CASE("HttpServer answers 500 when a handler throws", "[server]") {
  std::string got;
  RunWithServer(
      {}, [](HttpRequest&&, HttpResponder) { throw std::runtime_error("handler bug"); },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET / HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(1);
        c.Send("GET / HTTP/1.1\r\n\r\n");
        got = c.ReadResponses(2);
      });
  CHECK(CountOf(got, "HTTP/1.1 500") == 2);
  CHECK(got.find("\"code\":\"internal\"") != std::string::npos);
}

TEST_CASE("HttpResponder knows when its client left, and Send is then a no-op", "[server]") {
  bool alive_before = false, alive_after = true;
  std::atomic<bool> handled{false};
  RunWithServer(
      {},
      [&](HttpRequest&&, HttpResponder responder) {
        alive_before = responder.alive();
        handled = true;
        auto shared = std::make_shared<HttpResponder>(std::move(responder));
        After(150, [&, shared] {
          alive_after = shared->alive();
          shared->Send({});
          shared->Send({});  // a second Send is a no-op as well
        });
      },
      [&](uint16_t port) {
        {
          Client c(port);
          c.Send("GET / HTTP/1.1\r\n\r\n");
          while (!handled) usleep(1000);
        }
        usleep(300'000);
      });
  CHECK(alive_before);
  CHECK_FALSE(alive_after);
}

TEST_CASE("HttpServer::Shutdown closes idle connections at once and reports done", "[server]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  g_loop = &loop;
  bool done = false, closed = false;
  {
    HttpServer server(&loop, {}, Echo());
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    uint16_t port = server.port();
    std::atomic<bool> served{false};
    std::thread client([&] {
      Client c(port);
      c.Send("GET / HTTP/1.1\r\n\r\n");
      c.ReadResponses(1);
      served = true;
      closed = c.ReadUntilClosed();
    });
    while (!served || server.connection_count() == 0) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
    bool called_inline = false;
    server.Shutdown(60'000, [&] {
      done = true;
      called_inline = true;
    });
    CHECK_FALSE(called_inline);
    while (!done) uv_run(&loop, UV_RUN_ONCE);
    client.join();
    CHECK(server.connection_count() == 0);
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(closed);
}

TEST_CASE("HttpServer::Shutdown without connections reports done from the loop", "[server]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  int done = 0;
  {
    HttpServer server(&loop, {}, Echo());
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    server.Shutdown(1000, [&] { done++; });
    CHECK(done == 0);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(done == 1);
}

TEST_CASE("HttpServer::Shutdown closes what remains after the grace period", "[server]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  g_loop = &loop;
  bool done = false, closed = false;
  std::shared_ptr<HttpResponder> never;  // a handler that does not answer in time
  {
    HttpServer server(&loop, {}, [&](HttpRequest&&, HttpResponder responder) {
      never = std::make_shared<HttpResponder>(std::move(responder));
      server.Shutdown(50, [&] { done = true; });
    });
    REQUIRE(server.Listen("127.0.0.1", 0).ok());
    uint16_t port = server.port();
    std::thread client([&] {
      Client c(port);
      c.Send("GET / HTTP/1.1\r\n\r\n");
      closed = c.ReadUntilClosed();
    });
    while (!done) uv_run(&loop, UV_RUN_ONCE);
    client.join();
    CHECK(server.connection_count() == 0);
    CHECK_FALSE(never->alive());
    never.reset();  // destroyed after its connection: no 500, no crash
  }
  while (uv_run(&loop, UV_RUN_NOWAIT) != 0) {
  }
  CHECK(uv_loop_close(&loop) == 0);
  CHECK(closed);
}

TEST_CASE("HttpServer parses pipelined requests however the reads split them", "[server]") {
  std::string stream;
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    stream += i % 2 == 0 ? "GET /g" + n + "?i=" + n + " HTTP/1.1\r\nHost: t\r\n\r\n"
                         : "POST /p" + n + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nb" +
                               n.substr(0, 1) + "x\r\n0\r\n\r\n";
  }
  std::string got;
  RunWithServer({}, Echo(), [&](uint16_t port) {
    Client c(port);
    uint32_t seed = 12345;
    for (size_t off = 0; off < stream.size();) {
      seed = seed * 1103515245 + 12345;
      size_t n = std::min<size_t>(stream.size() - off, 1 + (seed >> 16) % 97);
      c.Send(stream.substr(off, n));
      off += n;
    }
    got = c.ReadResponses(40);
  });
  CHECK(CountOf(got, "HTTP/1.1 200 OK") == 40);
  size_t last = 0;
  for (int i = 0; i < 40; ++i) {
    std::string n = std::to_string(i);
    std::string expected = i % 2 == 0 ? "GET /g" + n + " q=i=" + n + " body="
                                      : "POST /p" + n + " q= body=b" + n.substr(0, 1) + "x";
    size_t at = got.find(expected, last);
    INFO(expected);
    REQUIRE(at != std::string::npos);
    last = at;
  }
}

TEST_CASE("HttpServer sends a large last response whole before it closes", "[server]") {
  const std::string big(8 * 1024 * 1024, 'q');
  std::string got;
  bool closed = false;
  RunWithServer(
      {},
      [&](HttpRequest&&, HttpResponder responder) {
        HttpResponse response;
        response.body = big;
        responder.Send(std::move(response));
      },
      [&](uint16_t port) {
        Client c(port);
        c.Send("GET /big HTTP/1.0\r\n\r\n");
        usleep(200'000);
        closed = c.ReadUntilClosed();
        got = c.received();
      });
  CHECK(closed);
  size_t body = got.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  CHECK(got.find("connection: close") < body);
  CHECK(got.size() == body + 4 + big.size());
}

TEST_CASE("Every 503 error response carries Retry-After, which SetRetryAfter replaces",
          "[server]") {
  HttpResponse busy = ErrorResponse(Unavailable("store: insert event: database or disk is full"));
  CHECK(busy.status == 503);
  auto retry_after = [](const HttpResponse& r) {
    std::vector<std::string> values;
    for (const auto& [name, value] : r.headers) {
      if (name == "retry-after") values.push_back(value);
    }
    return values;
  };
  CHECK(retry_after(busy) == std::vector<std::string>{std::to_string(kRetryAfterSeconds)});
  SetRetryAfter(busy, 12);
  CHECK(retry_after(busy) == std::vector<std::string>{"12"});
  CHECK(retry_after(ErrorResponse(NotFound("no route"))).empty());
}
