// NativeHost: one C++ function, a shared object built against sdk/include/flint/, in this
// process: the C++ runtime's Host (runtime/host/host.h, whose life, async contract and thread
// rules it keeps). No V8.
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

#include "runtime/host/host.h"
#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class NativeHost final : public Host {
 public:
  // The C ABI version this worker supports (flint/abi.h's FLINT_ABI_VERSION).
  static uint32_t SupportedAbiVersion();

  // Loads flint-native-warmup.so from `path` into a host of its own and invokes it once
  // (runtime/native/warmup.cc): a pre-warmed worker does, so that a function's dlopen and first
  // invocation at LOAD are quicker. The object stays loaded.
  static Status WarmUp(const std::string& path);

  // `delegate` must outlive the host. The delegate's OnLog is called during the init hook with
  // invocation id 0.
  static std::unique_ptr<NativeHost> Create(Delegate* delegate);
  ~NativeHost() override;
  NativeHost(const NativeHost&) = delete;
  NativeHost& operator=(const NativeHost&) = delete;

  // Host
  Runtime runtime() const override { return Runtime::kCpp; }
  // Loads the function and runs its init hook. Returns the init duration in microseconds (the
  // dlopen with the object's static constructors, the checks, and the init hook), or an error whose
  // message is for the user, e.g. "function built for Flint C ABI version 2, this worker supports
  // 1". At most once.
  Result<uint64_t> Load(const protocol::LoadRequest& request) override;
  bool loaded() const override { return handle_fn_ != nullptr; }
  // Runs invocation `id` to completion and reports it before returning.
  void Invoke(uint64_t id, const protocol::InvokeRequest& request) override;
  void Cancel(uint64_t /*id*/) override {}
  bool is_pending(uint64_t /*id*/) const override { return false; }
  void RunDue() override {}
  std::optional<uint64_t> NextWakeupMs() const override { return std::nullopt; }
  bool out_of_memory() const override { return false; }
  // Bytes malloc has handed out, and the function's memory size.
  HeapUsage heap_usage() const override;

  size_t pending_count() const { return 0; }

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
