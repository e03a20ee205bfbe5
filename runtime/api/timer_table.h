// TimerTable: the pending timers (setTimeout, setInterval) of one function host, in order of
// due time, without their callbacks (the host keeps those in V8). No V8 here.
//
// Each timer belongs to an owner: the invocation that created it, or 0 (the module's top level,
// or JS that runs on behalf of no invocation). Timers run in order of due time, then of
// creation. An owner may have at most Limits::per_owner pending timers and the table at most
// Limits::total: beyond either, Add fails with a message for the user.
//
// Costs: Add and Remove are O(log n); DropOwner (an invocation ends) is O(1), whatever the
// number of timers it left: those are only forgotten, and their memory is reclaimed when they
// come due or, at the latest, when forgotten entries outnumber the live ones (a rebuild in
// O(n), amortised over the drops that made it necessary).
//
// Thread rules: one thread. Plain value; no callbacks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sdk/core/status.h"

namespace flint::runtime {

struct TimerLimits {
  size_t per_owner = 100'000;  // pending timers of one invocation (or of the module)
  size_t total = 200'000;      // pending timers of the host
};

class TimerTable {
 public:
  using Clock = std::chrono::steady_clock;
  using Limits = TimerLimits;
  struct Due {
    uint64_t id;
    uint64_t owner;
    bool repeat;
  };

  explicit TimerTable(Limits limits = {}) : limits_(limits) {}

  // A timer of `owner` due at `due`, then every `interval` after it ran if `interval` is
  // positive. Returns its id (> 0, never reused), or kTooManyRequests beyond the limits.
  Result<uint64_t> Add(uint64_t owner, Clock::time_point due, Clock::duration interval);
  // Removes timer `id`; returns its owner, or nothing if it was not pending.
  std::optional<uint64_t> Remove(uint64_t id);
  // Forgets every pending timer of `owner`.
  void DropOwner(uint64_t owner);
  // Forgets every timer.
  void Clear();

  // When the first pending timer is due; nothing if none is pending.
  std::optional<Clock::time_point> NextDue();
  // The first timer due at or before `now`, taken off the table (a repeating one is scheduled
  // again, `interval` after `now`); nothing if none is due.
  std::optional<Due> PopDue(Clock::time_point now);

  // Pending timers of `owner`, and of the whole table.
  size_t pending(uint64_t owner) const;
  size_t size() const { return live_; }
  const Limits& limits() const { return limits_; }

 private:
  struct Timer {
    uint64_t owner;
    uint64_t generation;  // of the owner's entry it was added under
    Clock::time_point due;
    Clock::duration interval;
  };
  struct Owner {
    uint64_t generation;
    size_t pending = 0;
  };
  struct QueueEntry {
    Clock::time_point due;
    uint64_t id;
    // std::push_heap builds a max-heap: the "largest" entry is the earliest, then the oldest.
    bool operator<(const QueueEntry& other) const {
      return due != other.due ? due > other.due : id > other.id;
    }
  };

  // True if `timer` still belongs to a live owner entry.
  bool Alive(const Timer& timer) const;
  void Push(Clock::time_point due, uint64_t id);
  // Drops queue entries and timers that were removed or forgotten, when they are many.
  void MaybeCompact();

  Limits limits_;
  std::unordered_map<uint64_t, Timer> timers_;  // pending, or forgotten with their owner
  std::unordered_map<uint64_t, Owner> owners_;  // owners with a pending timer, or that had one
  std::vector<QueueEntry> queue_;               // a heap; may hold removed or forgotten ids
  size_t live_ = 0;                             // pending timers of live owners
  uint64_t next_id_ = 1;
  uint64_t next_generation_ = 1;
};

}  // namespace flint::runtime
