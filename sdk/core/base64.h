// Standard base64 (RFC 4648, with padding) for uploads and the CLI.
#pragma once

#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint {

std::string Base64Encode(std::string_view bytes);
// Accepts padded or unpadded input; rejects any other character with InvalidArgument.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace flint
