// The Store's scoped tokens (migration 9): create, list, revoke, name reuse after revocation.
#include <catch2/catch.hpp>

#include "scheduler/store/store.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using namespace flint;
using namespace flint::scheduler;
using flint::scheduler::testing::TempDir;

namespace {

TokenRecord Token(const std::string& name, const std::string& secret) {
  TokenRecord t;
  t.name = name;
  t.sha256 = Sha256Hex(secret);
  t.scopes = "deploy,read";
  t.created_at_ms = 1000;
  return t;
}

}  // namespace

TEST_CASE("Store records scoped tokens and lists them with expiry and revocation", "[store]") {
  TempDir tmp;
  auto store = Store::Open(tmp.Sub("data"));
  REQUIRE(store.ok());
  REQUIRE((*store)->PutTokenHash("admin", Sha256Hex("bootstrap")).ok());
  TokenRecord ci = Token("ci", "s1");
  ci.expires_at_ms = 99'000;
  REQUIRE((*store)->CreateToken(ci).ok());

  auto again = (*store)->CreateToken(Token("ci", "s2"));
  CHECK(again.code() == Code::kAlreadyExists);

  auto list = (*store)->ListTokens();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "admin");
  CHECK((*list)[0].scopes == "admin");  // tokens stored before scopes existed are admin tokens
  CHECK((*list)[1] == ci);

  REQUIRE((*store)->RevokeToken("ci", 5000).ok());
  CHECK((*store)->RevokeToken("ci", 6000).code() == Code::kNotFound);
  CHECK((*store)->RevokeToken("nobody", 6000).code() == Code::kNotFound);
  list = (*store)->ListTokens();
  REQUIRE(list.ok());
  CHECK((*list)[1].revoked_at_ms == 5000);

  // A revoked token's name may be taken again; the new token is not revoked.
  REQUIRE((*store)->CreateToken(Token("ci", "s3")).ok());
  list = (*store)->ListTokens();
  REQUIRE(list.ok());
  CHECK((*list)[1].revoked_at_ms == 0);
  CHECK((*list)[1].sha256 == Sha256Hex("s3"));
  CHECK((*list)[1].expires_at_ms == 0);
}

TEST_CASE("Store refuses a token with a bad name, hash or no scopes", "[store]") {
  TempDir tmp;
  auto store = Store::Open(tmp.Sub("data"));
  REQUIRE(store.ok());
  TokenRecord t = Token("Bad Name", "s");
  CHECK((*store)->CreateToken(t).code() == Code::kInvalidArgument);
  t = Token("ok", "s");
  t.sha256 = "abc";
  CHECK((*store)->CreateToken(t).code() == Code::kInvalidArgument);
  t = Token("ok", "s");
  t.scopes.clear();
  CHECK((*store)->CreateToken(t).code() == Code::kInvalidArgument);
}

TEST_CASE("Store keeps whether a version is private", "[store]") {
  TempDir tmp;
  auto store = Store::Open(tmp.Sub("data"));
  REQUIRE(store.ok());
  FunctionConfig config;
  config.is_private = true;
  auto v = (*store)->CreateVersion("secret-fn", "node", "index.js", Sha256Hex("code"), config);
  REQUIRE(v.ok());
  auto live = (*store)->GetLive("secret-fn");
  REQUIRE(live.ok());
  CHECK(live->config.is_private);
  auto pub = (*store)->CreateVersion("secret-fn", "node", "index.js", Sha256Hex("code"), {});
  REQUIRE(pub.ok());
  CHECK_FALSE((*store)->GetLive("secret-fn")->config.is_private);
}
