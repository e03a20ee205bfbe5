#include "sdk/core/text.h"

#include <cmath>
#include <cstdlib>

namespace flint {

bool IsValidFunctionName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

Status ValidateFunctionName(std::string_view name) {
  if (IsValidFunctionName(name)) return Status::Ok();
  std::string shown(name.substr(0, 80));
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || c == 0x7f) c = '?';
  }
  return InvalidArgument("invalid function name '" + shown +
                         "': use 1-63 characters of a-z, 0-9 and '-', starting with a letter or "
                         "digit");
}

Result<uint64_t> ParseDurationMs(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("invalid duration '" + std::string(text.substr(0, 40)) +
                           "': use e.g. 500ms, 3s, 10m or 1h");
  };
  if (text.empty() || text.size() > 32) return bad();
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return bad();
  std::string number(text.substr(0, i));
  std::string_view unit = text.substr(i);
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value) || value < 0) return bad();
  double scale;
  if (unit.empty() || unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return bad();
  }
  double ms = value * scale;
  if (ms > 2'000'000'000.0) return bad();
  return static_cast<uint64_t>(std::llround(ms));
}

std::string FormatDurationMs(uint64_t ms) {
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace flint
