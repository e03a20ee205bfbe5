// Registry: one set of series per function version, bounded, written in full.
#include "scheduler/metrics/registry.h"

#include <catch2/catch.hpp>

namespace flint::scheduler::metrics {
namespace {

Registry NewRegistry() { return Registry({"ok", "error", "throttled"}, 2); }

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("Invocations are counted per function, version and outcome", "[metrics]") {
  Registry registry = NewRegistry();
  auto v1 = registry.For("hello", 1);
  v1->Record(0, /*ran=*/true, /*cold=*/true, 300, 128);
  v1->Record(0, true, false, 40, 128);
  v1->Record(1, true, false, 2'000, 256);
  v1->Record(2, /*ran=*/false, false, 0, 0);
  v1->RecordColdStartLatency(45'000);
  CHECK(registry.For("hello", 1) == v1);  // the same series, not a new one

  Exposition out;
  registry.WriteTo(out);
  const std::string& text = out.text();
  CHECK(Has(text, "flint_invocations_total{function=\"hello\",version=\"1\",outcome=\"ok\"} 2"));
  CHECK(Has(text, "flint_invocations_total{function=\"hello\",version=\"1\",outcome=\"error\"} 1"));
  CHECK(Has(text,
            "flint_invocations_total{function=\"hello\",version=\"1\",outcome=\"throttled\"} 1"));
  CHECK(Has(text, "flint_throttles_total{function=\"hello\",version=\"1\"} 1"));
  // The throttled invocation never ran: three durations.
  CHECK(Has(text, "flint_invocation_duration_seconds_count{function=\"hello\",version=\"1\"} 3"));
  CHECK(Has(text,
            "flint_invocation_duration_seconds_bucket{function=\"hello\",version=\"1\",le=\"0."
            "0001\"} 1"));
  CHECK(Has(text,
            "flint_invocation_duration_seconds_bucket{function=\"hello\",version=\"1\",le=\"0."
            "0005\"} 2"));
  CHECK(
      Has(text, "flint_invocation_duration_seconds_sum{function=\"hello\",version=\"1\"} 0.00234"));
  CHECK(Has(text, "flint_cold_starts_total{function=\"hello\",version=\"1\"} 1"));
  CHECK(Has(text, "flint_cold_start_duration_seconds_count{function=\"hello\",version=\"1\"} 1"));
  CHECK(Has(
      text,
      "flint_cold_start_duration_seconds_bucket{function=\"hello\",version=\"1\",le=\"0.05\"} 1"));
  // 512 MB-ms = 0.0005 GB-s.
  CHECK(Has(text, "flint_billed_gigabyte_seconds_total{function=\"hello\",version=\"1\"} 0.0005"));
}

TEST_CASE("Every family is written once, with HELP and TYPE, even with no series", "[metrics]") {
  Registry registry = NewRegistry();
  Exposition out;
  registry.WriteTo(out);
  for (const char* family :
       {"flint_invocations_total counter", "flint_throttles_total counter",
        "flint_invocation_duration_seconds histogram", "flint_cold_starts_total counter",
        "flint_cold_start_duration_seconds histogram",
        "flint_billed_gigabyte_seconds_total counter"}) {
    INFO(family);
    CHECK(Has(out.text(), std::string("# TYPE ") + family));
  }
}

TEST_CASE("A deleted function's series go; a held series stays usable", "[metrics]") {
  Registry registry = NewRegistry();
  auto held = registry.For("gone", 1);
  registry.For("kept", 1);
  registry.Forget("gone");
  held->Record(0, true, false, 10, 0);  // counted nowhere, and no crash
  CHECK(registry.series_count() == 1);
  Exposition out;
  registry.WriteTo(out);
  CHECK(out.text().find("gone") == std::string::npos);
  CHECK(out.text().find("kept") != std::string::npos);
}

TEST_CASE("Only the newest versions of a function keep series", "[metrics]") {
  Registry registry = NewRegistry();
  for (uint32_t v = 1; v <= kVersionsKept + 3; ++v) registry.For("f", v);
  CHECK(registry.series_count() == kVersionsKept);
  Exposition out;
  registry.WriteTo(out);
  CHECK(out.text().find("version=\"1\"") == std::string::npos);
  CHECK(out.text().find("version=\"" + std::to_string(kVersionsKept + 3) + "\"") !=
        std::string::npos);
  // A version older than those kept still gets a series while it serves (it is the newest
  // created), and an older one makes room for it.
  registry.For("f", 2);
  CHECK(registry.series_count() == kVersionsKept);
}

}  // namespace flint::scheduler::metrics
