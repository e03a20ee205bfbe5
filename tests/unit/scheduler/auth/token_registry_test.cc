#include "scheduler/auth/token_registry.h"

#include <catch2/catch.hpp>

using namespace flint;
using namespace flint::scheduler;
using namespace flint::scheduler::auth;

namespace {

TokenRecord Token(const std::string& name, const std::string& secret, const std::string& scopes,
                  int64_t expires_at_ms = 0) {
  TokenRecord t;
  t.name = name;
  t.sha256 = Sha256Hex(secret);
  t.scopes = scopes;
  t.created_at_ms = 1000;
  t.expires_at_ms = expires_at_ms;
  return t;
}

std::string Bearer(const std::string& secret) { return "Bearer " + secret; }

}  // namespace

TEST_CASE("TokenRegistry accepts a known token and gives its name and scopes", "[auth]") {
  TokenRegistry registry;
  REQUIRE(registry.Put(Token("ci", "secret-ci", "deploy,read")).ok());
  REQUIRE(registry.Put(Token("admin", "secret-admin", "admin")).ok());
  std::string header = Bearer("secret-ci");
  auto who = registry.Authenticate(&header, 5000);
  REQUIRE(who.ok());
  CHECK(who->token_name == "ci");
  CHECK(who->scopes.Allows(Scope::kDeploy));
  CHECK_FALSE(who->scopes.Allows(Scope::kInvoke));
  std::string lower = "bearer secret-admin";
  auto admin = registry.Authenticate(&lower, 5000);
  REQUIRE(admin.ok());
  CHECK(admin->token_name == "admin");
}

TEST_CASE("TokenRegistry refuses missing, malformed and unknown tokens with clear messages",
          "[auth]") {
  TokenRegistry registry;
  REQUIRE(registry.Put(Token("ci", "secret-ci", "read")).ok());
  auto none = registry.Authenticate(nullptr, 0);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Code::kUnauthenticated);
  CHECK(none.status().message().rfind("missing bearer token", 0) == 0);
  std::string basic = "Basic dXNlcjpwYXNz";
  auto malformed = registry.Authenticate(&basic, 0);
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.status().message().rfind("malformed Authorization header", 0) == 0);
  std::string wrong = Bearer("secret-cj");
  auto unknown = registry.Authenticate(&wrong, 0);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() == "invalid bearer token");
}

TEST_CASE("TokenRegistry refuses a revoked token and an expired one", "[auth]") {
  TokenRegistry registry;
  REQUIRE(registry.Put(Token("old", "secret-old", "read")).ok());
  REQUIRE(registry.Put(Token("brief", "secret-brief", "read", /*expires_at_ms=*/10'000)).ok());
  std::string old_header = Bearer("secret-old");
  REQUIRE(registry.Authenticate(&old_header, 0).ok());
  CHECK(registry.Revoke("old", 2000));
  CHECK_FALSE(registry.Revoke("nobody", 2000));
  auto revoked = registry.Authenticate(&old_header, 3000);
  REQUIRE_FALSE(revoked.ok());
  CHECK(revoked.status().message() == "token 'old' was revoked");

  std::string brief = Bearer("secret-brief");
  CHECK(registry.Authenticate(&brief, 9'999).ok());
  auto expired = registry.Authenticate(&brief, 10'000);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.status().message() == "token 'brief' expired at 1970-01-01T00:00:10Z");
}

TEST_CASE("TokenRegistry replaces a token of the same name and lists tokens by name", "[auth]") {
  TokenRegistry registry;
  REQUIRE(registry.Put(Token("ci", "first", "read")).ok());
  REQUIRE(registry.Put(Token("ab", "other", "billing")).ok());
  REQUIRE(registry.Put(Token("ci", "second", "deploy")).ok());
  std::string first = Bearer("first");
  std::string second = Bearer("second");
  CHECK_FALSE(registry.Authenticate(&first, 0).ok());
  auto who = registry.Authenticate(&second, 0);
  REQUIRE(who.ok());
  CHECK(who->scopes.Allows(Scope::kDeploy));
  auto list = registry.List();
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "ab");
  CHECK(list[1].name == "ci");
  CHECK(list[1].scopes == "deploy");
}

TEST_CASE("TokenRegistry refuses a token with unknown scopes and keeps the old one", "[auth]") {
  TokenRegistry registry;
  REQUIRE(registry.Put(Token("ci", "first", "read")).ok());
  CHECK_FALSE(registry.Put(Token("ci", "second", "read,sudo")).ok());
  std::string first = Bearer("first");
  CHECK(registry.Authenticate(&first, 0).ok());
  CHECK(registry.size() == 1);
}
