// Small text helpers shared by flintd, the worker and the CLI: function names and durations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint {

// A function name is 1-63 characters of [a-z0-9-], starting with a letter or digit.
bool IsValidFunctionName(std::string_view name);
// Ok, or an InvalidArgument that quotes the name and states the rule.
Status ValidateFunctionName(std::string_view name);

// Parses "250ms", "3s", "1.5s", "10m", "2h" or a bare number of seconds ("3" is 3 s, as AWS
// Lambda's and SAM's timeouts are). Fails on negative, empty, unknown units, or values beyond
// about 24 days.
Result<uint64_t> ParseDurationMs(std::string_view text);

// Parses a memory size into MB: a bare number of MB ("512"), or a number with a unit, any
// case: M, MB, Mi, MiB (MB), G, GB, Gi, GiB (1024 MB): "512M", "1g", "1.5G". Fails on zero,
// empty, unknown units, fractions of a MB, or more than 16 TB.
Result<uint64_t> ParseMemoryMb(std::string_view text);
// The inverse for display: 3000 -> "3s", 250 -> "250ms", 600000 -> "10m".
std::string FormatDurationMs(uint64_t ms);

// Decodes %XX escapes (RFC 3986) of a path segment or, with `plus_is_space`, of a query value
// (where '+' is a space, as HTML forms send it). A '%' not followed by two hex digits is kept.
std::string PercentDecode(std::string_view text, bool plus_is_space = false);

// Compares two strings in time independent of where they differ (for secrets).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace flint
