// FunctionHost: one JavaScript function, Lambda-style, in one V8 isolate. No V8 in this header:
// the worker drives it without seeing V8.
//
// Life: Create() builds the isolate, the context and every Flint global (a pre-warmed, generic
// host); Load() specialises it, once, for one function (compiles and evaluates its ES module
// and finds the handler); then Invoke() any number of times, several possibly pending at once
// (an async handler awaiting), while only one runs JS at a time.
//
// Async contract: every Invoke(id) ends in exactly one Delegate::OnResult(id) -- during
// Invoke() itself, during a later RunDue(), or inside any later call that runs JS (a promise
// settling) -- unless Cancel(id) comes first, after which nothing is reported for id.
// A handler that runs past its deadline is stopped (synchronous code by a watchdog thread,
// pending promises and timers at the deadline by RunDue) and reported as kTimeout; the host
// stays usable. A handler that exhausts its memory budget is reported as kOutOfMemory, and so
// is every other pending invocation; the host is then out_of_memory() and must be discarded.
// Timers belong to the invocation that created them and are cleared when it ends; timers
// created while the module loads belong to no invocation and persist.
//
// Thread rules: loop thread only (one thread creates, uses and destroys a host). The delegate's
// methods may be called while JS is on the stack: they must not call back into the host, except
// heap_usage().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class FunctionHost {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // One line of console output. `invocation_id` is 0 outside any invocation (module load,
    // timers created at load).
    virtual void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) = 0;
    virtual void OnResult(uint64_t invocation_id, protocol::InvokeResult result) = 0;
  };

  // The V8 heap budget for a function of `memory_mb`: max(16, memory_mb * 3 / 4) MiB. The rest
  // of memory_mb is headroom for the worker process itself (libnode, code, stacks, buffers).
  static uint64_t HeapBudgetBytes(uint32_t memory_mb);

  // Initialises V8 if needed, creates the isolate, context and globals. `delegate` must outlive
  // the host.
  static Result<std::unique_ptr<FunctionHost>> Create(Delegate* delegate);
  ~FunctionHost();
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Compiles and evaluates the function's entry module, running the timers its top-level await
  // waits for, bounded by request.timeout_ms. Returns the initialisation time in microseconds,
  // or an error whose message is for the user ("index.mjs:3: SyntaxError: ..."). At most once.
  Result<uint64_t> Load(const protocol::LoadRequest& request);
  bool loaded() const;

  // Starts invocation `id` (unique among pending ones). Requires loaded().
  void Invoke(uint64_t id, const protocol::InvokeRequest& request);
  // Abandons invocation `id` (a no-op if it is not pending): clears its timers, never reports.
  void Cancel(uint64_t id);
  bool is_pending(uint64_t id) const;
  size_t pending_count() const;

  // Expires invocations past their deadline and runs timers that are due.
  void RunDue();
  // Milliseconds until RunDue() has something to do (0: now); nullopt when nothing is scheduled.
  std::optional<uint64_t> NextWakeupMs() const;

  // True once an invocation exhausted the memory budget (see the class comment).
  bool out_of_memory() const;
  struct HeapUsage {
    uint64_t used_bytes = 0;
    uint64_t limit_bytes = 0;
  };
  HeapUsage heap_usage() const;

 private:
  class Impl;
  explicit FunctionHost(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::runtime
