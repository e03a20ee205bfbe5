// NodeCapacity: the node's memory budget for function workers, per-function reservations, and
// the choice of which idle workers to evict when a new worker does not fit.
//
// Each worker assigned to a function is charged at that function's memory size (memory_mb)
// from the moment flintd decides to start it until it decides to stop it (or it exits). A
// function's reservation (reserved concurrency x memory_mb) is memory only that function may
// use: for any other function, the unused part of it counts as taken. Pre-warmed generic
// workers and deploy-time load checks are not charged.
//
// Invariants:
//  - Charge() only follows a PlanStart() that answered kFits (or kEvict, after the evictions
//    were released), so used_mb() never exceeds budget_mb() through Flint's own decisions;
//  - PlanStart() never proposes a worker of the function that needs the memory, proposes
//    least recently used workers first, and proposes evictions only when they make the new
//    worker fit (never a useless eviction).
//
// Pure bookkeeping: no clock (callers pass idle-since times), no I/O. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler/core/pool.h"

namespace flint::scheduler {

// An idle worker that may be evicted (the pool has already excluded min_instances workers).
struct EvictionCandidate {
  WorkerId worker = 0;
  std::string function;
  uint32_t memory_mb = 0;
  uint64_t idle_since_ms = 0;  // least recently used = smallest
};

class NodeCapacity {
 public:
  explicit NodeCapacity(uint64_t budget_mb) : budget_mb_(budget_mb) {}

  struct Plan {
    enum class Kind {
      kFits,   // charge and start
      kEvict,  // release `evict` (stop those workers), then charge and start
      kWait,   // not now: the memory is in use by workers that are busy or protected
      kNever,  // the function can never fit (its size exceeds what others leave it)
    } kind = Kind::kFits;
    std::vector<WorkerId> evict;
    std::string reason;  // for kWait and kNever: a sentence for the user
  };
  // May a new worker of `function` (memory_mb) start? `idle` lists evictable idle workers of
  // every function; the function's own are ignored.
  Plan PlanStart(const std::string& function, uint32_t memory_mb,
                 std::vector<EvictionCandidate> idle) const;

  void Charge(WorkerId worker, const std::string& function, uint32_t memory_mb);
  // False when `worker` was not charged (idempotent).
  bool Release(WorkerId worker);
  bool charged(WorkerId worker) const { return workers_.count(worker) > 0; }

  // Memory reserved for `function` (0 removes the reservation).
  void SetReservation(const std::string& function, uint64_t reserved_mb);

  // What `function` may still use without evicting: the budget minus what is used, minus the
  // unused reservations of other functions.
  int64_t Available(const std::string& function) const;
  uint64_t used_mb() const { return used_mb_; }
  uint64_t UsedBy(const std::string& function) const;
  uint64_t budget_mb() const { return budget_mb_; }
  uint64_t reserved_mb() const;

 private:
  struct Charged {
    std::string function;
    uint32_t memory_mb;
  };
  static int64_t AvailableGiven(const std::string& function, uint64_t budget, uint64_t used,
                                const std::map<std::string, uint64_t>& used_by,
                                const std::map<std::string, uint64_t>& reserved);

  uint64_t budget_mb_;
  uint64_t used_mb_ = 0;
  std::map<WorkerId, Charged> workers_;
  std::map<std::string, uint64_t> used_by_;
  std::map<std::string, uint64_t> reserved_;
};

}  // namespace flint::scheduler
