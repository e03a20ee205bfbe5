#include "runtime/node/heap_guard.h"

#include <v8.h>

#include <algorithm>

namespace flint::runtime::node {
namespace {

// Young-generation and bookkeeping slack allowed on top of the budget in the after-GC check,
// which sees the whole heap rather than the old generation the limit applies to.
constexpr size_t kAfterGcSlackBytes = size_t{16} << 20;
// Room granted to V8 to unwind terminated JS without a fatal out-of-memory abort.
constexpr size_t kUnwindRoomBytes = size_t{64} << 20;

}  // namespace

HeapGuard::HeapGuard(uv_loop_t* loop, v8::Isolate* isolate, std::function<void()> on_exhausted)
    : isolate_(isolate), on_exhausted_(std::move(on_exhausted)), wake_(new uv_async_t) {
  uv_async_init(loop, wake_, [](uv_async_t* handle) noexcept {
    auto* self = static_cast<HeapGuard*>(handle->data);
    if (self != nullptr) self->on_exhausted_();
  });
  wake_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
  // The most recently added callback is the one V8 calls: this one, not Node.js's.
  isolate_->AddNearHeapLimitCallback(&HeapGuard::OnNearHeapLimit, this);
  isolate_->AddGCEpilogueCallback(&HeapGuard::OnGcEpilogue, this);
}

HeapGuard::~HeapGuard() {
  isolate_->RemoveGCEpilogueCallback(&HeapGuard::OnGcEpilogue, this);
  isolate_->RemoveNearHeapLimitCallback(&HeapGuard::OnNearHeapLimit, 0);
  wake_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(wake_),
           [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_async_t*>(h); });
}

size_t HeapGuard::OnNearHeapLimit(void* data, size_t current_limit, size_t /*initial_limit*/) {
  auto* self = static_cast<HeapGuard*>(data);
  if (!self->out_of_memory() && current_limit < self->budget_) {
    // Grow towards the budget in steps, so a small function keeps a small, cheap heap.
    return std::min(current_limit * 2, self->budget_);
  }
  self->Exhausted();
  return current_limit + kUnwindRoomBytes;
}

void HeapGuard::OnGcEpilogue(v8::Isolate* isolate, v8::GCType, v8::GCCallbackFlags, void* data) {
  auto* self = static_cast<HeapGuard*>(data);
  if (self->out_of_memory()) return;
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  if (stats.used_heap_size() + stats.external_memory() > self->budget_ + kAfterGcSlackBytes) {
    self->Exhausted();
  }
}

void HeapGuard::Exhausted() {
  if (!out_of_memory_.exchange(true)) uv_async_send(wake_);
  isolate_->TerminateExecution();
}

HeapGuard::Usage HeapGuard::GetUsage() const {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  return {stats.used_heap_size() + stats.external_memory(), budget_};
}

}  // namespace flint::runtime::node
