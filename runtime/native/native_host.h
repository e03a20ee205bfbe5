// NativeHost: one C++ function, a shared object built against sdk/include/flint/, in this
// process. The same shape as runtime/api/function_host.h (the JS host), without V8.
//
// Life: Create() is cheap (nothing is loaded); Load() dlopen()s code_dir/entry (RTLD_NOW |
// RTLD_LOCAL), checks its C ABI version (flint/abi.h: flint_abi_version() must return
// FLINT_ABI_VERSION), finds flint_handle and the optional flint_init, sets the function's
// environment variables and runs flint_init, once. Then Invoke() any number of times.
//
// Async contract: every Invoke(id) reports exactly one Delegate::OnResult(id) before it
// returns: native handlers are synchronous. Nothing is ever pending, so Cancel, RunDue and
// NextWakeupMs have nothing to do. A handler's exception arrives as Outcome::kError with the
// exception's demangled type and what() (the SDK catches it inside the function's object; no
// exception crosses the C ABI). A crash ends the process, and a handler that runs past its
// timeout cannot be interrupted: flintd kills the worker at the deadline.
//
// Thread rules: loop thread only. The delegate's methods are called from inside the function's
// code (OnLog) or at the end of Invoke (OnResult): they must not call back into the host. The
// shared object is never unloaded (its statics and thread_locals live as long as the process).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class NativeHost {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    // One log line. `invocation_id` is 0 during the init hook.
    virtual void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) = 0;
    virtual void OnResult(uint64_t invocation_id, protocol::InvokeResult result) = 0;
  };

  // The C ABI version this worker supports (flint/abi.h's FLINT_ABI_VERSION).
  static uint32_t SupportedAbiVersion();

  // Loads flint-native-warmup.so from `path` into a host of its own and invokes it once
  // (runtime/native/warmup.cc): a pre-warmed worker does, so that a function's dlopen and first
  // invocation at LOAD are quicker. The object stays loaded.
  static Status WarmUp(const std::string& path);

  // `delegate` must outlive the host.
  static std::unique_ptr<NativeHost> Create(Delegate* delegate);
  ~NativeHost();
  NativeHost(const NativeHost&) = delete;
  NativeHost& operator=(const NativeHost&) = delete;

  // Loads the function and runs its init hook. Returns the init duration in microseconds (the
  // dlopen with the object's static constructors, the checks, and the init hook), or an error whose
  // message is for the user, e.g. "function built for Flint C ABI version 2, this worker supports
  // 1". At most once.
  Result<uint64_t> Load(const protocol::LoadRequest& request);
  bool loaded() const { return handle_fn_ != nullptr; }

  // Runs invocation `id` to completion and reports it. Requires loaded().
  void Invoke(uint64_t id, const protocol::InvokeRequest& request);
  void Cancel(uint64_t /*id*/) {}
  bool is_pending(uint64_t /*id*/) const { return false; }
  size_t pending_count() const { return 0; }
  void RunDue() {}
  std::optional<uint64_t> NextWakeupMs() const { return std::nullopt; }
  bool out_of_memory() const { return false; }

  struct HeapUsage {
    uint64_t used_bytes = 0;   // bytes malloc has handed out
    uint64_t limit_bytes = 0;  // the function's memory size
  };
  HeapUsage heap_usage() const;

 private:
  explicit NativeHost(Delegate* delegate) : delegate_(delegate) {}

  Delegate* delegate_;
  void* library_ = nullptr;
  void* handle_fn_ = nullptr;  // flint_handle_fn
  std::string function_name_;
  uint32_t function_version_ = 0;
  uint32_t memory_mb_ = 0;
  uint32_t timeout_ms_ = 0;
};

}  // namespace flint::runtime
