// TokenRegistry: the API tokens flintd accepts, kept in memory (loaded from the Store at start,
// changed by the token routes after the Store has recorded the change), and the check of a
// request's "Authorization: Bearer <token>" header against them.
//
// Only SHA-256 hashes are held, never tokens. A presented token is hashed; the hash's first 16
// hex characters find the candidates, and the whole hash is compared in constant time, so the
// time a check takes tells nothing about how much of a stored hash a guess matched.
//
// Loop thread only (no locking). The clock is the caller's (`now_ms`, Unix time), so expiry is
// unit-tested without waiting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scheduler/auth/scopes.h"
#include "scheduler/store/store.h"
#include "sdk/core/status.h"

namespace flint::scheduler::auth {

// Who a request comes from once its token is checked.
struct Principal {
  std::string token_name;
  ScopeSet scopes;
};

class TokenRegistry {
 public:
  // Adds `token`, or replaces the one of the same name. InvalidArgument (nothing changed) for
  // scopes that do not parse or a hash that is not 64 lowercase hex characters.
  Status Put(const TokenRecord& token);
  // Marks the token named `name` revoked at `now_ms`; false when there is none.
  bool Revoke(std::string_view name, int64_t now_ms);
  // Every token, by name (hashes included: never send them anywhere).
  std::vector<TokenRecord> List() const;
  size_t size() const { return by_name_.size(); }

  // Checks an Authorization header value (nullptr: none sent). Unauthenticated, with a message
  // for the client, for a missing or malformed header, an unknown token, a revoked one ("token
  // 'ci' was revoked") or an expired one ("token 'ci' expired at ...").
  Result<Principal> Authenticate(const std::string* authorization, int64_t now_ms) const;

 private:
  struct Entry {
    TokenRecord record;
    ScopeSet scopes;
  };
  void Unindex(const std::string& name);

  std::unordered_map<std::string, Entry> by_name_;
  // The first 16 hex characters of a stored hash -> the names of tokens whose hash starts so.
  std::unordered_map<std::string, std::vector<std::string>> by_hash_prefix_;
};

}  // namespace flint::scheduler::auth
