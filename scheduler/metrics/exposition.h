// Exposition: builds a page in Prometheus's text exposition format (version 0.0.4), the body
// flintd answers GET /metrics with (docs/observability.md lists the metrics).
//
// A page is a sequence of families: Family() writes a family's "# HELP" and "# TYPE" lines, and
// the Sample() calls that follow write its samples, one line each:
//   # HELP flint_invocations_total Invocations answered, by outcome.
//   # TYPE flint_invocations_total counter
//   flint_invocations_total{function="hello",version="3",outcome="ok"} 42
// Label values are escaped (backslash, double quote, newline) and so is HELP text (backslash,
// newline), so a value can never end a line or a label early. Integers are written exactly,
// other values in the shortest digits that read back as the same double (in %g notation),
// infinities as
// "+Inf"/"-Inf". Nothing checks that a family's samples follow it or that names are valid: the
// callers write fixed names; tests run the output through `promtool check metrics`.
//
// Pure (no I/O); one Exposition per page, used from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flint::scheduler::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::vector<Label>;

// The content type of a page: Prometheus's text format.
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

// `value` as a label value inside double quotes: \ -> \\, " -> \", newline -> \n.
std::string EscapeLabelValue(std::string_view value);
// `value` as a sample value: integers exactly ("42", "0"), others in the shortest digits that
// read back exactly, in %g's notation ("0.25", "0.0001", "1e-07"); "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

class Exposition {
 public:
  void Family(std::string_view name, MetricType type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, uint64_t value);
  void Sample(std::string_view name, const Labels& labels, double value);
  // The sample's value is written as given (for "+Inf" bucket labels and exact counts).
  void SampleText(std::string_view name, const Labels& labels, std::string_view value);

  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace flint::scheduler::metrics
