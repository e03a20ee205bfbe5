#include "scheduler/auth/scopes.h"

#include <catch2/catch.hpp>

using namespace flint;
using namespace flint::scheduler::auth;

TEST_CASE("Scope names parse back to their scopes", "[auth]") {
  for (Scope s : kAllScopes) CHECK(ParseScope(ScopeName(s)) == s);
  CHECK_FALSE(ParseScope("Admin").has_value());
  CHECK_FALSE(ParseScope("").has_value());
}

TEST_CASE("A scope list parses into a set and prints in a fixed order", "[auth]") {
  auto set = ParseScopeList("read, deploy");
  REQUIRE(set.ok());
  CHECK(set->Allows(Scope::kRead));
  CHECK(set->Allows(Scope::kDeploy));
  CHECK_FALSE(set->Allows(Scope::kInvoke));
  CHECK_FALSE(set->Allows(Scope::kAdmin));
  CHECK(ScopeListText(*set) == "deploy,read");

  auto bad = ParseScopeList("read,root");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kInvalidArgument);
  CHECK(bad.status().message() ==
        "unknown scope 'root': use admin, deploy, invoke, read or billing");
  CHECK_FALSE(ParseScopeList("").ok());
  CHECK_FALSE(ParseScopeList(" , ").ok());
}

TEST_CASE("The admin scope allows every scope", "[auth]") {
  auto admin = ParseScopeList("admin");
  REQUIRE(admin.ok());
  for (Scope s : kAllScopes) CHECK(admin->Allows(s));
  CHECK(ScopeListText(*admin) == "admin");
}

TEST_CASE("Each management route needs its scope", "[auth]") {
  CHECK(RequiredScope("GET", "/v1/functions") == Scope::kRead);
  CHECK(RequiredScope("GET", "/v1/functions/hello") == Scope::kRead);
  CHECK(RequiredScope("GET", "/v1/functions/hello/logs") == Scope::kRead);
  CHECK(RequiredScope("PUT", "/v1/functions/hello") == Scope::kDeploy);
  CHECK(RequiredScope("POST", "/v1/functions/hello") == Scope::kDeploy);
  CHECK(RequiredScope("DELETE", "/v1/functions/hello") == Scope::kDeploy);
  CHECK(RequiredScope("GET", "/v1/pools") == Scope::kRead);
  CHECK(RequiredScope("GET", "/v1/billing") == Scope::kBilling);
  CHECK(RequiredScope("GET", "/v1/billing/prices") == Scope::kBilling);
  CHECK(RequiredScope("PUT", "/v1/billing/prices") == Scope::kAdmin);
  CHECK(RequiredScope("GET", "/v1/invocations/abc") == Scope::kRead);
  CHECK(RequiredScope("GET", "/v1/dlq/hello") == Scope::kRead);
  CHECK(RequiredScope("POST", "/v1/dlq/hello/redrive") == Scope::kDeploy);
  CHECK(RequiredScope("GET", "/v1/schedules") == Scope::kRead);
  CHECK(RequiredScope("POST", "/v1/schedules") == Scope::kDeploy);
  CHECK(RequiredScope("DELETE", "/v1/subscriptions/t/hello") == Scope::kDeploy);
  CHECK(RequiredScope("POST", "/v1/topics/orders") == Scope::kInvoke);
  CHECK(RequiredScope("GET", "/v1/tokens") == Scope::kAdmin);
  CHECK(RequiredScope("POST", "/v1/tokens") == Scope::kAdmin);
  CHECK(RequiredScope("DELETE", "/v1/tokens/ci") == Scope::kAdmin);
  // A path that merely starts like a route is not that route.
  CHECK(RequiredScope("GET", "/v1/tokensx") == Scope::kRead);
  CHECK(RequiredScope("GET", "/v1/billingx") == Scope::kRead);
}
