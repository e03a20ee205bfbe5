// TraceContext: the W3C Trace Context `traceparent` of an invocation (https://www.w3.org/TR/
// trace-context/): "00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>", lower case.
//
// flintd takes part in the caller's trace: a valid traceparent from the caller keeps its trace
// id and flags, and the invocation gets a new span id of its own (ChildOf); without one, or with
// a malformed one, the invocation starts a new trace (NewTrace, sampled flag set). That
// traceparent goes to the function as a request header, is written with its log lines, and is
// echoed in the response.
//
// Pure: the random numbers come from the caller. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace flint::scheduler {

struct TraceContext {
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string parent_id;  // 16 lower-case hex digits, not all zero: this span's id
  uint8_t flags = 0;      // bit 0: sampled

  // "00-<trace_id>-<parent_id>-<flags>".
  std::string Header() const;
};

// A caller's traceparent, or nullopt when it is malformed: the version is two hex digits other
// than "ff"; version 00 is exactly 55 characters; a later version may be longer, its extra
// fields after a '-' ignored (as the specification asks); ids are lower-case hex, not all zero.
std::optional<TraceContext> ParseTraceparent(std::string_view header);

// 64 random bits per call.
using RandomBits = std::function<uint64_t()>;
// A new trace: random trace and span ids, sampled.
TraceContext NewTrace(const RandomBits& random);
// The same trace and flags as `parent`, with a new random span id.
TraceContext ChildOf(const TraceContext& parent, const RandomBits& random);
// The context for an invocation whose caller sent `header` (null: none).
TraceContext InvocationTrace(const std::string* header, const RandomBits& random);

}  // namespace flint::scheduler
