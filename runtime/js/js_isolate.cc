#include "runtime/js/js_isolate.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/js/out_of_memory.h"
#include "runtime/js/platform.h"

namespace flint::runtime {
namespace detail {

// ArrayBuffer backing stores from malloc, counted against the budget less the V8 heap's live
// size after the last GC. Called from any thread that creates or frees buffers (V8 may free on
// a background thread), hence the atomics.
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
  void set_heap(size_t heap) { heap_.store(heap); }
  size_t used() const { return used_.load(); }

 private:
  bool Reserve(size_t length) {
    size_t before = used_.fetch_add(length);
    size_t limit = limit_.load();
    size_t heap = heap_.load();
    if (length > limit || before + length > limit - std::min(heap, limit)) {
      used_.fetch_sub(length);
      return false;
    }
    return true;
  }
  std::atomic<size_t> used_{0};
  std::atomic<size_t> limit_{SIZE_MAX};
  std::atomic<size_t> heap_{0};
};

}  // namespace detail

namespace {

std::atomic<int> g_fatal_oom_exit_code{-1};

void OnFatalOutOfMemory(const char* location, bool /*is_heap_oom*/) {
  // V8 cannot go on; nothing here may allocate or touch the isolate.
  char line[160];
  int n = std::snprintf(line, sizeof line, "flint-worker[%d]: V8 ran out of memory (%s)\n",
                        static_cast<int>(::getpid()), location != nullptr ? location : "?");
  if (n > 0) (void)!::write(STDERR_FILENO, line, std::min<size_t>(n, sizeof line - 1));
  ::_exit(g_fatal_oom_exit_code.load());
}

}  // namespace

void ExitOnFatalOutOfMemory(int exit_code) { g_fatal_oom_exit_code.store(exit_code); }

Result<std::unique_ptr<JsIsolate>> JsIsolate::Create() {
  InitializeV8();
  std::unique_ptr<JsIsolate> self(new JsIsolate());
  self->allocator_ = std::make_unique<detail::CountingAllocator>();
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = self->allocator_.get();
  params.constraints.set_max_old_generation_size_in_bytes(kCreatedOldGenerationBytes);
  params.constraints.set_initial_old_generation_size_in_bytes(kInitialOldGenerationBytes);
  params.constraints.set_max_young_generation_size_in_bytes(kYoungGenerationBytes);
  self->isolate_ = v8::Isolate::New(params);
  if (self->isolate_ == nullptr) return Internal("V8 could not create an isolate");
  v8::Isolate* iso = self->isolate_;
  iso->Enter();
  iso->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  iso->AddNearHeapLimitCallback(&JsIsolate::OnNearHeapLimit, self.get());
  iso->AddGCEpilogueCallback(&JsIsolate::OnGcEpilogue, self.get());
  if (g_fatal_oom_exit_code.load() >= 0) iso->SetOOMErrorHandler(&OnFatalOutOfMemory);
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
  budget_ = std::max(bytes, kInitialOldGenerationBytes + kYoungGenerationBytes);
  old_generation_budget_ = budget_ - kYoungGenerationBytes;
  allocator_->set_limit(budget_);
  // Lowers V8's limit to the budget (V8 keeps it above the live heap). Done this way rather
  // than raising a small limit from the near-heap-limit callback, after which V8 paces its
  // GCs as for the small limit: a heap of many small objects then spent most of its time in
  // back-to-back full GCs (11.6 s of CPU to fill 64 MB, 1.3 s this way).
  isolate_->RemoveNearHeapLimitCallback(&JsIsolate::OnNearHeapLimit, old_generation_budget_);
  isolate_->AddNearHeapLimitCallback(&JsIsolate::OnNearHeapLimit, this);
}

void JsIsolate::ReachLimit(size_t heap_bytes) {
  if (reached_) return;
  reached_ = MemoryLimitReached{std::chrono::steady_clock::now(), heap_bytes, allocator_->used()};
  isolate_->TerminateExecution();
}

size_t JsIsolate::OnNearHeapLimit(void* data, size_t current_limit, size_t /*initial_limit*/) {
  auto* self = static_cast<JsIsolate*>(data);
  v8::HeapStatistics stats;
  self->isolate_->GetHeapStatistics(&stats);
  self->ReachLimit(stats.used_heap_size());
  // Room for V8 to unwind the terminated JS without a fatal out-of-memory abort: a small step
  // beyond what the heap already holds (V8 lets it pass the limit by the allocation that
  // triggered the GC), each call coming after another full GC.
  size_t base = std::max(current_limit, stats.total_heap_size());
  return base + kGraceStepBytes;
}

void JsIsolate::OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags /*flags*/,
                             void* data) {
  auto* self = static_cast<JsIsolate*>(data);
  if (self->budget_ == 0) return;
  v8::HeapStatistics stats;
  isolate->GetHeapStatistics(&stats);
  size_t heap = stats.used_heap_size();
  self->allocator_->set_heap(heap);
  // Only a full GC tells the live size; after a scavenge the old generation still holds garbage.
  if (type == v8::kGCTypeMarkSweepCompact && heap + self->allocator_->used() > self->budget_) {
    self->ReachLimit(heap);
  }
}

HeapUsage JsIsolate::GetHeapUsage() {
  v8::HeapStatistics stats;
  isolate_->GetHeapStatistics(&stats);
  HeapUsage usage;
  usage.used_bytes = stats.used_heap_size() + allocator_->used();
  usage.limit_bytes = budget_;
  return usage;
}

}  // namespace flint::runtime
