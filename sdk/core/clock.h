// Wall-clock time as Flint keeps it: milliseconds since the Unix epoch (UTC), the one unit every
// stored or shown time has (invocation records, events, versions, log lines, price sheets).
//
// For intervals, deadlines and timeouts use a monotonic clock instead (uv_now or uv_hrtime on a
// loop, std::chrono::steady_clock elsewhere): the wall clock may jump. Any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace flint {

// Now, in milliseconds since the Unix epoch.
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace flint
