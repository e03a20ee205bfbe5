#include "scheduler/core/trace_context.h"

namespace flint::scheduler {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string Hex(uint64_t bits, size_t digits) {
  std::string out(digits, '0');
  for (size_t i = digits; i-- > 0;) {
    out[i] = kHex[bits & 0xf];
    bits >>= 4;
  }
  return out;
}

// A random id of `digits` hex digits (16 or 32), never all zero.
std::string RandomId(const RandomBits& random, size_t digits) {
  for (;;) {
    std::string id;
    for (size_t done = 0; done < digits; done += 16) id += Hex(random(), 16);
    id.resize(digits);
    if (!AllZero(id)) return id;
  }
}

}  // namespace

std::string TraceContext::Header() const {
  return "00-" + trace_id + "-" + parent_id + "-" + Hex(flags, 2);
}

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  constexpr size_t kLength = 55;
  if (header.size() < kLength) return std::nullopt;
  std::string_view version = header.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? header.size() != kLength
                      : header.size() > kLength && header[kLength] != '-') {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  std::string_view trace_id = header.substr(3, 32);
  std::string_view parent_id = header.substr(36, 16);
  std::string_view flags = header.substr(53, 2);
  if (!IsLowerHex(trace_id) || !IsLowerHex(parent_id) || !IsLowerHex(flags)) return std::nullopt;
  if (AllZero(trace_id) || AllZero(parent_id)) return std::nullopt;
  TraceContext ctx;
  ctx.trace_id = std::string(trace_id);
  ctx.parent_id = std::string(parent_id);
  ctx.flags = static_cast<uint8_t>(std::stoul(std::string(flags), nullptr, 16));
  return ctx;
}

TraceContext NewTrace(const RandomBits& random) {
  TraceContext ctx;
  ctx.trace_id = RandomId(random, 32);
  ctx.parent_id = RandomId(random, 16);
  ctx.flags = 0x01;
  return ctx;
}

TraceContext ChildOf(const TraceContext& parent, const RandomBits& random) {
  TraceContext ctx = parent;
  // Version 00 defines only the sampled bit; others are not passed on.
  ctx.flags = parent.flags & 0x01;
  ctx.parent_id = RandomId(random, 16);
  return ctx;
}

TraceContext InvocationTrace(const std::string* header, const RandomBits& random) {
  if (header != nullptr) {
    if (auto parent = ParseTraceparent(*header)) return ChildOf(*parent, random);
  }
  return NewTrace(random);
}

}  // namespace flint::scheduler
