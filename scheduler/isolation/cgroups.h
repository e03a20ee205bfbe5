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
// on the function (CPU period, pids, swap) at once, so SetLimits at LOAD writes only the memory,
// the CPU weight and the CPU quota, or nothing when PresetLimits wrote them already; the limit
// files are closed once SetLimits has written them (a worker is loaded once), the usage files when
// the cgroup is removed.
//
// Tests substitute a fake through the interface. Loop thread only (no internal locking).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler::isolation {

// How the CPU is shared among workers (flintd --cpu-mode, docs/security.md).
//
// Every worker's cgroup gets a CPU weight (cgroup v1 cpu.shares, v2 cpu.weight) in proportion
// to the CPU its function is entitled to: Lambda's ratio, one vCPU per 1769 MB, or the
// function's own `cpu` when it sets one. Weights only matter under contention: a busy machine
// divides its CPUs in those proportions, an idle one lets any worker use what is free
// (work-conserving). A hard CFS quota comes on top only where asked for: a function's `cpu`
// setting, or kProportionalQuota for every function (Lambda's caps: 128 MB -> 7.2 ms of CPU
// per 100 ms period, throttled for the rest of the period even while CPUs sit idle).
enum class CpuMode : uint8_t {
  kWeight = 0,             // weights only, no quota unless the function sets `cpu` (default)
  kProportionalQuota = 1,  // weights, and a quota in proportion to memory for every function
};

// "weight" / "proportional-quota", and back (nullopt for anything else).
std::string_view CpuModeName(CpuMode mode);
std::optional<CpuMode> ParseCpuMode(std::string_view name);

// Lambda's ratio: a function with 1769 MB gets one full vCPU; CPU scales linearly with memory
// (128 MB -> 7.2% of a CPU). The CFS period is the kernel's 100 ms: a 20 ms period shortened
// the stall of a worker that used up its quota (warm p99) but throttled a cold start's first
// invocation, whose compile needs more than 20 ms x 7.2% (docs/benchmarks.md). The kernel's
// smallest quota is 1 ms.
inline constexpr uint64_t kMemoryMbPerVcpu = 1769;
inline constexpr uint64_t kCpuPeriodUs = 100'000;
inline constexpr uint64_t kMinCpuQuotaUs = 1'000;
// CPU weights are kept in cgroup v1's unit: 1024 shares are one vCPU's worth (the kernel's
// default for a cgroup, and a task's weight at nice 0). v1 accepts 2..262144; v2's cpu.weight
// (1..10000, default 100) is shares * 100 / 1024.
inline constexpr uint64_t kCpuSharesPerVcpu = 1024;
inline constexpr uint64_t kMinCpuShares = 2;
inline constexpr uint64_t kMaxCpuShares = 262'144;
// Processes and threads a worker may hold at once (V8 needs about 10 threads).
inline constexpr uint64_t kPidsMax = 64;

struct Limits {
  uint64_t memory_bytes = 0;  // hard limit; swap is off (memsw = the same on v1, swap.max 0 on v2)
  uint64_t cpu_shares = kCpuSharesPerVcpu;  // weight under contention (v1 units, see above)
  uint64_t cpu_quota_us = 0;                // per cpu_period_us; 0: no quota (work-conserving)
  uint64_t cpu_period_us = kCpuPeriodUs;
  uint64_t pids_max = kPidsMax;
};

// The limits of a worker of a function with `memory_mb` of memory and `cpu_millis` thousandths
// of a CPU asked for (0: none; FunctionConfig::cpu_millis), on a node in `mode`.
Limits LimitsFor(uint32_t memory_mb, uint32_t cpu_millis, CpuMode mode);

// cgroup v2's cpu.weight for `shares`.
uint64_t CpuWeightV2(uint64_t shares);

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
