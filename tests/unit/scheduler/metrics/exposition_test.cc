// Exposition: Prometheus's text format, line by line.
#include "scheduler/metrics/exposition.h"

#include <catch2/catch.hpp>
#include <limits>

namespace flint::scheduler::metrics {

TEST_CASE("Label values escape backslash, double quote and newline only", "[metrics]") {
  CHECK(EscapeLabelValue("plain-name_1") == "plain-name_1");
  CHECK(EscapeLabelValue("a\\b") == "a\\\\b");
  CHECK(EscapeLabelValue("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(EscapeLabelValue("two\nlines") == "two\\nlines");
  CHECK(EscapeLabelValue("tab\there") == "tab\there");
  CHECK(EscapeLabelValue("") == "");
}

TEST_CASE("Values are exact integers, shortest decimals or Prometheus's infinities", "[metrics]") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(42) == "42");
  CHECK(FormatValue(-3) == "-3");
  CHECK(FormatValue(0.25) == "0.25");
  CHECK(FormatValue(0.0001) == "0.0001");
  CHECK(FormatValue(0.00025) == "0.00025");
  CHECK(FormatValue(1e-7) == "1e-07");
  CHECK(FormatValue(2.5) == "2.5");
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::numeric_limits<double>::quiet_NaN()) == "NaN");
}

TEST_CASE("A family is its HELP and TYPE lines followed by one line per sample", "[metrics]") {
  Exposition out;
  out.Family("flint_things_total", MetricType::kCounter, "Things counted.\nTwo lines, a \\.");
  out.Sample("flint_things_total", {{"function", "hello"}, {"version", "3"}}, uint64_t{7});
  out.Sample("flint_things_total", {{"function", "we\"ird\n"}, {"version", "4"}}, uint64_t{0});
  out.Family("flint_level", MetricType::kGauge, "A level.");
  out.Sample("flint_level", {}, 1.5);
  out.Family("flint_latency_seconds", MetricType::kHistogram, "Latency.");
  CHECK(out.text() ==
        "# HELP flint_things_total Things counted.\\nTwo lines, a \\\\.\n"
        "# TYPE flint_things_total counter\n"
        "flint_things_total{function=\"hello\",version=\"3\"} 7\n"
        "flint_things_total{function=\"we\\\"ird\\n\",version=\"4\"} 0\n"
        "# HELP flint_level A level.\n"
        "# TYPE flint_level gauge\n"
        "flint_level 1.5\n"
        "# HELP flint_latency_seconds Latency.\n"
        "# TYPE flint_latency_seconds histogram\n");
}

TEST_CASE("Take hands over the page and leaves the builder empty", "[metrics]") {
  Exposition out;
  out.Sample("up", {}, uint64_t{1});
  CHECK(out.Take() == "up 1\n");
  CHECK(out.text().empty());
}

}  // namespace flint::scheduler::metrics
