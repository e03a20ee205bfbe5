#include "scheduler/auth/token_registry.h"

#include <algorithm>
#include <ctime>

#include "sdk/core/text.h"

namespace flint::scheduler::auth {
namespace {

constexpr size_t kPrefixChars = 16;

std::string Utc(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Status TokenRegistry::Put(const TokenRecord& token) {
  if (!IsSha256Hex(token.sha256)) {
    return InvalidArgument("token '" + token.name + "' has no valid sha256 hash");
  }
  FLINT_ASSIGN_OR_RETURN(ScopeSet scopes, ParseScopeList(token.scopes));
  Unindex(token.name);
  by_name_[token.name] = Entry{token, scopes};
  by_hash_prefix_[token.sha256.substr(0, kPrefixChars)].push_back(token.name);
  return Status::Ok();
}

void TokenRegistry::Unindex(const std::string& name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  auto bucket = by_hash_prefix_.find(it->second.record.sha256.substr(0, kPrefixChars));
  if (bucket != by_hash_prefix_.end()) {
    std::erase(bucket->second, name);
    if (bucket->second.empty()) by_hash_prefix_.erase(bucket);
  }
  by_name_.erase(it);
}

bool TokenRegistry::Revoke(std::string_view name, int64_t now_ms) {
  auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return false;
  it->second.record.revoked_at_ms = now_ms;
  return true;
}

std::vector<TokenRecord> TokenRegistry::List() const {
  std::vector<TokenRecord> out;
  out.reserve(by_name_.size());
  for (const auto& [name, entry] : by_name_) out.push_back(entry.record);
  std::sort(out.begin(), out.end(),
            [](const TokenRecord& a, const TokenRecord& b) { return a.name < b.name; });
  return out;
}

Result<Principal> TokenRegistry::Authenticate(const std::string* authorization,
                                              int64_t now_ms) const {
  if (authorization == nullptr) {
    return Status(Code::kUnauthenticated,
                  "missing bearer token: send 'Authorization: Bearer <token>' (the admin token is "
                  "in <data-dir>/admin.token)");
  }
  std::string_view value(*authorization);
  if (value.size() < 8 || (value.substr(0, 7) != "Bearer " && value.substr(0, 7) != "bearer ")) {
    return Status(Code::kUnauthenticated,
                  "malformed Authorization header: use 'Authorization: Bearer <token>'");
  }
  std::string hash = Sha256Hex(value.substr(7));
  auto bucket = by_hash_prefix_.find(hash.substr(0, kPrefixChars));
  if (bucket != by_hash_prefix_.end()) {
    for (const std::string& name : bucket->second) {
      const Entry& entry = by_name_.at(name);
      if (!ConstantTimeEquals(entry.record.sha256, hash)) continue;
      if (entry.record.revoked_at_ms != 0) {
        return Status(Code::kUnauthenticated, "token '" + name + "' was revoked");
      }
      if (entry.record.expires_at_ms != 0 && now_ms >= entry.record.expires_at_ms) {
        return Status(Code::kUnauthenticated,
                      "token '" + name + "' expired at " + Utc(entry.record.expires_at_ms));
      }
      return Principal{name, entry.scopes};
    }
  }
  return Status(Code::kUnauthenticated, "invalid bearer token");
}

}  // namespace flint::scheduler::auth
