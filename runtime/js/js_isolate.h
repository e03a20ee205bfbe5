// JsIsolate: one V8 isolate with one context, a memory budget and a watchdog.
//
// Created before any function is known (a pre-warmed worker), then given the function's memory
// budget with SetMemoryLimit(). How the budget is enforced: the isolate starts with a small
// old-generation limit (kInitialOldGenerationBytes); V8 calls the near-heap-limit callback when
// the heap approaches it, and the callback raises the limit step by step up to the budget.
// Once the heap reaches the budget the callback terminates execution, marks the isolate
// out_of_memory() and grants V8 a little room to unwind, so V8 never aborts the process on
// its own. ArrayBuffer memory (outside the V8 heap) is capped at the same budget by the
// allocator, which makes an oversized allocation throw a RangeError in JS.
//
// Invariant: an isolate that went out_of_memory() must not run JS again; its owner discards it.
// Thread rules: one thread (the loop thread) creates, uses and destroys it; only the Watchdog's
// own thread touches the isolate from elsewhere. Owners of v8::Global handles into this isolate
// must reset them before it is destroyed (register a dispose hook if they live elsewhere).
#pragma once

#include <v8.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "runtime/js/watchdog.h"
#include "sdk/core/status.h"

namespace flint::runtime {

namespace detail {
class CountingAllocator;
}

struct HeapUsage {
  size_t used_bytes = 0;   // live V8 heap plus ArrayBuffer memory
  size_t limit_bytes = 0;  // the budget (0 before SetMemoryLimit)
};

class JsIsolate {
 public:
  static constexpr size_t kInitialOldGenerationBytes = size_t{16} << 20;
  static constexpr size_t kYoungGenerationBytes = size_t{8} << 20;

  static Result<std::unique_ptr<JsIsolate>> Create();
  ~JsIsolate();
  JsIsolate(const JsIsolate&) = delete;
  JsIsolate& operator=(const JsIsolate&) = delete;

  v8::Isolate* isolate() const { return isolate_; }
  // Needs a HandleScope.
  v8::Local<v8::Context> context() const { return context_.Get(isolate_); }
  Watchdog& watchdog() { return *watchdog_; }

  // Sets the memory budget: the V8 heap (old generation, plus the fixed young generation) and,
  // separately, ArrayBuffer memory may each grow to `bytes`.
  void SetMemoryLimit(size_t bytes);
  bool out_of_memory() const { return out_of_memory_.load(std::memory_order_relaxed); }
  HeapUsage GetHeapUsage();

  // Runs `hook` just before the isolate is disposed (in reverse order of registration).
  void AddDisposeHook(std::function<void()> hook) { dispose_hooks_.push_back(std::move(hook)); }

 private:
  JsIsolate() = default;
  static size_t OnNearHeapLimit(void* data, size_t current_limit, size_t initial_limit);

  std::unique_ptr<detail::CountingAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::Context> context_;
  std::unique_ptr<Watchdog> watchdog_;
  size_t old_generation_budget_ = 0;  // 0: no function loaded yet
  std::atomic<bool> out_of_memory_{false};
  std::vector<std::function<void()>> dispose_hooks_;
};

}  // namespace flint::runtime
