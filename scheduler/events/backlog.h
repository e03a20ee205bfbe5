// EventBacklog: which queued async events may start now (docs/triggers.md).
//
// Pure bookkeeping of event keys (the caller keeps the payloads): per function, events ordered
// by due time (then by arrival), and how many of its events are running. TakeDue hands out due
// events round-robin across functions, each function up to its in-flight limit, so one
// function's backlog neither starves another function's events nor (with a limit below the
// pool's capacity) the function's own synchronous requests. No clock of its own: callers pass
// `now_ms`. Loop thread only.
//
// Invariants: a function never has more than its limit in flight (as of the last TakeDue);
// depth() counts queued plus running events.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace flint::scheduler::events {

using EventKey = uint64_t;

class EventBacklog {
 public:
  // Queues `key` for `function`, runnable from `due_ms`.
  void Push(const std::string& function, EventKey key, int64_t due_ms);
  // Due events to start now, as (function, key), marked running. `limit(function)` is how many
  // of that function's events may run at once.
  std::vector<std::pair<std::string, EventKey>> TakeDue(
      int64_t now_ms, const std::function<uint32_t(const std::string&)>& limit);
  // A running event of `function` finished (whatever the outcome).
  void Done(const std::string& function);
  // Removes every queued (not running) event of `function`; returns their keys.
  std::vector<EventKey> DropQueued(const std::string& function);

  // Queued plus running events of `function`.
  size_t depth(const std::string& function) const;
  size_t running(const std::string& function) const;
  // The functions whose depth() is at least `depth` (> 0).
  std::vector<std::string> FunctionsWithDepthAtLeast(size_t depth) const;
  size_t total_queued() const { return total_queued_; }
  // The earliest due time of a queued event of a function with spare capacity... or of any
  // function: callers use it to arm a timer.
  std::optional<int64_t> NextDue() const;

 private:
  struct PerFunction {
    std::set<std::tuple<int64_t, uint64_t, EventKey>> queued;  // (due, seq, key)
    size_t running = 0;
  };
  std::map<std::string, PerFunction> functions_;
  std::string last_served_;  // round-robin cursor
  uint64_t seq_ = 0;
  size_t total_queued_ = 0;
};

}  // namespace flint::scheduler::events
