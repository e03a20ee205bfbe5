// Host: one function inside flint-worker, whatever its language. The worker (runtime/worker/)
// drives a Host and nothing else; each runtime implements this interface directly: the JS host
// (runtime/api/function_host.h, one V8 isolate) and the native host
// (runtime/native/native_host.h, a dlopen()ed shared object).
//
// Life: a host is created pre-warmed and generic (what that means is the host's own: V8 and an
// isolate for JS, nothing for C++); Load() specialises it, once, for one function; then Invoke()
// any number of times, several possibly pending at once.
//
// Async contract: every Invoke(id) ends in exactly one Delegate::OnResult(id) -- during Invoke()
// itself, during a later RunDue(), or inside any later call that runs the function -- unless
// Cancel(id) comes first, after which nothing is reported for id. A host that runs out of memory
// reports it (kOutOfMemory) and is out_of_memory() from then on: the worker must exit.
//
// Thread rules: loop thread only (one thread creates, uses and destroys a host). The delegate
// must outlive the host; its methods may be called while the function's code is on the stack,
// and must not call back into the host, except heap_usage().
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "sdk/core/runtime.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class Host {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // One line of the function's console or log output. `invocation_id` is 0 outside any
    // invocation (while loading, timers created at load).
    virtual void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) = 0;
    virtual void OnResult(uint64_t invocation_id, protocol::InvokeResult result) = 0;
  };

  // The function's memory as the host sees it, for STATS: the JS host's V8 heap and its budget;
  // the native host's malloc'd bytes and the function's memory size.
  struct HeapUsage {
    uint64_t used_bytes = 0;
    uint64_t limit_bytes = 0;
  };

  virtual ~Host() = default;

  virtual Runtime runtime() const = 0;
  // Loads the function (at most once): returns the initialisation time in microseconds, or an
  // error whose message is for the user ("index.mjs:3: SyntaxError: ...").
  virtual Result<uint64_t> Load(const protocol::LoadRequest& request) = 0;
  virtual bool loaded() const = 0;

  // Starts invocation `id` (unique among pending ones). Requires loaded().
  virtual void Invoke(uint64_t id, const protocol::InvokeRequest& request) = 0;
  // Abandons invocation `id` (a no-op if it is not pending); nothing is reported for it.
  virtual void Cancel(uint64_t id) = 0;
  virtual bool is_pending(uint64_t id) const = 0;

  // Expires invocations past their deadline and runs timers that are due.
  virtual void RunDue() = 0;
  // Milliseconds until RunDue() has something to do (0: now); nullopt when nothing is scheduled.
  virtual std::optional<uint64_t> NextWakeupMs() const = 0;

  virtual bool out_of_memory() const = 0;
  virtual HeapUsage heap_usage() const = 0;
};

}  // namespace flint::runtime
