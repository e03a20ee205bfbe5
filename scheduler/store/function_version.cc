#include "scheduler/store/function_version.h"

#include <set>
#include <string_view>

#include "scheduler/store/files.h"

namespace flint::scheduler {
namespace {

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Values are stored
// as JSON text and must read back byte for byte, which only valid UTF-8 guarantees.
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

template <typename T>
Status OutOfRange(const char* field, T min, T max, T got) {
  return InvalidArgument(std::string(field) + " must be between " + std::to_string(min) + " and " +
                         std::to_string(max) + ", got " + std::to_string(got));
}

}  // namespace

std::string CpuText(uint32_t cpu_millis) {
  std::string text = std::to_string(cpu_millis / 1000);
  if (uint32_t frac = cpu_millis % 1000; frac != 0) {
    std::string digits = std::to_string(1000 + frac).substr(1);  // "050" for 50
    while (digits.back() == '0') digits.pop_back();
    text += "." + digits;
  }
  return text;
}

bool IsValidEnvName(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

Status ValidateFunctionConfig(const FunctionConfig& c) {
  if (c.memory_mb < kMinMemoryMb || c.memory_mb > kMaxMemoryMb) {
    return OutOfRange("memory_mb", kMinMemoryMb, kMaxMemoryMb, c.memory_mb);
  }
  if (c.timeout_ms < kMinTimeoutMs || c.timeout_ms > kMaxTimeoutMs) {
    return OutOfRange("timeout_ms", kMinTimeoutMs, kMaxTimeoutMs, c.timeout_ms);
  }
  if (c.keep_alive_ms > kMaxKeepAliveMs) {
    return OutOfRange<uint64_t>("keep_alive_ms", 0, kMaxKeepAliveMs, c.keep_alive_ms);
  }
  if (c.max_instances < 1 || c.max_instances > kMaxInstancesLimit) {
    return OutOfRange<uint32_t>("max_instances", 1, kMaxInstancesLimit, c.max_instances);
  }
  if (c.concurrency < 1 || c.concurrency > kMaxConcurrency) {
    return OutOfRange<uint32_t>("concurrency", 1, kMaxConcurrency, c.concurrency);
  }
  if (c.min_instances > c.max_instances) {
    return InvalidArgument("min_instances (" + std::to_string(c.min_instances) +
                           ") must not exceed max_instances (" + std::to_string(c.max_instances) +
                           ")");
  }
  if (c.reserved_concurrency > kMaxInstancesLimit) {
    return OutOfRange<uint32_t>("reserved_concurrency", 0, kMaxInstancesLimit,
                                c.reserved_concurrency);
  }
  if (!c.keep_alive_policy.empty() && c.keep_alive_policy != "fixed" &&
      c.keep_alive_policy != "adaptive") {
    return InvalidArgument("keep_alive_policy must be 'fixed' or 'adaptive', got '" +
                           detail::Printable(c.keep_alive_policy) + "'");
  }
  if (c.network != "none" && c.network != "outbound") {
    return InvalidArgument("network must be 'none' or 'outbound', got '" +
                           detail::Printable(c.network) + "'");
  }
  if (c.cpu_millis != 0 && (c.cpu_millis < kMinCpuMillis || c.cpu_millis > kMaxCpuMillis)) {
    return InvalidArgument("cpu must be between " + CpuText(kMinCpuMillis) + " and " +
                           CpuText(kMaxCpuMillis) + " CPUs, got " + CpuText(c.cpu_millis));
  }
  if (c.max_retries < -1 || c.max_retries > kMaxEventRetries) {
    return InvalidArgument("max_retries must be between 0 and " + std::to_string(kMaxEventRetries) +
                           " (or -1 for the node's default), got " + std::to_string(c.max_retries));
  }
  if (c.max_event_age_ms != 0 &&
      (c.max_event_age_ms < kMinEventAgeMs || c.max_event_age_ms > kMaxEventAgeMs)) {
    return OutOfRange<uint64_t>("max_event_age_ms", kMinEventAgeMs, kMaxEventAgeMs,
                                c.max_event_age_ms);
  }
  size_t env_bytes = 0;
  std::set<std::string_view> names;
  for (const auto& [name, value] : c.env) {
    if (!IsValidEnvName(name)) {
      return InvalidArgument(
          "env name '" + detail::Printable(name) +
          "' is invalid: use letters, digits and '_', not starting with a digit");
    }
    if (!names.insert(name).second) {
      return InvalidArgument("env name '" + name + "' is given more than once");
    }
    if (value.find('\0') != std::string::npos || !IsValidUtf8(value)) {
      return InvalidArgument("env value of '" + name + "' must be UTF-8 text without NUL bytes");
    }
    env_bytes += name.size() + value.size();
  }
  if (env_bytes > kMaxEnvBytes) {
    return InvalidArgument("env is " + std::to_string(env_bytes) +
                           " bytes (names and values together); the limit is " +
                           std::to_string(kMaxEnvBytes));
  }
  return Status::Ok();
}

}  // namespace flint::scheduler
