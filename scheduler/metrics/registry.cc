#include "scheduler/metrics/registry.h"

#include <functional>
#include <utility>

namespace flint::scheduler::metrics {

Registry::Registry(std::vector<std::string> outcome_names, size_t throttled)
    : outcomes_(std::move(outcome_names)), throttled_(throttled) {}

std::shared_ptr<FunctionMetrics> Registry::For(const std::string& function, uint32_t version) {
  auto& versions = functions_[function];
  auto& slot = versions[version];
  if (!slot) {
    slot = std::make_shared<FunctionMetrics>(outcomes_.size());
    // The oldest versions go first; the one just made stays even if it is the oldest.
    while (versions.size() > kVersionsKept) {
      auto oldest = versions.begin();
      if (oldest->first == version) oldest = std::next(oldest);
      versions.erase(oldest);
    }
  }
  return slot;
}

void Registry::Forget(const std::string& function) { functions_.erase(function); }

size_t Registry::series_count() const {
  size_t n = 0;
  for (const auto& [name, versions] : functions_) n += versions.size();
  return n;
}

void Registry::WriteTo(Exposition& out) const {
  // Runs `write` for every function version with its labels.
  auto each = [&](const std::function<void(const Labels&, const FunctionMetrics&)>& write) {
    for (const auto& [name, versions] : functions_) {
      for (const auto& [version, series] : versions) {
        std::string v = std::to_string(version);
        write(Labels{{"function", name}, {"version", v}}, *series);
      }
    }
  };
  out.Family("flint_invocations_total", MetricType::kCounter,
             "Invocations answered, by function, version and outcome.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    Labels with_outcome = labels;
    with_outcome.emplace_back("outcome", "");
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      with_outcome.back().second = outcomes_[i];
      out.Sample("flint_invocations_total", with_outcome, m.invocations(i));
    }
  });
  out.Family("flint_throttles_total", MetricType::kCounter,
             "Invocations turned away with 429 (concurrency limit and queue full); also counted "
             "as flint_invocations_total{outcome=\"throttled\"}.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    out.Sample("flint_throttles_total", labels,
               throttled_ < outcomes_.size() ? m.invocations(throttled_) : uint64_t{0});
  });
  out.Family("flint_invocation_duration_seconds", MetricType::kHistogram,
             "Execution time of the invocations that reached a worker, as billed.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    m.duration().WriteTo(out, "flint_invocation_duration_seconds", labels);
  });
  out.Family("flint_cold_starts_total", MetricType::kCounter,
             "Invocations that waited for a worker to load their function.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    out.Sample("flint_cold_starts_total", labels, m.cold_starts());
  });
  out.Family("flint_cold_start_duration_seconds", MetricType::kHistogram,
             "Time from a worker being started for a waiting request until it loaded the "
             "function.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    m.cold_start_latency().WriteTo(out, "flint_cold_start_duration_seconds", labels);
  });
  out.Family("flint_billed_gigabyte_seconds_total", MetricType::kCounter,
             "Memory times billed execution time (rounded up to the millisecond), in GB-seconds.");
  each([&](const Labels& labels, const FunctionMetrics& m) {
    out.Sample("flint_billed_gigabyte_seconds_total", labels,
               static_cast<double>(m.billed_mb_ms()) / kMbMsPerGbSecond);
  });
}

}  // namespace flint::scheduler::metrics
