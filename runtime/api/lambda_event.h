// The Lambda function-URL event (payload format 2.0) for an HTTP invocation.
//
// Pure functions with no V8 and no I/O. ParseHttpEvent does the parsing the event needs (headers
// joined, cookies split out, the query string decoded, the domain); the JS host builds the event
// object from those parts in V8 directly (runtime/api/js/globals.js, makeHttpEvent), and
// BuildHttpEventJson renders the same event, key for key in the same order, as JSON text (for
// runtimes that parse it instead). Field meanings follow AWS's "Lambda function URL request
// payload" (version 2.0); see docs/handlers-js.md for Flint's choices (cookie header moved to
// `cookies`, query values decoded, base64 for binary bodies).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sdk/protocol/messages.h"

namespace flint::runtime {

// What the event of a request holds beyond the request's own fields.
struct HttpEventParts {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  Pairs headers;                     // arrival order, repeated names joined with ",", no "cookie"
  std::vector<std::string> cookies;  // the cookie header split at ";", trimmed
  Pairs query;                       // decoded ('+' is a space), repeated names joined
  std::string_view user_agent;       // points into the request
  std::string domain;                // the host header without its port, or "localhost"
  std::string prefix;                // the domain up to its first dot
  bool body_base64 = false;          // the body is not UTF-8: the event carries it base64
};

HttpEventParts ParseHttpEvent(const protocol::InvokeRequest& request);

// The event for `request`; `function_name` fills requestContext.apiId.
std::string BuildHttpEventJson(const protocol::InvokeRequest& request,
                               std::string_view function_name);

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view bytes);
// Decodes %XX escapes (malformed ones are kept as they are) and, if asked, '+' as a space.
std::string PercentDecode(std::string_view text, bool plus_as_space);
// Lambda's requestContext.time: "12/Mar/2024:19:03:58 +0000".
std::string FormatLambdaTime(uint64_t epoch_ms);
// Appends `text` as a quoted JSON string (bytes >= 0x80 are copied as they are).
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace flint::runtime
