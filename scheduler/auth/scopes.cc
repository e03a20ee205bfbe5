#include "scheduler/auth/scopes.h"

namespace flint::scheduler::auth {

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kAdmin:
      return "admin";
    case Scope::kDeploy:
      return "deploy";
    case Scope::kInvoke:
      return "invoke";
    case Scope::kRead:
      return "read";
    case Scope::kBilling:
      return "billing";
  }
  FLINT_CHECK_MSG(false, "unknown scope");
  return "";
}

std::optional<Scope> ParseScope(std::string_view name) {
  for (Scope s : kAllScopes) {
    if (ScopeName(s) == name) return s;
  }
  return std::nullopt;
}

Result<ScopeSet> ParseScopeList(std::string_view text) {
  ScopeSet set;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view word =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    if (!word.empty()) {
      std::optional<Scope> scope = ParseScope(word);
      if (!scope) {
        std::string shown(word.substr(0, 32));
        for (char& c : shown) {
          if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
        }
        return InvalidArgument("unknown scope '" + shown +
                               "': use admin, deploy, invoke, read or billing");
      }
      set.Add(*scope);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (set.empty()) {
    return InvalidArgument(
        "a token needs at least one scope: admin, deploy, invoke, read or "
        "billing");
  }
  return set;
}

std::string ScopeListText(ScopeSet scopes) {
  std::string out;
  for (Scope s : kAllScopes) {
    if (!scopes.Holds(s)) continue;
    if (!out.empty()) out += ',';
    out += ScopeName(s);
  }
  return out;
}

Scope RequiredScope(std::string_view method, std::string_view path) {
  auto under = [&](std::string_view prefix) {
    return path == prefix ||
           (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
            path[prefix.size()] == '/');
  };
  bool reading = method == "GET" || method == "HEAD";
  if (under("/v1/tokens")) return Scope::kAdmin;
  if (under("/v1/billing/prices")) return reading ? Scope::kBilling : Scope::kAdmin;
  if (under("/v1/billing")) return Scope::kBilling;
  if (under("/v1/topics")) return Scope::kInvoke;
  return reading ? Scope::kRead : Scope::kDeploy;
}

}  // namespace flint::scheduler::auth
