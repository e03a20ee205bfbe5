#include "sdk/core/text.h"

#include <cctype>
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
                           "': use e.g. 500ms, 3s (or 3), 10m or 1h");
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
  if (unit == "ms") {
    scale = 1;
  } else if (unit.empty() || unit == "s") {
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

Result<uint64_t> ParseMemoryMb(std::string_view text) {
  auto bad = [&](const char* why) {
    return InvalidArgument("invalid memory size '" + std::string(text.substr(0, 40)) + "': " + why);
  };
  const char* kUse = "use MB, e.g. 512, 512M, 1G or 1.5G";
  if (text.empty() || text.size() > 32) return bad(kUse);
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return bad(kUse);
  std::string number(text.substr(0, i));
  std::string unit;
  for (char c : text.substr(i))
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char* end = nullptr;
  double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad(kUse);
  double scale;
  if (unit.empty() || unit == "m" || unit == "mb" || unit == "mi" || unit == "mib") {
    scale = 1;
  } else if (unit == "g" || unit == "gb" || unit == "gi" || unit == "gib") {
    scale = 1024;
  } else {
    return bad(kUse);
  }
  double mb = value * scale;
  if (mb > 16.0 * 1024 * 1024) return bad("more than 16 TB");
  if (mb < 1) return bad("must be at least 1 MB");
  if (mb != std::floor(mb)) return bad("not a whole number of MB");
  return static_cast<uint64_t>(mb);
}

std::string FormatDurationMs(uint64_t ms) {
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string PercentDecode(std::string_view in, bool plus_is_space) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out += ' ';
    } else {
      out += in[i];
    }
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace flint
