#include "scheduler/core/node_capacity.h"

#include <algorithm>

#include "sdk/core/check.h"

namespace flint::scheduler {

int64_t NodeCapacity::AvailableGiven(const std::string& function, uint64_t budget, uint64_t used,
                                     const std::map<std::string, uint64_t>& used_by,
                                     const std::map<std::string, uint64_t>& reserved) {
  int64_t available = static_cast<int64_t>(budget) - static_cast<int64_t>(used);
  for (const auto& [name, mb] : reserved) {
    if (name == function) continue;
    auto u = used_by.find(name);
    uint64_t in_use = u == used_by.end() ? 0 : u->second;
    if (mb > in_use) available -= static_cast<int64_t>(mb - in_use);
  }
  return available;
}

int64_t NodeCapacity::Available(const std::string& function) const {
  return AvailableGiven(function, budget_mb_, used_mb_, used_by_, reserved_);
}

uint64_t NodeCapacity::UsedBy(const std::string& function) const {
  auto it = used_by_.find(function);
  return it == used_by_.end() ? 0 : it->second;
}

uint64_t NodeCapacity::reserved_mb() const {
  uint64_t sum = 0;
  for (const auto& [name, mb] : reserved_) sum += mb;
  return sum;
}

NodeCapacity::Plan NodeCapacity::PlanStart(const std::string& function, uint32_t memory_mb,
                                           std::vector<EvictionCandidate> idle) const {
  Plan plan;
  // The most this function could ever have: the budget less other functions' reservations.
  int64_t ceiling = static_cast<int64_t>(budget_mb_);
  for (const auto& [name, mb] : reserved_) {
    if (name != function) ceiling -= static_cast<int64_t>(mb);
  }
  if (static_cast<int64_t>(memory_mb) > ceiling) {
    plan.kind = Plan::Kind::kNever;
    plan.reason = "function '" + function + "' needs " + std::to_string(memory_mb) +
                  " MB per worker but the node's memory budget is " + std::to_string(budget_mb_) +
                  " MB, " + std::to_string(budget_mb_ - std::max<int64_t>(ceiling, 0)) +
                  " MB of it reserved for other functions";
    return plan;
  }
  if (Available(function) >= static_cast<int64_t>(memory_mb)) return plan;

  std::stable_sort(idle.begin(), idle.end(),
                   [](const EvictionCandidate& a, const EvictionCandidate& b) {
                     return a.idle_since_ms < b.idle_since_ms;
                   });
  uint64_t used = used_mb_;
  std::map<std::string, uint64_t> used_by = used_by_;
  int64_t available = Available(function);
  for (const EvictionCandidate& c : idle) {
    if (c.function == function) continue;
    auto charged = workers_.find(c.worker);
    if (charged == workers_.end()) continue;  // not counted, so evicting it frees nothing
    uint32_t mb = charged->second.memory_mb;
    uint64_t next_used = used - mb;
    std::map<std::string, uint64_t> next_by = used_by;
    next_by[c.function] -= mb;
    int64_t next_available = AvailableGiven(function, budget_mb_, next_used, next_by, reserved_);
    if (next_available <= available) continue;  // its memory stays reserved for its function
    used = next_used;
    used_by = std::move(next_by);
    available = next_available;
    plan.evict.push_back(c.worker);
    if (available >= static_cast<int64_t>(memory_mb)) {
      plan.kind = Plan::Kind::kEvict;
      return plan;
    }
  }
  plan.evict.clear();
  plan.kind = Plan::Kind::kWait;
  plan.reason = "the node's memory budget (" + std::to_string(budget_mb_) + " MB, " +
                std::to_string(used_mb_) +
                " MB in use) has no room for another worker of function '" + function + "' (" +
                std::to_string(memory_mb) + " MB) and no idle worker of another function can be " +
                "evicted";
  return plan;
}

void NodeCapacity::Charge(WorkerId worker, const std::string& function, uint32_t memory_mb) {
  FLINT_CHECK(workers_.count(worker) == 0);
  workers_.emplace(worker, Charged{function, memory_mb});
  used_mb_ += memory_mb;
  used_by_[function] += memory_mb;
}

bool NodeCapacity::Release(WorkerId worker) {
  auto it = workers_.find(worker);
  if (it == workers_.end()) return false;
  used_mb_ -= it->second.memory_mb;
  auto by = used_by_.find(it->second.function);
  by->second -= it->second.memory_mb;
  if (by->second == 0) used_by_.erase(by);
  workers_.erase(it);
  return true;
}

void NodeCapacity::SetReservation(const std::string& function, uint64_t reserved_mb) {
  if (reserved_mb == 0) {
    reserved_.erase(function);
  } else {
    reserved_[function] = reserved_mb;
  }
}

}  // namespace flint::scheduler
