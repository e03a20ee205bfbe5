#include "tools/cli/tokens.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sdk/client/flint_client.h"
#include "tools/cli/flintd_call.h"

namespace flint::cli {

using nlohmann::json;

struct TokenCommands {
  CLI::App* token = nullptr;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* revoke = nullptr;
  std::string name;
  std::vector<std::string> scopes;
  std::string expires;
};

namespace {

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string ScopesText(const json& t) {
  std::string out;
  auto it = t.find("scopes");
  if (it == t.end() || !it->is_array()) return out;
  for (const json& s : *it) {
    if (!out.empty()) out += ",";
    out += s.is_string() ? s.get<std::string>() : s.dump();
  }
  return out;
}

std::string FormatTokens(const json& j) {
  const json& list = j.at("tokens");
  std::ostringstream out;
  out << "NAME                 SCOPES                          STATE    CREATED               "
         "    EXPIRES\n";
  for (const json& t : list) {
    std::string expires = Str(t, "expires_at");
    char line[256];
    snprintf(line, sizeof line, "%-20s %-31s %-8s %-25s %s\n", Str(t, "name").c_str(),
             ScopesText(t).c_str(), Str(t, "state").c_str(), Str(t, "created_at").c_str(),
             expires.empty() ? "never" : expires.c_str());
    out << line;
  }
  return out.str();
}

}  // namespace

Result<uint64_t> ParseExpirySeconds(const std::string& text) {
  auto bad = [&] {
    return InvalidArgument("invalid expiry '" + text + "': use e.g. 30d, 12h, 90m or 3600s");
  };
  if (text.empty() || text.size() > 12) return bad();
  uint64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'm':
      unit = 60;
      break;
    case 's':
      unit = 1;
      break;
    default:
      if (text.back() < '0' || text.back() > '9') return bad();
      digits.push_back('s');
  }
  digits.pop_back();
  if (digits.empty()) return bad();
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) return bad();
  return n * unit;
}

std::shared_ptr<TokenCommands> AddTokenCommands(CLI::App& app) {
  auto c = std::make_shared<TokenCommands>();
  c->token = app.add_subcommand(
      "token", "API tokens with scopes: 'create NAME --scope S...', 'ls', 'revoke NAME'");
  c->token->require_subcommand(1);
  c->create = c->token->add_subcommand(
      "create", "Create a token and print its secret (shown once, never again)");
  c->create->add_option("NAME", c->name, "Token name (a-z, 0-9, '_', '-')")->required();
  c->create
      ->add_option("--scope,-s", c->scopes,
                   "admin, deploy, invoke, read or billing (repeatable, or comma-separated)")
      ->required()
      ->allow_extra_args(false);
  c->create->add_option("--expires", c->expires,
                        "Expire after this long, e.g. 30d, 12h (default: never)");
  c->list = c->token->add_subcommand("ls", "List tokens (names, scopes, state; never secrets)");
  c->list->alias("list");
  c->revoke = c->token->add_subcommand("revoke", "Revoke a token: it is refused from now on");
  c->revoke->add_option("NAME", c->name, "Token name")->required();
  return c;
}

int RunTokenCommands(const TokenCommands& c, CliIo& io, bool json_out) {
  if (!c.token->parsed()) return -1;
  if (c.create->parsed()) {
    std::string scopes;
    for (const std::string& s : c.scopes) {
      if (!scopes.empty()) scopes += ",";
      scopes += s;
    }
    json body = {{"name", c.name}, {"scopes", scopes}};
    if (!c.expires.empty()) {
      Result<uint64_t> seconds = ParseExpirySeconds(c.expires);
      if (!seconds.ok()) return Fail(io, kExitUsage, "--expires: " + seconds.status().message());
      body["expires_in_s"] = *seconds;
    }
    return CallAndPrint(io, json_out, "POST", "/v1/tokens", body.dump(), [](const json& j) {
      const json& t = j.at("token");
      std::string expires = Str(t, "expires_at");
      return "created token " + Str(t, "name") + " (scopes " + ScopesText(t) + ", expires " +
             (expires.empty() ? std::string("never") : expires) + ")\n" + Str(j, "secret") +
             "\nkeep it now: flintd stores only its hash and cannot show it again\n";
    });
  }
  if (c.list->parsed()) return CallAndPrint(io, json_out, "GET", "/v1/tokens", "", FormatTokens);
  if (c.revoke->parsed()) {
    return CallAndPrint(io, json_out, "DELETE", "/v1/tokens/" + c.name, "",
                        [](const json& j) { return "revoked token " + Str(j, "revoked") + "\n"; });
  }
  return Fail(io, kExitUsage, "use 'flint token create', 'flint token ls' or 'flint token revoke'");
}

}  // namespace flint::cli
