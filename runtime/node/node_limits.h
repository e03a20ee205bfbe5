// Memory figures of the Node.js runtime shared by flint-worker (which starts Node.js) and
// Flint's addon inside it (runtime/node/heap_guard.h). Pure: no Node.js or V8 headers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flint::runtime {

// The V8 old-generation limit Node.js starts with (--max-old-space-size), in MiB: pre-warming
// needs about 10; the addon raises the limit as the heap grows, up to the function's budget.
inline constexpr uint32_t kNodeInitialOldSpaceMb = 32;
// What a Node.js worker needs besides the function's V8 heap (code, stacks, the young
// generation, buffers), in MiB: the budget is the function's memory minus this, at least 32.
inline constexpr uint32_t kNodeProcessOverheadMb = 64;

// The V8 budget of a Node.js function with `memory_mb` of memory, in bytes.
constexpr size_t NodeHeapBudgetBytes(uint32_t memory_mb) {
  uint64_t mb = memory_mb > kNodeProcessOverheadMb + 32 ? memory_mb - kNodeProcessOverheadMb : 32;
  return static_cast<size_t>(mb) << 20;
}

// The most anonymous memory a Node.js worker of `memory_mb` may hold, in bytes: its cgroup's
// limit less room for what the kernel also charges to it (page tables, /tmp, the sandbox's
// waiting processes), so that the worker reports the memory limit before the kernel kills it.
constexpr size_t NodeProcessLimitBytes(uint32_t memory_mb) {
  uint64_t mb = memory_mb > 32 ? memory_mb - 16 : memory_mb;
  return static_cast<size_t>(mb) << 20;
}

}  // namespace flint::runtime
