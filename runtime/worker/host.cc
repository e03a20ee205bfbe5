#include "runtime/worker/host.h"

#include <utility>

#include "runtime/api/function_host.h"
#include "runtime/native/native_host.h"

namespace flint::runtime {
namespace {

// Adapts a concrete host (FunctionHost or NativeHost, which share a shape but not a base) to
// Host, forwarding its delegate calls.
template <class Impl>
class HostAdapter final : public Host, public Impl::Delegate {
 public:
  HostAdapter(const char* runtime, Host::Delegate* delegate)
      : runtime_(runtime), delegate_(delegate) {}
  void Attach(std::unique_ptr<Impl> impl) { impl_ = std::move(impl); }

  const char* runtime() const override { return runtime_; }
  Result<uint64_t> Load(const protocol::LoadRequest& request) override {
    return impl_->Load(request);
  }
  bool loaded() const override { return impl_->loaded(); }
  void Invoke(uint64_t id, const protocol::InvokeRequest& request) override {
    impl_->Invoke(id, request);
  }
  void Cancel(uint64_t id) override { impl_->Cancel(id); }
  bool is_pending(uint64_t id) const override { return impl_->is_pending(id); }
  void RunDue() override { impl_->RunDue(); }
  std::optional<uint64_t> NextWakeupMs() const override { return impl_->NextWakeupMs(); }
  bool out_of_memory() const override { return impl_->out_of_memory(); }
  HeapUsage heap_usage() const override {
    auto usage = impl_->heap_usage();
    return {usage.used_bytes, usage.limit_bytes};
  }

  // Impl::Delegate
  void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) override {
    delegate_->OnLog(invocation_id, level, text);
  }
  void OnResult(uint64_t invocation_id, protocol::InvokeResult result) override {
    delegate_->OnResult(invocation_id, std::move(result));
  }

 private:
  const char* runtime_;
  Host::Delegate* delegate_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace

Result<std::unique_ptr<Host>> MakeJsHost(Host::Delegate* delegate) {
  auto adapter = std::make_unique<HostAdapter<FunctionHost>>("js", delegate);
  Result<std::unique_ptr<FunctionHost>> js = FunctionHost::Create(adapter.get());
  if (!js.ok()) return js.status();
  adapter->Attach(std::move(js).value());
  return std::unique_ptr<Host>(std::move(adapter));
}

std::unique_ptr<Host> MakeNativeHost(Host::Delegate* delegate) {
  auto adapter = std::make_unique<HostAdapter<NativeHost>>("cpp", delegate);
  adapter->Attach(NativeHost::Create(adapter.get()));
  return adapter;
}

}  // namespace flint::runtime
