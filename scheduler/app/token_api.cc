#include "scheduler/app/token_api.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "scheduler/app/api_json.h"
#include "scheduler/store/admin_token.h"
#include "sdk/core/clock.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

// The longest expiry a token may be given: ten years.
constexpr int64_t kMaxExpiresInS = 10ll * 366 * 24 * 3600;

json ScopesJson(const std::string& scopes) {
  json list = json::array();
  auto parsed = auth::ParseScopeList(scopes);
  if (!parsed.ok()) return list;
  for (auth::Scope s : auth::kAllScopes) {
    if (parsed->Holds(s)) list.push_back(std::string(auth::ScopeName(s)));
  }
  return list;
}

json TokenJson(const TokenRecord& t, int64_t now_ms) {
  std::string state = "active";
  if (t.revoked_at_ms != 0) {
    state = "revoked";
  } else if (t.expires_at_ms != 0 && now_ms >= t.expires_at_ms) {
    state = "expired";
  }
  return {{"name", t.name},
          {"scopes", ScopesJson(t.scopes)},
          {"created_at", Rfc3339(t.created_at_ms)},
          {"expires_at", t.expires_at_ms != 0 ? json(Rfc3339(t.expires_at_ms)) : json(nullptr)},
          {"revoked_at", t.revoked_at_ms != 0 ? json(Rfc3339(t.revoked_at_ms)) : json(nullptr)},
          {"state", state}};
}

// The body of POST /v1/tokens, checked: a record without its hash, or InvalidArgument.
Result<TokenRecord> ParseCreate(const std::string& body, int64_t now_ms) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("the body must be a JSON object: {\"name\": ..., \"scopes\": [...]}");
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "name" && key != "scopes" && key != "expires_in_s") {
      return InvalidArgument("unknown field '" + key.substr(0, 40) +
                             "': use name, scopes and expires_in_s");
    }
  }
  TokenRecord t;
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string()) {
    return InvalidArgument("'name' is required: 1-64 characters of a-z, 0-9, '_' and '-'");
  }
  t.name = name->get<std::string>();
  if (t.name == kAdminTokenName) {
    return InvalidArgument("'admin' is the bootstrap token's name: choose another");
  }
  auto scopes = doc.find("scopes");
  std::string text;
  if (scopes != doc.end() && scopes->is_string()) {
    text = scopes->get<std::string>();
  } else if (scopes != doc.end() && scopes->is_array()) {
    for (const json& s : *scopes) {
      if (!s.is_string()) return InvalidArgument("'scopes' must be a list of scope names");
      if (!text.empty()) text += ',';
      text += s.get<std::string>();
    }
  } else {
    return InvalidArgument(
        "'scopes' is required: a list of admin, deploy, invoke, read and billing");
  }
  FLINT_ASSIGN_OR_RETURN(auth::ScopeSet set, auth::ParseScopeList(text));
  t.scopes = auth::ScopeListText(set);
  t.created_at_ms = now_ms;
  if (auto expires = doc.find("expires_in_s"); expires != doc.end() && !expires->is_null()) {
    if (!expires->is_number_integer() || expires->get<int64_t>() < 1 ||
        expires->get<int64_t>() > kMaxExpiresInS) {
      return InvalidArgument("'expires_in_s' must be a whole number of seconds from 1 to " +
                             std::to_string(kMaxExpiresInS));
    }
    t.expires_at_ms = now_ms + expires->get<int64_t>() * 1000;
  }
  return t;
}

}  // namespace

void TokenApi::Create(const HttpRequest& request, HttpResponder responder) {
  Result<TokenRecord> parsed = ParseCreate(request.body, WallClockMs());
  if (!parsed.ok()) return responder.Send(ErrorResponse(parsed.status()));
  struct State {
    TokenRecord record;
    std::string secret;
    Status stored;
  };
  auto state = std::make_shared<State>();
  state->record = std::move(*parsed);
  auto store = store_;
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_,
      [state, store] {
        Result<std::string> secret = NewToken();
        if (!secret.ok()) {
          state->stored = secret.status();
          return;
        }
        state->secret = std::move(*secret);
        state->record.sha256 = Sha256Hex(state->secret);
        state->stored = store->CreateToken(state->record);
      },
      [this, state, shared] {
        if (!state->stored.ok()) return shared->Send(ErrorResponse(state->stored));
        if (Status put = registry_->Put(state->record); !put.ok()) {
          return shared->Send(ErrorResponse(put));
        }
        spdlog::info("token '{}' created (scopes {})", state->record.name, state->record.scopes);
        json body = {{"token", TokenJson(state->record, WallClockMs())}, {"secret", state->secret}};
        shared->Send(Json(201, body));
      });
}

void TokenApi::List(HttpResponder responder) {
  json list = json::array();
  int64_t now = WallClockMs();
  for (const TokenRecord& t : registry_->List()) list.push_back(TokenJson(t, now));
  responder.Send(Json(200, {{"tokens", list}}));
}

void TokenApi::Revoke(const std::string& name, HttpResponder responder) {
  if (name == kAdminTokenName) {
    return responder.Send(ErrorResponse(
        InvalidArgument("the admin token cannot be revoked: to replace it, stop flintd, delete "
                        "<data-dir>/admin.token and start flintd again (it writes a new one)")));
  }
  auto status = std::make_shared<Status>();
  auto store = store_;
  int64_t now = WallClockMs();
  auto shared = std::make_shared<HttpResponder>(std::move(responder));
  loop::RunBlocking(
      loop_, [store, status, name, now] { *status = store->RevokeToken(name, now); },
      [this, status, shared, name, now] {
        if (!status->ok()) return shared->Send(ErrorResponse(*status));
        registry_->Revoke(name, now);
        spdlog::info("token '{}' revoked", name);
        shared->Send(Json(200, {{"revoked", name}}));
      });
}

}  // namespace flint::scheduler
