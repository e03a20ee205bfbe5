// Host: what the worker drives, whatever the function's language. One interface over the JS host
// (runtime/api/function_host.h, one V8 isolate) and the native host
// (runtime/native/native_host.h, a dlopen()ed shared object); the worker picks one by
// LOAD.runtime. Both keep the async contract stated in function_host.h: every Invoke(id) ends
// in exactly one Delegate::OnResult(id) unless Cancel(id) comes first.
//
// Thread rules: loop thread only. The delegate must outlive the host and must not call back
// into it from OnLog or OnResult, except heap_usage().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sdk/core/status.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

class Host {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    virtual void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) = 0;
    virtual void OnResult(uint64_t invocation_id, protocol::InvokeResult result) = 0;
  };
  struct HeapUsage {
    uint64_t used_bytes = 0;
    uint64_t limit_bytes = 0;
  };

  virtual ~Host() = default;
  // "js" or "cpp".
  virtual const char* runtime() const = 0;
  // Loads the function (at most once); returns the init duration in microseconds or a
  // user-facing error.
  virtual Result<uint64_t> Load(const protocol::LoadRequest& request) = 0;
  virtual bool loaded() const = 0;
  virtual void Invoke(uint64_t id, const protocol::InvokeRequest& request) = 0;
  virtual void Cancel(uint64_t id) = 0;
  virtual bool is_pending(uint64_t id) const = 0;
  virtual void RunDue() = 0;
  virtual std::optional<uint64_t> NextWakeupMs() const = 0;
  virtual bool out_of_memory() const = 0;
  virtual HeapUsage heap_usage() const = 0;
};

// A JS host: V8, an isolate, a context and every global, ready for LOAD (the pre-warmed part).
Result<std::unique_ptr<Host>> MakeJsHost(Host::Delegate* delegate);
// A native host: cheap, nothing loaded yet.
std::unique_ptr<Host> MakeNativeHost(Host::Delegate* delegate);

}  // namespace flint::runtime
