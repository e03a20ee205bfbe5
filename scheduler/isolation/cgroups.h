// Cgroups: one cgroup per worker process (`w<N>`) and per C++ build (`b<N>`,
// scheduler/build/build_service.h), under a `flint/<flintd pid>` subtree of every hierarchy
// Flint uses (cgroup v1: cpu, cpuacct, memory, pids; cgroup v2: the unified tree).
//
// The real implementation (OpenCgroups) finds the hierarchies through libcgroup at start-up,
// creates the subtree (removing subtrees left by flintd processes that no longer exist) and
// removes it again on destruction. Per-worker operations are plain file writes and reads
// (mkdir, write, rmdir): libcgroup's own attach costs 1-18 ms, a raw write about 0.1 ms
// (see docs/security.md). A worker's cgroup is created before the worker is spawned; the
// spawned child writes its own pid into every `cgroup.procs` file listed by Create() before it
// execs, so the worker never runs outside it. Limits are written at LOAD.
//
// Create() also opens the files read by ReadUsage and written by SetLimits and keeps them
// open (one descriptor per file per worker, read and written at offset 0): a path lookup in
// the cgroup file system costs more than the read itself, and ReadUsage runs on the event loop
// after invocations, SetLimits on the cold-start path. It writes the limits that do not depend
// on the function (CPU period, pids, swap) at once, so SetLimits at LOAD writes only the memory
// and CPU quota, or nothing when PresetLimits wrote them already; the limit files are closed
// once SetLimits has written them (a worker is loaded once), the usage files when the cgroup is
// removed.
//
// Tests substitute a fake through the interface. Loop thread only (no internal locking).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler::isolation {

// Lambda's ratio: a function with 1769 MB gets one full vCPU; CPU share scales linearly with
// memory (128 MB -> 7.2% of a CPU). The CFS period is the kernel's 100 ms: a 20 ms period
// shortened the stall of a worker that used up its quota (warm p99) but throttled a cold
// start's first invocation, whose compile needs more than 20 ms x 7.2% (docs/benchmarks.md).
// The kernel's smallest quota is 1 ms.
inline constexpr uint64_t kMemoryMbPerVcpu = 1769;
inline constexpr uint64_t kCpuPeriodUs = 100'000;
inline constexpr uint64_t kMinCpuQuotaUs = 1'000;
// Processes and threads a worker may hold at once (V8 needs about 10 threads).
inline constexpr uint64_t kPidsMax = 64;

struct Limits {
  uint64_t memory_bytes = 0;  // hard limit; swap is off (memsw = the same on v1, swap.max 0 on v2)
  uint64_t cpu_quota_us = 0;  // per kCpuPeriodUs
  uint64_t cpu_period_us = kCpuPeriodUs;
  uint64_t pids_max = kPidsMax;
};

// The limits for a function with `memory_mb` of memory.
Limits LimitsForMemory(uint32_t memory_mb);

struct Usage {
  uint64_t cpu_us = 0;             // CPU time of every process that ran in the cgroup
  uint64_t peak_memory_bytes = 0;  // highest memory use seen (0 where the kernel cannot say)
  uint64_t oom_kills = 0;          // processes the kernel killed for the memory limit
};

class Cgroups {
 public:
  virtual ~Cgroups() = default;
  // "v1" or "v2".
  virtual std::string version() const = 0;
  // Creates the cgroup `name` (one path component, e.g. "w12") with no memory or CPU limit yet
  // and returns the files a process writes its pid to in order to join it.
  virtual Result<std::vector<std::string>> Create(const std::string& name) = 0;
  // Makes the cgroup's files hold `limits` (files that hold them already are not written).
  virtual Status SetLimits(const std::string& name, const Limits& limits) = 0;
  // The same ahead of LOAD, for a pre-warmed worker (flintd presets the smallest function
  // size's limits, the most common): SetLimits at LOAD then writes nothing for a function of
  // that size and only what differs for another. Only raise limits after a preset (lowering
  // the memory limit below a process's use fails).
  virtual Status PresetLimits(const std::string& name, const Limits& limits) = 0;
  virtual Result<Usage> ReadUsage(const std::string& name) = 0;
  // Removes the cgroup. Unavailable (retry later) while a process is still inside.
  virtual Status Remove(const std::string& name) = 0;
};

// Why cgroups cannot be used on this host, or the real implementation. Needs root and either
// cgroup v1 with the cpu, cpuacct, memory and pids controllers mounted, or cgroup v2 with
// memory, cpu and pids available.
Result<std::unique_ptr<Cgroups>> OpenCgroups();

}  // namespace flint::scheduler::isolation
