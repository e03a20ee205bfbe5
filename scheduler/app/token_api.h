// TokenApi: the HTTP handlers of /v1/tokens (docs/http-api.md): create a scoped token (its
// secret is in the answer once and nowhere else), list tokens, revoke one. Each change is
// recorded in the Store first (on libuv's thread pool), then in the TokenRegistry that checks
// requests, so a token flintd accepts is always one it will still know after a restart.
//
// Loop thread only. The registry must outlive the TokenApi.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "scheduler/auth/token_registry.h"
#include "scheduler/server/http_server.h"
#include "scheduler/store/store.h"

namespace flint::scheduler {

class TokenApi {
 public:
  TokenApi(uv_loop_t* loop, std::shared_ptr<Store> store, auth::TokenRegistry* registry)
      : loop_(loop), store_(std::move(store)), registry_(registry) {}

  // POST /v1/tokens {"name": "ci", "scopes": ["deploy", "read"], "expires_in_s": 86400}
  void Create(const HttpRequest& request, HttpResponder responder);
  // GET /v1/tokens
  void List(HttpResponder responder);
  // DELETE /v1/tokens/NAME (the admin token cannot be revoked)
  void Revoke(const std::string& name, HttpResponder responder);

 private:
  uv_loop_t* loop_;
  std::shared_ptr<Store> store_;
  auth::TokenRegistry* registry_;
};

}  // namespace flint::scheduler
