// ProcessMetrics: flintd's own process figures under the names every Prometheus client library
// uses (process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds), read from /proc when
// /metrics is scraped.
//
// Reads a few small /proc files (a handful of system calls, tens of microseconds) on the
// caller's thread; a figure that cannot be read is left out rather than written as 0. Thread-
// safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "scheduler/metrics/exposition.h"

namespace flint::scheduler::metrics {

struct ProcessFigures {
  std::optional<double> cpu_seconds;
  std::optional<uint64_t> resident_bytes;
  std::optional<uint64_t> virtual_bytes;
  std::optional<uint64_t> open_fds;
  std::optional<uint64_t> max_fds;
  std::optional<double> start_time_seconds;  // since the Unix epoch
};

// The figures of this process.
ProcessFigures ReadProcessFigures();
// Parses /proc/<pid>/stat's text: utime + stime (fields 14, 15) and starttime (field 22), in
// clock ticks, into `figures` given the ticks per second and the boot time (Unix seconds).
// False when the text is malformed. The command name (field 2) may hold spaces and ')'.
bool ParseProcStat(const std::string& stat, double ticks_per_second, double boot_time_seconds,
                   ProcessFigures& figures);
void WriteProcessFigures(Exposition& out, const ProcessFigures& figures);

}  // namespace flint::scheduler::metrics
