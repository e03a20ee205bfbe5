#include "sdk/client/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/support/fake_server.h"

using flint::Code;
using flint::client::HttpClient;
using flint::client::HttpClientOptions;
using flint::client::HttpRequest;
using flint::client::HttpUrl;
using flint::client::ParseHttpUrl;
using flint::testing::FakeReply;
using flint::testing::FakeServer;
using flint::testing::RecordedRequest;

namespace {

HttpUrl UrlOf(const FakeServer& server) { return ParseHttpUrl(server.url()).value(); }

// A port with nothing listening: bind, read the port, close.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("ParseHttpUrl accepts host, port, IPv6 and a path prefix", "[client][url]") {
  auto u = ParseHttpUrl("http://127.0.0.1:41234\n");
  REQUIRE(u.ok());
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 41234);
  CHECK(u->path_prefix.empty());
  CHECK(u->ToString() == "http://127.0.0.1:41234");

  auto named = ParseHttpUrl("HTTP://localhost");
  REQUIRE(named.ok());
  CHECK(named->port == 80);

  auto v6 = ParseHttpUrl("http://[::1]:8080/base/");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->path_prefix == "/base");
  CHECK(v6->ToString() == "http://[::1]:8080/base");
}

TEST_CASE("ParseHttpUrl rejects what it cannot serve", "[client][url]") {
  for (const char* bad :
       {"", "127.0.0.1:8080", "https://x:1", "http://", "http://:80", "http://h:0",
        "http://h:70000", "http://h:8x", "http://u@h:1", "http://h:1/a?b", "http://[::1"}) {
    INFO(bad);
    auto u = ParseHttpUrl(bad);
    CHECK_FALSE(u.ok());
    CHECK(u.status().code() == Code::kInvalidArgument);
  }
  CHECK(ParseHttpUrl("https://x").status().message().find("https is not supported") !=
        std::string::npos);
}

TEST_CASE("SerializeRequest frames the request and refuses injections", "[client][wire]") {
  HttpUrl url = ParseHttpUrl("http://127.0.0.1:9000/p").value();
  HttpRequest r;
  r.method = "POST";
  r.target = "/fn/x?a=1";
  r.headers = {{"Content-Type", "application/json"}};
  r.body = "{}";
  auto wire = flint::client::SerializeRequest(r, url, /*keep_alive=*/false);
  REQUIRE(wire.ok());
  CHECK(*wire ==
        "POST /p/fn/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}");

  HttpRequest get;
  auto get_wire = flint::client::SerializeRequest(get, url, true);
  REQUIRE(get_wire.ok());
  CHECK(get_wire->find("Content-Length") == std::string::npos);

  HttpRequest bad = get;
  bad.headers = {{"X", "a\r\nInjected: 1"}};
  CHECK_FALSE(flint::client::SerializeRequest(bad, url, true).ok());
  bad = get;
  bad.target = "/a b";
  CHECK_FALSE(flint::client::SerializeRequest(bad, url, true).ok());
  bad = get;
  bad.method = "GE T";
  CHECK_FALSE(flint::client::SerializeRequest(bad, url, true).ok());
  bad = get;
  bad.headers = {{"Content-Length", "5"}};
  CHECK_FALSE(flint::client::SerializeRequest(bad, url, true).ok());
}

TEST_CASE("HttpClient reuses a kept-alive connection", "[client][socket]") {
  FakeServer server([](const RecordedRequest& r) {
    return FakeReply{FakeServer::Response(200, "you said " + r.body)};
  });
  HttpClient client(UrlOf(server));
  auto a = client.Post("/one", "a");
  REQUIRE(a.ok());
  CHECK(a->status == 200);
  CHECK(a->body == "you said a");
  CHECK(client.connected());
  auto b = client.Post("/two", "b");
  REQUIRE(b.ok());
  CHECK(b->body == "you said b");
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].connection == requests[1].connection);
  CHECK(requests[1].Target() == "/two");
  CHECK(requests[1].Header("content-type") == "application/json");
}

TEST_CASE("HttpClient reads chunked responses from a socket", "[client][socket]") {
  FakeServer server([](const RecordedRequest&) {
    return FakeReply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"};
  });
  HttpClient client(UrlOf(server));
  auto r = client.Get("/");
  REQUIRE(r.ok());
  CHECK(r->body == "abc");
}

TEST_CASE("HttpClient retries once when the server closed an idle connection", "[client][socket]") {
  // The server answers the first request, then closes: the client does not know yet.
  FakeServer server([](const RecordedRequest& r) {
    return FakeReply{FakeServer::Response(200, r.Target()), /*close=*/true};
  });
  HttpClient client(UrlOf(server));
  REQUIRE(client.Get("/a").ok());
  // Give the server time to close its end.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto r = client.Get("/b");
  REQUIRE(r.ok());
  CHECK(r->body == "/b");
  CHECK(server.connections() == 2);
}

TEST_CASE("HttpClient closes after Connection: close and without keep-alive", "[client][socket]") {
  FakeServer server([](const RecordedRequest&) {
    return FakeReply{FakeServer::Response(200, "x", "text/plain", "Connection: close\r\n"), true};
  });
  HttpClient client(UrlOf(server));
  REQUIRE(client.Get("/").ok());
  CHECK_FALSE(client.connected());

  HttpClientOptions options;
  options.keep_alive = false;
  FakeServer server2(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(200, "")}; });
  HttpClient client2(UrlOf(server2), options);
  REQUIRE(client2.Get("/").ok());
  CHECK_FALSE(client2.connected());
  CHECK(server2.requests().at(0).Header("connection") == "close");
}

TEST_CASE("HttpClient reports a refused connection as unavailable", "[client][socket]") {
  HttpUrl url;
  url.host = "127.0.0.1";
  url.port = static_cast<uint16_t>(ClosedPort());
  HttpClient client(url);
  auto r = client.Get("/");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message() == "connection refused");
}

TEST_CASE("HttpClient gives up on a server that does not answer", "[client][socket]") {
  FakeServer server([](const RecordedRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return FakeReply{FakeServer::Response(200, "late")};
  });
  HttpClientOptions options;
  options.io_timeout_ms = 100;
  HttpClient client(UrlOf(server), options);
  auto r = client.Get("/");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kRequestTimeout);
  CHECK_FALSE(client.connected());
}

TEST_CASE("HttpClient reports a connection closed without an answer", "[client][socket]") {
  FakeServer server([](const RecordedRequest&) { return FakeReply{"", /*close=*/true}; });
  HttpClient client(UrlOf(server));
  auto r = client.Get("/");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kIo);
  CHECK(r.status().message() == "connection closed before any response");
}
