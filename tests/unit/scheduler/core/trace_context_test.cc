// TraceContext: W3C traceparent parsing, new traces and child spans.
#include "scheduler/core/trace_context.h"

#include <catch2/catch.hpp>
#include <string>

namespace flint::scheduler {
namespace {

// A counter as the random source: predictable ids.
RandomBits Counter(uint64_t start = 1) {
  return [n = start]() mutable { return n++; };
}

const std::string kCaller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_CASE("A valid traceparent parses into its trace id, span id and flags", "[trace]") {
  auto ctx = ParseTraceparent(kCaller);
  REQUIRE(ctx.has_value());
  CHECK(ctx->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(ctx->parent_id == "00f067aa0ba902b7");
  CHECK(ctx->flags == 1);
  CHECK(ctx->Header() == kCaller);
}

TEST_CASE("Malformed traceparents are refused", "[trace]") {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 is exactly 55
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later version, no '-'
       }) {
    INFO(bad);
    CHECK_FALSE(ParseTraceparent(bad).has_value());
  }
}

TEST_CASE("A later version's extra fields are ignored", "[trace]") {
  auto ctx = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra");
  REQUIRE(ctx.has_value());
  CHECK(ctx->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("An invocation joins its caller's trace with a span of its own", "[trace]") {
  TraceContext ctx = InvocationTrace(&kCaller, Counter(0xabc));
  CHECK(ctx.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(ctx.parent_id == "0000000000000abc");
  CHECK(ctx.flags == 1);
  CHECK(ctx.Header() == "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000abc-01");
  // Unsampled stays unsampled; unknown flag bits are not passed on.
  std::string unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe";
  CHECK(InvocationTrace(&unsampled, Counter()).flags == 0);
}

TEST_CASE("Without a valid traceparent an invocation starts a new sampled trace", "[trace]") {
  const std::string bad = "garbage";
  for (const std::string* header : {static_cast<const std::string*>(nullptr), &bad}) {
    TraceContext ctx = InvocationTrace(header, Counter(1));
    CHECK(ctx.trace_id == "00000000000000010000000000000002");
    CHECK(ctx.parent_id == "0000000000000003");
    CHECK(ctx.flags == 1);
    CHECK(ParseTraceparent(ctx.Header()).has_value());
  }
  // A random source that gives zeros first: the all-zero ids are drawn again.
  RandomBits zeros_first = [n = uint64_t{0}]() mutable { return n++ < 3 ? 0 : n; };
  TraceContext ctx = NewTrace(zeros_first);
  CHECK(ctx.trace_id == "00000000000000000000000000000004");
  CHECK(ctx.parent_id == "0000000000000005");
}

}  // namespace flint::scheduler
