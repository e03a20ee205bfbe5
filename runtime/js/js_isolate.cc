#include "runtime/js/js_isolate.h"

#include <cstdlib>
#include <cstring>

#include "runtime/js/platform.h"

namespace flint::runtime {
namespace detail {

// ArrayBuffer backing stores from malloc, counted against a limit. Called from any thread that
// creates or frees buffers (V8 may free on a background thread), hence the atomic.
class CountingAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  void* Allocate(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* p = std::calloc(length == 0 ? 1 : length, 1);
    if (p == nullptr) used_.fetch_sub(length);
    return p;
  }
  void* AllocateUninitialized(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* p = std::malloc(length == 0 ? 1 : length);
    if (p == nullptr) used_.fetch_sub(length);
    return p;
  }
  void Free(void* data, size_t length) override {
    std::free(data);
    used_.fetch_sub(length);
  }
  void set_limit(size_t limit) { limit_.store(limit); }
  size_t used() const { return used_.load(); }

 private:
  bool Reserve(size_t length) {
    size_t before = used_.fetch_add(length);
    if (before + length > limit_.load()) {
      used_.fetch_sub(length);
      return false;
    }
    return true;
  }
  std::atomic<size_t> used_{0};
  std::atomic<size_t> limit_{SIZE_MAX};
};

}  // namespace detail

Result<std::unique_ptr<JsIsolate>> JsIsolate::Create() {
  InitializeV8();
  std::unique_ptr<JsIsolate> self(new JsIsolate());
  self->allocator_ = std::make_unique<detail::CountingAllocator>();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = self->allocator_.get();
  params.constraints.set_max_old_generation_size_in_bytes(kInitialOldGenerationBytes);
  params.constraints.set_max_young_generation_size_in_bytes(kYoungGenerationBytes);
  self->isolate_ = v8::Isolate::New(params);
  if (self->isolate_ == nullptr) return Internal("V8 could not create an isolate");
  v8::Isolate* iso = self->isolate_;
  iso->Enter();
  iso->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  iso->AddNearHeapLimitCallback(&JsIsolate::OnNearHeapLimit, self.get());
  {
    v8::HandleScope scope(iso);
    v8::Local<v8::Context> context = v8::Context::New(iso);
    if (context.IsEmpty()) return Internal("V8 could not create a context");
    self->context_.Reset(iso, context);
  }
  self->watchdog_ = std::make_unique<Watchdog>(iso);
  return self;
}

JsIsolate::~JsIsolate() {
  if (isolate_ == nullptr) return;
  watchdog_.reset();
  for (auto it = dispose_hooks_.rbegin(); it != dispose_hooks_.rend(); ++it) (*it)();
  dispose_hooks_.clear();
  context_.Reset();
  isolate_->Exit();
  isolate_->Dispose();
}

void JsIsolate::SetMemoryLimit(size_t bytes) {
  old_generation_budget_ = bytes > kYoungGenerationBytes ? bytes - kYoungGenerationBytes : bytes;
  if (old_generation_budget_ < kInitialOldGenerationBytes) {
    old_generation_budget_ = kInitialOldGenerationBytes;
  }
  allocator_->set_limit(bytes);
}

size_t JsIsolate::OnNearHeapLimit(void* data, size_t current_limit, size_t /*initial_limit*/) {
  auto* self = static_cast<JsIsolate*>(data);
  if (current_limit < self->old_generation_budget_) {
    // Grow towards the budget in steps, so a small function keeps a small, cheap heap.
    size_t next = current_limit * 2;
    return next < self->old_generation_budget_ ? next : self->old_generation_budget_;
  }
  self->out_of_memory_.store(true, std::memory_order_relaxed);
  self->isolate_->TerminateExecution();
  // Room for V8 to unwind the terminated JS without a fatal out-of-memory abort.
  return current_limit + (size_t{64} << 20);
}

HeapUsage JsIsolate::GetHeapUsage() {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  HeapUsage usage;
  usage.used_bytes = stats.used_heap_size() + allocator_->used();
  usage.limit_bytes =
      old_generation_budget_ == 0 ? 0 : old_generation_budget_ + kYoungGenerationBytes;
  return usage;
}

}  // namespace flint::runtime
