// The Lambda function-URL event (payload format 2.0) for an HTTP invocation, built as JSON text.
//
// Pure functions with no V8 and no I/O: the function host parses the text with V8's JSON parser,
// which is faster than building the object property by property. Field meanings follow AWS's
// "Lambda function URL request payload" (version 2.0); see docs/handlers-js.md for Flint's
// choices (cookie header moved to `cookies`, query values decoded, base64 for binary bodies).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/protocol/messages.h"

namespace flint::runtime {

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
