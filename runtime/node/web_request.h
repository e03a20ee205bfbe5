// What a Web-standard (fetch) function's Request is made of, from an HTTP invocation. Pure: no
// Node.js or V8 (the addon compiles it in; the tests link it directly).
#pragma once

#include <string>

#include "sdk/protocol/messages.h"

namespace flint::runtime::node {

// The Request's URL: scheme from X-Forwarded-Proto (https when it says so, else http), host
// from Host (default localhost), then the path after /fn/NAME (at least "/") and the query.
std::string RequestUrl(const protocol::InvokeRequest& request);

}  // namespace flint::runtime::node
