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
       {"", "127.0.0.1:8080", "ftp://x:1", "http://", "http://:80", "http://h:0", "http://h:70000",
        "http://h:8x", "http://u@h:1", "http://h:1/a?b", "http://[::1"}) {
    INFO(bad);
    auto u = ParseHttpUrl(bad);
    CHECK_FALSE(u.ok());
    CHECK(u.status().code() == Code::kInvalidArgument);
  }
}

TEST_CASE("ParseHttpUrl accepts https with port 443 by default", "[client][url]") {
  auto u = ParseHttpUrl("https://flint.example.com");
  REQUIRE(u.ok());
  CHECK(u->tls);
  CHECK(u->port == 443);
  CHECK(u->ToString() == "https://flint.example.com:443");
}

TEST_CASE("PercentEncode and BuildTarget escape every segment and query value", "[client][url]") {
  CHECK(flint::client::PercentEncode("bad topic!") == "bad%20topic%21");
  CHECK(flint::client::PercentEncode("a?b/c&d=e#f") == "a%3Fb%2Fc%26d%3De%23f");
  CHECK(flint::client::PercentEncode("Az09-._~") == "Az09-._~");
  CHECK(flint::client::BuildTarget({"v1", "topics", "a?b"}) == "/v1/topics/a%3Fb");
  CHECK(flint::client::BuildTarget({"v1", "schedules"}, {{"function", "a b"}, {"x", ""}}) ==
        "/v1/schedules?function=a%20b");
}

TEST_CASE("ValidateRequest refuses what would break the request", "[client][wire]") {
  HttpRequest get;
  CHECK(flint::client::ValidateRequest(get).ok());
  HttpRequest bad = get;
  bad.headers = {{"X", "a\r\nInjected: 1"}};
  CHECK_FALSE(flint::client::ValidateRequest(bad).ok());
  bad = get;
  bad.target = "/a b";
  CHECK_FALSE(flint::client::ValidateRequest(bad).ok());
  bad = get;
  bad.target = "no-slash";
  CHECK_FALSE(flint::client::ValidateRequest(bad).ok());
  bad = get;
  bad.method = "GE T";
  CHECK_FALSE(flint::client::ValidateRequest(bad).ok());
  bad = get;
  bad.headers = {{"Content-Length", "5"}};
  CHECK_FALSE(flint::client::ValidateRequest(bad).ok());
}

TEST_CASE("HttpClient sends the method, path prefix, headers and body as given",
          "[client][socket]") {
  FakeServer server(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(200, "")}; });
  HttpUrl url = UrlOf(server);
  url.path_prefix = "/p";
  HttpClient client(url);
  HttpRequest r;
  r.method = "PATCH";
  r.target = "/fn/x/../y?a=1";
  r.headers = {{"X-Empty", ""}, {"Content-Type", "text/plain"}};
  r.body = std::string(2 << 20, 'b');  // large: sent without waiting for 100 Continue
  REQUIRE(client.Send(r).ok());
  HttpRequest del;
  del.method = "DELETE";
  del.target = "/d";
  REQUIRE(client.Send(del).ok());
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].Method() == "PATCH");
  CHECK(requests[0].Target() == "/p/fn/x/../y?a=1");
  CHECK(requests[0].Header("content-type") == "text/plain");
  CHECK(requests[0].Header("expect").empty());
  CHECK(requests[0].head.find("X-Empty:") != std::string::npos);
  CHECK(requests[0].body.size() == r.body.size());
  CHECK(requests[1].Method() == "DELETE");
  CHECK(requests[1].Header("content-type").empty());
  CHECK(requests[1].body.empty());
}

TEST_CASE("HttpClient reports upload progress", "[client][socket]") {
  FakeServer server(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(200, "")}; });
  HttpClient client(UrlOf(server));
  uint64_t last_uploaded = 0, total = 0;
  client.set_progress([&](const flint::client::TransferProgress& p) {
    last_uploaded = p.uploaded;
    total = p.upload_total;
  });
  REQUIRE(client.Post("/up", std::string(1 << 20, 'x')).ok());
  CHECK(total == (1u << 20));
  CHECK(last_uploaded == (1u << 20));
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
  REQUIRE(client.Get("/").ok());
  CHECK(server.connections() == 2);

  HttpClientOptions options;
  options.keep_alive = false;
  FakeServer server2(
      [](const RecordedRequest&) { return FakeReply{FakeServer::Response(200, "")}; });
  HttpClient client2(UrlOf(server2), options);
  REQUIRE(client2.Get("/").ok());
  REQUIRE(client2.Get("/").ok());
  CHECK(server2.connections() == 2);
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
  // The bound is in whole seconds (libcurl's low-speed limit): 1 s against a 4 s silence.
  FakeServer server([](const RecordedRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    return FakeReply{FakeServer::Response(200, "late")};
  });
  HttpClientOptions options;
  options.io_timeout_ms = 1000;
  HttpClient client(UrlOf(server), options);
  auto r = client.Get("/");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kRequestTimeout);
}

TEST_CASE("HttpClient reports a connection closed without an answer", "[client][socket]") {
  FakeServer server([](const RecordedRequest&) { return FakeReply{"", /*close=*/true}; });
  HttpClient client(UrlOf(server));
  auto r = client.Get("/");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kIo);
  CHECK(r.status().message() == "connection closed before any response");
}
