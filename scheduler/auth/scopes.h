// Scope and ScopeSet: what an API token allows (docs/security.md), and the scope each route of
// the management API needs.
//
//   admin    everything, tokens included (the bootstrap token in <data-dir>/admin.token)
//   deploy   deploy and delete functions; add and remove schedules and subscriptions; redrive
//   invoke   invoke private functions (HTTP and async); publish to topics
//   read     list and describe functions, pools, logs, invocations, dead letters, schedules
//   billing  billing reports and price sheets (changing prices needs admin)
//
// Plain values and pure functions: any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::scheduler::auth {

enum class Scope : uint8_t { kAdmin, kDeploy, kInvoke, kRead, kBilling };
inline constexpr Scope kAllScopes[] = {Scope::kAdmin, Scope::kDeploy, Scope::kInvoke, Scope::kRead,
                                       Scope::kBilling};

// "admin", "deploy", "invoke", "read", "billing".
std::string_view ScopeName(Scope scope);
std::optional<Scope> ParseScope(std::string_view name);

// A set of scopes. Invariant: a set holding kAdmin allows every scope.
class ScopeSet {
 public:
  ScopeSet() = default;
  void Add(Scope scope) { bits_ |= Bit(scope); }
  bool Allows(Scope scope) const { return (bits_ & (Bit(scope) | Bit(Scope::kAdmin))) != 0; }
  bool Holds(Scope scope) const { return (bits_ & Bit(scope)) != 0; }
  bool empty() const { return bits_ == 0; }
  bool operator==(const ScopeSet&) const = default;

 private:
  static uint8_t Bit(Scope scope) {
    return static_cast<uint8_t>(1u << static_cast<uint8_t>(scope));
  }
  uint8_t bits_ = 0;
};

// "deploy,read" (or with spaces after commas): InvalidArgument naming an unknown scope or for
// an empty list.
Result<ScopeSet> ParseScopeList(std::string_view text);
// "deploy,read": the scopes held, in kAllScopes order.
std::string ScopeListText(ScopeSet scopes);

// The scope a management request (path under /v1) needs: admin for /v1/tokens and for changing
// prices, billing for the billing reports, invoke for topic publishes, read for the other GETs,
// deploy for every other change.
Scope RequiredScope(std::string_view method, std::string_view path);

}  // namespace flint::scheduler::auth
