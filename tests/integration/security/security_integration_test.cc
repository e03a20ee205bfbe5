// flintd's security against a running server (docs/security.md): scoped tokens (none, wrong,
// revoked, expired, wrong scope), private functions, rate limits, and oversize, malformed, slow
// and idle requests while a well-behaved client keeps getting answers. Each TEST_CASE starts its
// own flintd on a free port with a fresh data directory. The refusals are asserted exactly;
// nothing asserts on latency (waits are polls with generous bounds).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::JsonOrFail;
using flint::testing::StartOrFail;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kEcho = R"(export const handler = async (event) => ({ headers: event.headers });
)";

HttpResponse Call(const FlintdProcess& flintd, const std::string& method, const std::string& target,
                  const std::string& token, const std::string& body = "",
                  std::vector<flint::client::Header> headers = {}) {
  flint::client::HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers = std::move(headers);
  if (!token.empty()) request.headers.push_back({"Authorization", "Bearer " + token});
  if (!body.empty()) request.headers.push_back({"Content-Type", "application/json"});
  request.body = body;
  auto r = flintd.Http(request);
  INFO(method << " " << target << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string ErrorCode(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}
std::string ErrorMessage(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].value("message", "");
}

// Creates a token with the admin token; returns its secret.
std::string CreateToken(const FlintdProcess& flintd, const std::string& name,
                        const std::vector<std::string>& scopes, int expires_in_s = 0) {
  json body = {{"name", name}, {"scopes", scopes}};
  if (expires_in_s > 0) body["expires_in_s"] = expires_in_s;
  HttpResponse r = Call(flintd, "POST", "/v1/tokens", flintd.token(), body.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  json j = JsonOrFail(r.body);
  std::string secret = j.value("secret", "");
  REQUIRE(secret.rfind("flint_", 0) == 0);
  return secret;
}

int Port(const FlintdProcess& flintd) {
  return std::stoi(flintd.url().substr(flintd.url().rfind(':') + 1));
}

// A plain TCP connection to flintd (closed on destruction).
struct RawConnection {
  int fd = -1;
  explicit RawConnection(int port) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      fd = -1;
    }
  }
  ~RawConnection() {
    if (fd >= 0) close(fd);
  }
  bool Send(const std::string& bytes) const {
    return fd >= 0 &&
           send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Everything flintd sends until it closes the connection (or `timeout_ms` passes).
  std::string ReadUntilClosed(int timeout_ms = 30'000) const {
    std::string out;
    char buf[4096];
    for (int waited = 0; waited < timeout_ms;) {
      pollfd p{fd, POLLIN, 0};
      int n = poll(&p, 1, 100);
      if (n == 0) {
        waited += 100;
        continue;
      }
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
};

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

}  // namespace

TEST_CASE("Management routes refuse missing, wrong, revoked, expired and wrong-scope tokens",
          "[integration][security]") {
  FlintdProcess flintd;
  StartOrFail(flintd);

  HttpResponse none = Call(flintd, "GET", "/v1/functions", "");
  CHECK(none.status == 401);
  CHECK(ErrorCode(none) == "unauthenticated");
  CHECK(ErrorMessage(none).rfind("missing bearer token", 0) == 0);
  CHECK(none.FindHeader("www-authenticate") != nullptr);

  HttpResponse wrong = Call(flintd, "GET", "/v1/functions", "flint_" + std::string(64, '0'));
  CHECK(wrong.status == 401);
  CHECK(ErrorMessage(wrong) == "invalid bearer token");

  std::string reader = CreateToken(flintd, "reader", {"read"});
  CHECK(Call(flintd, "GET", "/v1/functions", reader).status == 200);
  HttpResponse denied = Call(flintd, "DELETE", "/v1/functions/hello", reader);
  CHECK(denied.status == 403);
  CHECK(ErrorCode(denied) == "permission_denied");
  CHECK(ErrorMessage(denied) ==
        "token 'reader' lacks the deploy scope that DELETE /v1/functions/hello needs");
  HttpResponse no_billing = Call(flintd, "GET", "/v1/billing", reader);
  CHECK(no_billing.status == 403);
  HttpResponse no_tokens = Call(flintd, "GET", "/v1/tokens", reader);
  CHECK(no_tokens.status == 403);
  CHECK(ErrorMessage(no_tokens) ==
        "token 'reader' lacks the admin scope that GET /v1/tokens needs");

  // A deploy token deploys (through the CLI) but cannot read billing.
  std::string deployer = CreateToken(flintd, "deployer", {"deploy"});
  CliResult deployed = flintd.DeployJs("hello", kEcho);
  REQUIRE(deployed.exit_code == 0);
  flint::testing::TempDir code;
  code.Write("index.mjs", kEcho);
  CliResult by_deployer =
      flintd.RunCli({"deploy", "hello", code.path() + "/index.mjs"}, {{"FLINT_TOKEN", deployer}});
  INFO(by_deployer.Describe());
  CHECK(by_deployer.exit_code == 0);
  CHECK(Call(flintd, "GET", "/v1/billing", deployer).status == 403);

  // Revoked: refused by name, and listed as revoked.
  CHECK(Call(flintd, "DELETE", "/v1/tokens/reader", flintd.token()).status == 200);
  HttpResponse revoked = Call(flintd, "GET", "/v1/functions", reader);
  CHECK(revoked.status == 401);
  CHECK(ErrorMessage(revoked) == "token 'reader' was revoked");
  CHECK(Call(flintd, "DELETE", "/v1/tokens/reader", flintd.token()).status == 404);
  HttpResponse admin_revoke = Call(flintd, "DELETE", "/v1/tokens/admin", flintd.token());
  CHECK(admin_revoke.status == 400);

  // Expired: accepted until its expiry, then refused with the time it expired.
  std::string brief = CreateToken(flintd, "brief", {"read"}, /*expires_in_s=*/1);
  bool expired = WaitUntil(
      [&] {
        HttpResponse r = Call(flintd, "GET", "/v1/functions", brief);
        return r.status == 401 && ErrorMessage(r).rfind("token 'brief' expired at ", 0) == 0;
      },
      20s, 200ms);
  CHECK(expired);

  json list = JsonOrFail(Call(flintd, "GET", "/v1/tokens", flintd.token()).body);
  std::map<std::string, std::string> states;
  for (const json& t : list["tokens"]) states[t["name"]] = t["state"];
  CHECK(states["admin"] == "active");
  CHECK(states["deployer"] == "active");
  CHECK(states["reader"] == "revoked");
  CHECK(states["brief"] == "expired");
  CHECK(list.dump().find("secret") == std::string::npos);
  CHECK(list.dump().find("sha256") == std::string::npos);

  // Tokens survive a restart (only their hashes are stored).
  REQUIRE(flintd.Restart().ok());
  CHECK(Call(flintd, "PUT", "/v1/functions/hello", deployer, "{}").status == 400);
  CHECK(Call(flintd, "GET", "/v1/functions", reader).status == 401);

  // Bad token requests are refused with the reason.
  HttpResponse bad_scope =
      Call(flintd, "POST", "/v1/tokens", flintd.token(), R"({"name":"x","scopes":["root"]})");
  CHECK(bad_scope.status == 400);
  CHECK(ErrorMessage(bad_scope) ==
        "unknown scope 'root': use admin, deploy, invoke, read or billing");
  HttpResponse taken = Call(flintd, "POST", "/v1/tokens", flintd.token(),
                            R"({"name":"deployer","scopes":["read"]})");
  CHECK(taken.status == 409);
}

TEST_CASE("flint token create, ls and revoke manage scoped tokens", "[integration][security]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  CliResult created = flintd.RunCli(
      {"token", "create", "ci", "--scope", "deploy", "--scope", "read", "--expires", "30d"});
  INFO(created.Describe());
  REQUIRE(created.exit_code == 0);
  CHECK(created.out.rfind("created token ci (scopes deploy,read, expires ", 0) == 0);
  size_t at = created.out.find("flint_");
  REQUIRE(at != std::string::npos);
  std::string secret = created.out.substr(at, 6 + 64);
  CHECK(Call(flintd, "GET", "/v1/pools", secret).status == 200);

  CliResult list = flintd.RunCli({"token", "ls"});
  INFO(list.Describe());
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("ci ") != std::string::npos);
  CHECK(list.out.find("deploy,read") != std::string::npos);
  CHECK(list.out.find(secret) == std::string::npos);

  CliResult bad = flintd.RunCli({"token", "create", "x", "--scope", "deploy", "--expires", "soon"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--expires: invalid expiry 'soon'") != std::string::npos);

  CliResult revoked = flintd.RunCli({"token", "revoke", "ci"});
  INFO(revoked.Describe());
  REQUIRE(revoked.exit_code == 0);
  CHECK(revoked.out == "revoked token ci\n");
  CHECK(Call(flintd, "GET", "/v1/pools", secret).status == 401);
  // With the revoked token, the CLI says why.
  CliResult refused = flintd.RunCli({"ls"}, {{"FLINT_TOKEN", secret}});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("token 'ci' was revoked") != std::string::npos);
}

TEST_CASE("A private function needs a token with the invoke scope; a public one does not",
          "[integration][security]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "open", kEcho);
  DeployJsOrFail(flintd, "closed", kEcho, {"--private"});
  std::string invoker = CreateToken(flintd, "invoker", {"invoke"});
  std::string reader = CreateToken(flintd, "reader", {"read"});

  CHECK(Call(flintd, "GET", "/fn/open", "").status == 200);
  HttpResponse anonymous = Call(flintd, "GET", "/fn/closed", "");
  CHECK(anonymous.status == 401);
  CHECK(ErrorMessage(anonymous) ==
        "function 'closed' is private: missing bearer token: send 'Authorization: Bearer "
        "<token>' (the admin token is in <data-dir>/admin.token)");
  HttpResponse wrong = Call(flintd, "GET", "/fn/closed", "flint_" + std::string(64, 'a'));
  CHECK(wrong.status == 401);
  CHECK(ErrorMessage(wrong) == "function 'closed' is private: invalid bearer token");
  HttpResponse no_scope = Call(flintd, "GET", "/fn/closed", reader);
  CHECK(no_scope.status == 403);
  CHECK(ErrorMessage(no_scope) ==
        "token 'reader' lacks the invoke scope that private function 'closed' needs");
  HttpResponse missing = Call(flintd, "GET", "/fn/nothing-here", "");
  CHECK(missing.status == 404);

  HttpResponse allowed = Call(flintd, "GET", "/fn/closed", invoker, "", {{"X-Probe", "1"}});
  INFO(allowed.body);
  REQUIRE(allowed.status == 200);
  json seen = JsonOrFail(allowed.body);
  CHECK(seen["headers"]["x-probe"] == "1");
  CHECK_FALSE(seen["headers"].contains("authorization"));  // the token is not passed on
  CHECK(Call(flintd, "GET", "/fn/closed", flintd.token()).status == 200);  // admin may
  // A public function never sees a Flint token either; other schemes reach it.
  json open_seen = JsonOrFail(Call(flintd, "GET", "/fn/open", invoker).body);
  CHECK_FALSE(open_seen["headers"].contains("authorization"));
  json basic_seen =
      JsonOrFail(Call(flintd, "GET", "/fn/open", "", "", {{"Authorization", "Basic dTpw"}}).body);
  CHECK(basic_seen["headers"]["authorization"] == "Basic dTpw");

  // Async submissions need the token too.
  HttpResponse async_anonymous =
      Call(flintd, "POST", "/fn/closed", "", "{}", {{"X-Flint-Invocation-Type", "Event"}});
  CHECK(async_anonymous.status == 401);
  HttpResponse async_ok =
      Call(flintd, "POST", "/fn/closed", invoker, "{}", {{"X-Flint-Invocation-Type", "Event"}});
  CHECK(async_ok.status == 202);

  // Topic publishes need the invoke scope.
  CHECK(Call(flintd, "POST", "/v1/subscriptions", flintd.token(),
             R"({"topic":"orders","function":"closed"})")
            .status == 201);
  CHECK(Call(flintd, "POST", "/v1/topics/orders", reader, "{}").status == 403);
  CHECK(Call(flintd, "POST", "/v1/topics/orders", invoker, "{}").status == 202);

  // Describe says which it is; flint invoke sends the token it has.
  json info = JsonOrFail(Call(flintd, "GET", "/v1/functions/closed", reader).body);
  CHECK(info["function"]["visibility"] == "private");
  CliResult invoked = flintd.RunCli({"invoke", "closed"}, {{"FLINT_TOKEN", invoker}});
  INFO(invoked.Describe());
  CHECK(invoked.exit_code == 0);

  // A later deploy keeps it private, as every setting is kept; --public opens it.
  DeployJsOrFail(flintd, "closed", kEcho);
  CHECK(Call(flintd, "GET", "/fn/closed", "").status == 401);
  CliResult opened = flintd.RunCli({"config", "closed", "--public"});
  INFO(opened.Describe());
  REQUIRE(opened.exit_code == 0);
  CHECK(Call(flintd, "GET", "/fn/closed", "").status == 200);
  CliResult both = flintd.RunCli({"config", "closed", "--public", "--private"});
  CHECK(both.exit_code != 0);
  CHECK(both.err.find("--private and --public exclude each other") != std::string::npos);
}

TEST_CASE("Rate limits answer 429 with Retry-After per client address and per token",
          "[integration][security]") {
  // A burst of 3 and a refill so slow that no request in this test is let through by it.
  FlintdProcess flintd({"--rate-limit-management", "0.01/3", "--rate-limit-invoke", "0.01/4"});
  StartOrFail(flintd);
  for (int i = 0; i < 3; ++i) CHECK(Call(flintd, "GET", "/v1/pools", flintd.token()).status == 200);
  HttpResponse limited = Call(flintd, "GET", "/v1/pools", flintd.token());
  CHECK(limited.status == 429);
  CHECK(ErrorCode(limited) == "too_many_requests");
  CHECK(ErrorMessage(limited).rfind("rate limit of this client address exceeded", 0) == 0);
  const std::string* retry = limited.FindHeader("retry-after");
  REQUIRE(retry != nullptr);
  CHECK(std::stoi(*retry) >= 1);
  // Unauthenticated guesses count too: the address stays limited whatever it sends.
  CHECK(Call(flintd, "GET", "/v1/pools", "").status == 429);
  // Invocations have their own budget; /healthz has none.
  for (int i = 0; i < 4; ++i) CHECK(Call(flintd, "GET", "/fn/nothing", "").status == 404);
  CHECK(Call(flintd, "GET", "/fn/nothing", "").status == 429);
  CHECK(Call(flintd, "GET", "/healthz", "").status == 200);
}

TEST_CASE("Oversize and malformed requests get exact refusals and flintd keeps serving",
          "[integration][security]") {
  FlintdProcess flintd({"--max-body", "1024"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "open", kEcho);
  int port = Port(flintd);

  HttpResponse big = Call(flintd, "POST", "/fn/open", "", std::string(2048, 'x'));
  CHECK(big.status == 413);
  CHECK(ErrorCode(big) == "payload_too_large");

  RawConnection garbage(port);
  REQUIRE(garbage.Send("NOT HTTP AT ALL\r\n\r\n"));
  CHECK(StatusLine(garbage.ReadUntilClosed()) == "HTTP/1.1 400 Bad Request");

  RawConnection huge_headers(port);
  REQUIRE(huge_headers.Send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n"));
  CHECK(StatusLine(huge_headers.ReadUntilClosed()) ==
        "HTTP/1.1 431 Request Header Fields Too Large");

  RawConnection bad_length(port);
  REQUIRE(bad_length.Send("POST /fn/open HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"));
  CHECK(StatusLine(bad_length.ReadUntilClosed()) == "HTTP/1.1 400 Bad Request");

  std::string deploy_junk = "{\"files\": 12}";
  HttpResponse bad_deploy = Call(flintd, "PUT", "/v1/functions/open", flintd.token(), deploy_junk);
  CHECK(bad_deploy.status == 400);
  CHECK(Call(flintd, "GET", "/fn/open", "").status == 200);  // the old version still serves
}

TEST_CASE("Slow and idle connections do not stop a well-behaved client",
          "[integration][security]") {
  FlintdProcess flintd({"--header-timeout", "1s"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "open", kEcho);
  int port = Port(flintd);

  // 5,000 connections that never send a byte, and one that sends its headers a byte at a time
  // and never finishes them. Each end of each is a descriptor: this process raises its own
  // open-file limit, as flintd does at start.
  constexpr int kIdle = 5000;
  constexpr rlim_t kSpare = 256;
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur < kIdle + kSpare) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, kIdle + kSpare);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
  }
  const int idle_count = static_cast<int>(std::min<rlim_t>(kIdle, limit.rlim_cur - kSpare));
  if (idle_count < kIdle) {
    WARN("open-file hard limit " << limit.rlim_max << ": " << idle_count
                                 << " idle connections instead of " << kIdle);
  }
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < idle_count; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(idle.back()->fd >= 0);
  }
  RawConnection slow(port);
  REQUIRE(slow.Send("GET /healthz HTTP/1.1\r\n"));
  REQUIRE(slow.Send("X-A: "));
  for (int i = 0; i < 20; ++i) {
    slow.Send("a");  // may fail once flintd has cut it off
    HttpResponse r = Call(flintd, "GET", "/fn/open", "");
    CHECK(r.status == 200);
  }
  // The slow client is cut off with 408 once its header time is up.
  CHECK(StatusLine(slow.ReadUntilClosed()) == "HTTP/1.1 408 Request Timeout");
  CHECK(Call(flintd, "GET", "/healthz", "").status == 200);
  idle.clear();
  CHECK(Call(flintd, "GET", "/fn/open", "").status == 200);
}
