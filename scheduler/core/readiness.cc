#include "scheduler/core/readiness.h"

#include <utility>

namespace flint::scheduler {

std::string_view ReadinessCheckName(ReadinessCheck check) {
  switch (check) {
    case ReadinessCheck::kDisk:
      return "disk";
    case ReadinessCheck::kStore:
      return "store";
    case ReadinessCheck::kCgroups:
      return "cgroups";
    case ReadinessCheck::kWorker:
      return "worker";
  }
  return "unknown";
}

std::optional<Readiness::Change> Readiness::Set(ReadinessCheck check, std::string reason,
                                                int64_t now_ms) {
  std::lock_guard lock(mu_);
  State& s = states_[static_cast<size_t>(check)];
  bool ready = reason.empty();
  if (ready == s.ready) {
    if (!ready) s.reason = std::move(reason);
    return std::nullopt;
  }
  Change change{check, ready, reason, s.since_ms > 0 ? now_ms - s.since_ms : 0};
  s.ready = ready;
  s.reason = std::move(reason);
  s.since_ms = now_ms;
  if (!ready) s.failures++;
  return change;
}

bool Readiness::ready() const {
  std::lock_guard lock(mu_);
  for (const State& s : states_) {
    if (!s.ready) return false;
  }
  return true;
}

std::string Readiness::reason() const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!states_[i].ready) {
      return std::string(ReadinessCheckName(static_cast<ReadinessCheck>(i))) + ": " +
             states_[i].reason;
    }
  }
  return "";
}

Readiness::State Readiness::state(ReadinessCheck check) const {
  std::lock_guard lock(mu_);
  return states_[static_cast<size_t>(check)];
}

}  // namespace flint::scheduler
