// JsIsolate: one V8 isolate with one context, a memory budget and a watchdog.
//
// Created before any function is known (a pre-warmed worker), then given the function's memory
// budget with SetMemoryLimit(): one budget for everything JavaScript holds, the V8 heap and
// ArrayBuffer memory (outside the heap) together, so that the worker stays below its cgroup's
// limit with room for the rest of the process (see FunctionHost::HeapBudgetBytes).
//
// How the budget is enforced. The isolate is created with an old-generation limit above any
// budget (kCreatedOldGenerationBytes, with a small first GC threshold), and SetMemoryLimit
// lowers it to the budget less the young generation. The budget is reached when (a) V8 finds
// the heap at that limit after a full GC (the near-heap-limit callback), or (b) a full GC
// leaves more live heap than the budget has room for beside the ArrayBuffers. Either way the
// isolate terminates the running JS at once, marks itself out_of_memory() and, if V8 still needs
// room to unwind, grants it a small step (kGraceStepBytes) beyond what the heap holds, instead of
// letting it abort the process. An ArrayBuffer that does not fit beside the live heap fails to
// allocate, which throws a RangeError in JS (the function may catch it and go on). One allocation
// too large for any step (an array of hundreds of megabytes) is fatal to V8: see out_of_memory.h.
//
// Invariant: an isolate that went out_of_memory() must not run JS again; its owner discards it.
// Thread rules: one thread (the loop thread) creates, uses and destroys it; only the Watchdog's
// own thread touches the isolate from elsewhere (and V8's threads free ArrayBuffers). Owners
// of v8::Global handles into this isolate must reset them before it is destroyed (register a
// dispose hook if they live elsewhere).
#pragma once

#include <v8.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
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

// What JavaScript held when the budget was reached (see JsIsolate::out_of_memory()).
struct MemoryLimitReached {
  std::chrono::steady_clock::time_point when;
  size_t heap_bytes = 0;          // the V8 heap's objects after the last full GC
  size_t array_buffer_bytes = 0;  // ArrayBuffer memory
};

class JsIsolate {
 public:
  // The isolate is created with an old-generation limit above any function's budget (and a
  // small initial GC threshold); SetMemoryLimit lowers it to the budget.
  static constexpr size_t kCreatedOldGenerationBytes = size_t{16} << 30;
  static constexpr size_t kInitialOldGenerationBytes = size_t{16} << 20;
  static constexpr size_t kYoungGenerationBytes = size_t{8} << 20;
  // Room V8 gets, in steps, to unwind JS terminated at the budget.
  static constexpr size_t kGraceStepBytes = size_t{4} << 20;

  static Result<std::unique_ptr<JsIsolate>> Create();
  ~JsIsolate();
  JsIsolate(const JsIsolate&) = delete;
  JsIsolate& operator=(const JsIsolate&) = delete;

  v8::Isolate* isolate() const { return isolate_; }
  // Needs a HandleScope.
  v8::Local<v8::Context> context() const { return context_.Get(isolate_); }
  Watchdog& watchdog() { return *watchdog_; }

  // Sets the memory budget: the V8 heap (old generation, plus the fixed young generation) and
  // ArrayBuffer memory together may hold `bytes` (at least kInitialOldGenerationBytes plus the
  // young generation).
  void SetMemoryLimit(size_t bytes);
  bool out_of_memory() const { return reached_.has_value(); }
  // Set once out_of_memory().
  const std::optional<MemoryLimitReached>& limit_reached() const { return reached_; }
  HeapUsage GetHeapUsage();

  // Runs `hook` just before the isolate is disposed (in reverse order of registration).
  void AddDisposeHook(std::function<void()> hook) { dispose_hooks_.push_back(std::move(hook)); }

 private:
  JsIsolate() = default;
  static size_t OnNearHeapLimit(void* data, size_t current_limit, size_t initial_limit);
  static void OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags,
                           void* data);
  // Terminates the running JS and marks the isolate out of memory (once).
  void ReachLimit(size_t heap_bytes);

  std::unique_ptr<detail::CountingAllocator> allocator_;
  v8::Isolate* isolate_ = nullptr;
  v8::Global<v8::Context> context_;
  std::unique_ptr<Watchdog> watchdog_;
  size_t budget_ = 0;                 // 0: no function loaded yet
  size_t old_generation_budget_ = 0;  // budget_ less the young generation
  std::optional<MemoryLimitReached> reached_;
  std::vector<std::function<void()>> dispose_hooks_;
};

}  // namespace flint::runtime
