// Readiness: whether flintd can take deploys and async work now, check by check, with the reason
// when it cannot. It is what /readyz answers and what the log reports, one line per change.
//
// Each check (the data directory's file system, the store, cgroups, the worker binary) is either
// ready or failing with a reason. Set() records the latest observation and returns a Change only
// when the check flips between ready and failing, so the caller logs once per fault and once per
// recovery however many requests hit the fault in between; a new reason while still failing
// updates the reason silently. Pure: time comes from the caller, no I/O.
//
// Thread-safe: probes finish on the loop thread, but writer threads (events, ledger) report
// their own failures too, so every method takes the object's mutex.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace flint::scheduler {

enum class ReadinessCheck : uint8_t { kDisk, kStore, kCgroups, kWorker };
inline constexpr size_t kReadinessChecks = 4;

// "disk", "store", "cgroups", "worker".
std::string_view ReadinessCheckName(ReadinessCheck check);

class Readiness {
 public:
  struct State {
    bool ready = true;
    std::string reason;     // why not, when !ready
    int64_t since_ms = 0;   // when the check last flipped (0: ready since the start)
    uint64_t failures = 0;  // how many times it went from ready to failing
  };
  struct Change {
    ReadinessCheck check;
    bool ready;          // the new state
    std::string reason;  // why not ready (empty when ready again)
    int64_t lasted_ms;   // how long the previous state lasted (0 when it had no start)
  };

  // Records that `check` is ready (`reason` empty) or failing because of `reason`.
  std::optional<Change> Set(ReadinessCheck check, std::string reason, int64_t now_ms);

  // True when every check is ready.
  bool ready() const;
  // The reason of the first failing check, "" when ready.
  std::string reason() const;
  State state(ReadinessCheck check) const;

 private:
  mutable std::mutex mu_;
  std::array<State, kReadinessChecks> states_;
};

}  // namespace flint::scheduler
