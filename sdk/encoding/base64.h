// Standard base64 (RFC 4648, with padding) for uploads, function events and results, on
// OpenSSL's codec. sdk/core stays standard-library only; this module is the one sdk/ module that
// may use OpenSSL (linked PRIVATE, so nothing above it sees OpenSSL's headers).
//
// Pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint {

std::string Base64Encode(std::string_view bytes);
// Accepts padded or unpadded input; rejects any other character (whitespace included) with
// InvalidArgument.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace flint
