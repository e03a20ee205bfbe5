// HeapGuard: the function's memory budget inside Node.js's isolate.
//
// Node.js starts with a small old-generation limit (flint-worker passes --max-old-space-size,
// kNodeInitialOldSpaceMb); V8 calls the near-heap-limit callback when the heap approaches it, and
// the callback raises the limit step by step up to the budget, after a full GC each time, so a
// small function keeps a small heap. Once the heap reaches the budget, or the V8 heap and the
// memory outside it (Buffers, ArrayBuffers: V8's external memory, checked after every GC) exceed
// it together, the guard terminates execution, marks itself out_of_memory() and calls
// `on_exhausted` on the loop thread (through a uv_async), granting V8 room to unwind so that it
// never aborts the process on its own. The cgroup's memory limit, set above the budget, stays
// the backstop for memory V8 does not see.
//
// Invariant: once out_of_memory(), the isolate runs no more function code; the owner reports
// and exits. Thread rules: loop thread (V8 calls the callbacks on it); the isolate and loop
// outlive the guard.
#pragma once

#include <uv.h>
#include <v8.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "runtime/node/node_limits.h"

namespace flint::runtime::node {

class HeapGuard {
 public:
  // The budget before LOAD names the function's: room for Flint's own bootstrap only.
  static constexpr size_t kUnloadedBudgetBytes = size_t{512} << 20;
  // The V8 budget for a function of `memory_mb` (runtime/node/node_limits.h).
  static size_t BudgetBytes(uint32_t memory_mb) { return NodeHeapBudgetBytes(memory_mb); }

  HeapGuard(uv_loop_t* loop, v8::Isolate* isolate, std::function<void()> on_exhausted);
  ~HeapGuard();
  HeapGuard(const HeapGuard&) = delete;
  HeapGuard& operator=(const HeapGuard&) = delete;

  void SetBudget(size_t bytes) { budget_ = bytes; }
  // The most anonymous memory the process may hold (0: no limit): what the kernel would count
  // against the cgroup, which V8 does not see all of (Buffers between GCs, native code).
  void SetProcessLimit(size_t bytes) { process_limit_.store(bytes); }
  // Any thread: exhausts the budget if the process holds more than its limit.
  void CheckProcessMemory();
  size_t budget() const { return budget_; }
  bool out_of_memory() const { return out_of_memory_.load(std::memory_order_relaxed); }

  struct Usage {
    uint64_t used_bytes = 0;  // V8 heap in use plus external memory
    uint64_t limit_bytes = 0;
  };
  Usage GetUsage() const;

 private:
  static size_t OnNearHeapLimit(void* data, size_t current_limit, size_t initial_limit);
  static void OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                           void* data);
  void Exhausted();

  v8::Isolate* isolate_;
  std::function<void()> on_exhausted_;
  uv_async_t* wake_;  // freed by its close callback
  size_t budget_ = kUnloadedBudgetBytes;
  std::atomic<size_t> process_limit_{0};
  int statm_fd_ = -1;
  std::atomic<bool> out_of_memory_{false};
};

}  // namespace flint::runtime::node
