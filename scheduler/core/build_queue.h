// BuildQueue: which C++ builds run now, which wait, and which are turned away.
//
// At most `max_running` builds run at once (each in its own cgroup and sandbox, up to its CPU,
// memory and time limits); up to `max_waiting` more wait in arrival order; a build that arrives
// with the queue full is rejected (the deploy answers 429), and one that has waited longer than
// `max_wait_ms` is expired (503). Both come with a Retry-After estimate: the time the builds
// already running and waiting would take, from the recent builds' average duration.
//
// Invariants:
//  - running() <= max_running, waiting() <= max_waiting;
//  - a build waits only while max_running builds run (a slot never stays free while one waits);
//  - builds start in arrival order.
//
// Pure bookkeeping: no clock of its own (callers pass `now_ms`), no I/O. Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace flint::scheduler {

using BuildId = uint64_t;

struct BuildQueueOptions {
  size_t max_running = 2;
  size_t max_waiting = 16;
  uint64_t max_wait_ms = 60'000;
  // The duration assumed for a build before any has finished (Retry-After estimates).
  uint64_t initial_build_ms = 10'000;
};

class BuildQueue {
 public:
  explicit BuildQueue(BuildQueueOptions options);

  enum class Admission { kRun, kWait, kRejected };
  // A build arrives: kRun (the caller starts it now), kWait (Finish or Cancel will hand it out
  // later, or Expire will time it out), or kRejected (nothing recorded). `id` must be new.
  Admission Admit(BuildId id, uint64_t now_ms);
  // A running build ended after `duration_ms` (a build that never ran: 0 and it does not count
  // toward the average). Returns the waiting build to start now, if any (it counts as running).
  std::optional<BuildId> Finish(BuildId id, uint64_t duration_ms);
  // Takes a waiting build out of the queue (its deploy went away). False if it was not waiting.
  bool Cancel(BuildId id);
  // Removes and returns the builds that have waited longer than max_wait_ms at `now_ms`.
  std::vector<BuildId> Expire(uint64_t now_ms);
  // When the oldest waiting build expires (for a timer); nullopt when none waits.
  std::optional<uint64_t> NextExpiry() const;

  // Seconds a client turned away should wait before it tries again: the time until a slot
  // frees for a new build (every build running and waiting done, max_running at a time), at
  // least 1 and at most 600.
  uint32_t RetryAfterSeconds() const;
  // The average duration of recent builds (exponentially weighted), or initial_build_ms.
  uint64_t typical_build_ms() const { return typical_build_ms_; }

  size_t running() const { return running_.size(); }
  size_t waiting() const { return waiting_.size(); }
  const BuildQueueOptions& options() const { return options_; }

 private:
  struct Waiting {
    BuildId id;
    uint64_t since_ms;
  };

  BuildQueueOptions options_;
  std::set<BuildId> running_;
  std::deque<Waiting> waiting_;  // arrival order
  uint64_t typical_build_ms_;
};

}  // namespace flint::scheduler
