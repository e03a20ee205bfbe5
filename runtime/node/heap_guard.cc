#include "runtime/node/heap_guard.h"

#include <fcntl.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <cstdio>

namespace flint::runtime::node {
namespace {

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
  statm_fd_ = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  // The most recently added callback is the one V8 calls: this one, not Node.js's.
  isolate_->AddNearHeapLimitCallback(&HeapGuard::OnNearHeapLimit, this);
  isolate_->AddGCEpilogueCallback(&HeapGuard::OnGcEpilogue, this);
}

void HeapGuard::CheckProcessMemory() {
  size_t limit = process_limit_.load();
  if (limit == 0 || statm_fd_ < 0 || out_of_memory()) return;
  char buf[128];
  ssize_t n = ::pread(statm_fd_, buf, sizeof buf - 1, 0);
  if (n <= 0) return;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0, shared = 0;
  if (std::sscanf(buf, "%llu %llu %llu", &size, &resident, &shared) != 3) return;
  size_t anonymous =
      (resident - std::min(resident, shared)) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (anonymous > limit) Exhausted();
}

HeapGuard::~HeapGuard() {
  isolate_->RemoveGCEpilogueCallback(&HeapGuard::OnGcEpilogue, this);
  isolate_->RemoveNearHeapLimitCallback(&HeapGuard::OnNearHeapLimit, 0);
  wake_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(wake_),
           [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_async_t*>(h); });
  if (statm_fd_ >= 0) ::close(statm_fd_);
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
  // After a GC the heap holds what survived it; with the memory outside it (Buffers), that may
  // not pass the budget either: the process itself needs the rest of the cgroup's limit.
  if (stats.used_heap_size() + stats.external_memory() > self->budget_) {
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
