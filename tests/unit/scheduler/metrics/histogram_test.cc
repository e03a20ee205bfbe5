// Histogram: inclusive bounds, cumulative buckets, +Inf, _sum and _count.
#include "scheduler/metrics/histogram.h"

#include <array>
#include <catch2/catch.hpp>

namespace flint::scheduler::metrics {
namespace {

constexpr std::array<uint64_t, 3> kBounds = {100, 1'000, 10'000};  // 0.1 ms, 1 ms, 10 ms

}  // namespace

TEST_CASE("A value on a bound counts in that bound's bucket (le is inclusive)", "[metrics]") {
  Histogram h(kBounds);
  h.Observe(100);
  h.Observe(101);
  h.Observe(0);
  CHECK(h.CumulativeCount(0) == 2);  // 0 and 100
  CHECK(h.CumulativeCount(1) == 3);
  CHECK(h.count() == 3);
  CHECK(h.sum_us() == 201);
}

TEST_CASE("Buckets are written cumulative, in seconds, ending with +Inf equal to _count",
          "[metrics]") {
  Histogram h(kBounds);
  for (uint64_t us : {50, 700, 800, 20'000, 5'000'000}) h.Observe(us);
  Exposition out;
  h.WriteTo(out, "d_seconds", {{"function", "f"}});
  CHECK(out.text() ==
        "d_seconds_bucket{function=\"f\",le=\"0.0001\"} 1\n"
        "d_seconds_bucket{function=\"f\",le=\"0.001\"} 3\n"
        "d_seconds_bucket{function=\"f\",le=\"0.01\"} 3\n"
        "d_seconds_bucket{function=\"f\",le=\"+Inf\"} 5\n"
        "d_seconds_sum{function=\"f\"} 5.02155\n"
        "d_seconds_count{function=\"f\"} 5\n");
}

TEST_CASE("An empty histogram writes every bucket as 0", "[metrics]") {
  Histogram h(kBounds);
  Exposition out;
  h.WriteTo(out, "d_seconds", {});
  CHECK(out.text() ==
        "d_seconds_bucket{le=\"0.0001\"} 0\n"
        "d_seconds_bucket{le=\"0.001\"} 0\n"
        "d_seconds_bucket{le=\"0.01\"} 0\n"
        "d_seconds_bucket{le=\"+Inf\"} 0\n"
        "d_seconds_sum 0\n"
        "d_seconds_count 0\n");
}

TEST_CASE("The duration buckets are fine below a millisecond and reach ten seconds", "[metrics]") {
  Histogram h;  // kDurationBucketsUs
  Exposition out;
  h.WriteTo(out, "x", {});
  const std::string& text = out.text();
  for (const char* le : {"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                         "0.05", "0.1", "0.25", "0.5", "\"1\"", "2.5", "\"5\"", "10"}) {
    INFO(le);
    CHECK(text.find(le) != std::string::npos);
  }
  CHECK(kDurationBucketsUs.front() == 100);
  CHECK(kDurationBucketsUs.back() == 10'000'000);
}

}  // namespace flint::scheduler::metrics
