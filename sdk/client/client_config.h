// Where a client finds flintd and its token: the same rules for the CLI and for scripts.
//
//   URL:      $FLINT_URL, else the URL in <data dir>/flintd.url, else http://127.0.0.1:8080
//   data dir: $FLINT_DATA_DIR, else $XDG_DATA_HOME/flint, else $HOME/.local/share/flint
//             (the same default flintd uses)
//   token:    $FLINT_TOKEN, else the contents of <data dir>/admin.token, else none
//
// Reading the environment and two small files only; no network. Thread-compatible.
#pragma once

#include <functional>
#include <string>

#include "sdk/client/http_client.h"
#include "sdk/core/status.h"

namespace flint::client {

inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8080";

struct ClientConfig {
  HttpUrl url;
  std::string url_source;  // "FLINT_URL", the flintd.url path, or "default"
  std::string data_dir;
  std::string token;         // empty when none was found
  std::string token_source;  // "FLINT_TOKEN", the admin.token path, or "" when none
};

// Looks up an environment variable; nullptr when unset. Injected so tests need not touch the
// process environment.
using GetEnv = std::function<const char*(const char*)>;

// The data directory by the rules above ("" only when neither variable nor HOME is set).
std::string DefaultDataDir(const GetEnv& getenv);

// Resolves the URL, data directory and token. Fails only on a malformed URL (from FLINT_URL or
// flintd.url). A missing token is not an error here: management calls report it.
Result<ClientConfig> ResolveClientConfig(const GetEnv& getenv);
// The same, from the process environment.
Result<ClientConfig> ResolveClientConfig();

}  // namespace flint::client
