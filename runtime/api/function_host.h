// FunctionHost: one JavaScript function, Lambda-style, in one V8 isolate: the JS runtime's Host
// (runtime/host/host.h, whose life, async contract and thread rules it keeps). No V8 in this
// header: the worker drives it without seeing V8.
//
// Create() builds the isolate, the context and every Flint global (a pre-warmed, generic host);
// Load() specialises it, once, for one function (compiles and evaluates its ES module and finds
// the handler); then Invoke() any number of times, several possibly pending at once (an async
// handler awaiting), while only one runs JS at a time. A result may also be reported inside any
// later call that runs JS (a promise settling).
// A handler that runs past its deadline is stopped (synchronous code by a watchdog thread,
// pending promises and timers at the deadline by RunDue) and reported as kTimeout; the host
// stays usable. A handler that exhausts its memory budget is reported as kOutOfMemory, and so
// is every other pending invocation; the host is then out_of_memory() and must be discarded.
// Timers belong to the invocation that created them and are cleared when it ends; timers
// created while the module loads belong to no invocation and persist.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "runtime/host/host.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class FunctionHost final : public Host {
 public:
  // What JavaScript may hold (V8 heap and ArrayBuffers together) in a function of
  // `memory_mb`: memory_mb - (kProcessReserveMb + memory_mb / 16) MiB, at least 16 MiB (88 MiB
  // of 128). The rest is for the worker process itself (libnode, code, stacks, buffers, the
  // request and response) and the room V8 needs to unwind, so the worker stays below its
  // cgroup's limit: the kernel never has to reclaim its pages or kill it.
  static constexpr uint64_t kProcessReserveMb = 32;
  static uint64_t HeapBudgetBytes(uint32_t memory_mb);

  // Initialises V8 if needed, creates the isolate, context and globals. `delegate` must outlive
  // the host.
  static Result<std::unique_ptr<FunctionHost>> Create(Delegate* delegate);
  ~FunctionHost() override;
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Host
  Runtime runtime() const override { return Runtime::kV8; }
  // Compiles and evaluates the function's entry module, running the timers its top-level await
  // waits for, bounded by request.timeout_ms.
  Result<uint64_t> Load(const protocol::LoadRequest& request) override;
  bool loaded() const override;
  void Invoke(uint64_t id, const protocol::InvokeRequest& request) override;
  // Also clears the invocation's timers.
  void Cancel(uint64_t id) override;
  bool is_pending(uint64_t id) const override;
  void RunDue() override;
  std::optional<uint64_t> NextWakeupMs() const override;
  // True once an invocation exhausted the memory budget (see the class comment).
  bool out_of_memory() const override;
  // The V8 heap (plus ArrayBuffer memory) and its budget.
  HeapUsage heap_usage() const override;

  size_t pending_count() const;

 private:
  class Impl;
  explicit FunctionHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::runtime
