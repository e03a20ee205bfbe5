#include "runtime/api/function_host.h"

#include <time.h>
#include <v8.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "runtime/api/globals.h"
#include "runtime/api/lambda_event.h"
#include "runtime/api/lambda_result.h"
#include "runtime/api/timer_table.h"
#include "runtime/js/js_isolate.h"
#include "runtime/js/js_util.h"
#include "runtime/js/module_loader.h"
#include "sdk/encoding/base64.h"

namespace flint::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using protocol::LogLevel;
using protocol::Outcome;

// Isolate data slot holding the FunctionHost::Impl (slot 0 is the ModuleLoader's).
constexpr uint32_t kHostDataSlot = 1;
// Node's TIMEOUT_MAX: longer delays run after 1 ms, as in Node.
constexpr double kMaxTimerDelayMs = 2147483647.0;

uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t MicrosSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

}  // namespace

class FunctionHost::Impl final : public ApiHost {
 public:
  explicit Impl(Delegate* delegate) : delegate_(delegate) {}
  void WarmUp(v8::Local<v8::Context> context, v8::Local<v8::Object> internal);
  ~Impl() override;

  Status Init();
  Result<uint64_t> Load(const protocol::LoadRequest& request);
  void Invoke(uint64_t id, const protocol::InvokeRequest& request);
  void Cancel(uint64_t id);
  void RunDue();
  std::optional<uint64_t> NextWakeupMs() const;

  bool loaded() const { return loaded_; }
  bool out_of_memory() const { return oom_; }
  bool is_pending(uint64_t id) const { return pending_.count(id) != 0; }
  size_t pending_count() const { return pending_.size(); }
  HeapUsage heap_usage() const {
    runtime::HeapUsage usage = js_->GetHeapUsage();
    return {usage.used_bytes, usage.limit_bytes};
  }

  // ApiHost
  void Log(LogLevel level, std::string text) override;
  Result<double> AddTimer(v8::Local<v8::Function> callback, double delay_ms, bool repeat,
                          v8::Local<v8::Array> args) override;
  void ClearTimer(double id) override;

 private:
  struct Invocation {
    Clock::time_point start;
    Clock::time_point deadline;
    uint32_t timeout_ms = 0;
    // CPU time of the JS turns run on its behalf (RunJs with it as owner): with several
    // invocations pending at once, each turn's CPU counts for one of them only.
    uint64_t cpu_ns = 0;
  };
  struct Rejection {
    uint64_t owner;
    v8::Global<v8::Promise> promise;
    v8::Global<v8::Value> reason;
  };

  v8::Isolate* isolate() const { return js_->isolate(); }
  uint64_t CurrentOwner() const;
  void SetCurrentOwner(uint64_t owner);
  Clock::time_point DeadlineFor(uint64_t owner) const;
  // Runs `body(try_catch)` -- which calls into JS on behalf of invocation `owner` (0: none) --
  // under the watchdog, then a microtask checkpoint; then deals with a termination (timeout or
  // out of memory). Needs a HandleScope and the entered context.
  template <typename Body>
  void RunJs(uint64_t owner, Body&& body);
  void AfterTermination(uint64_t owner);
  // One log line saying what JS held when it reached its memory budget.
  void LogMemoryLimit(uint64_t owner);

  void Finish(uint64_t id, protocol::InvokeResult result);
  void FinishValue(uint64_t id, v8::Local<v8::Value> value);
  // The function-URL event of an HTTP invocation (lambda_event.h), built by makeHttpEvent.
  v8::MaybeLocal<v8::Value> MakeHttpEvent(v8::Local<v8::Context> context,
                                          const protocol::InvokeRequest& request);
  void FinishException(uint64_t id, v8::Local<v8::Value> exception, v8::Local<v8::Message> message);
  void Expire(uint64_t id);
  void RunDueTimers(Clock::time_point now);
  void RunTimer(const TimerTable::Due& due);
  // The callbacks of `owner`'s timers (timer id -> callback, or [callback, args]).
  v8::Local<v8::Map> TimerCallbacks(uint64_t owner);
  void ClearTimersOf(uint64_t owner);
  void ReportUnhandledRejections();
  std::string FunctionTimeoutMessage(uint32_t timeout_ms) const;

  static void OnFulfilled(const v8::FunctionCallbackInfo<v8::Value>& info);
  static void OnRejected(const v8::FunctionCallbackInfo<v8::Value>& info);
  static void OnPromiseReject(v8::PromiseRejectMessage message);
  static Impl* From(v8::Isolate* isolate) {
    return static_cast<Impl*>(isolate->GetData(kHostDataSlot));
  }

  Delegate* delegate_;
  // Declared first so it is destroyed last: every v8::Global below is reset before the
  // isolate is disposed.
  std::unique_ptr<JsIsolate> js_;
  std::unique_ptr<ModuleLoader> loader_;
  v8::Global<v8::Object> internal_;
  v8::Global<v8::Function> make_context_;
  v8::Global<v8::Function> make_http_event_;
  v8::Global<v8::String> api_id_;  // the function's name, requestContext.apiId
  std::optional<ResultKeys> result_keys_;
  v8::Global<v8::Function> handler_;
  std::map<uint64_t, Invocation> pending_;
  // Pending timers; their callbacks are in V8, one Map per owner, so that an invocation's end
  // drops them all at once (and no timer costs a global handle).
  mutable TimerTable timers_;
  std::unordered_map<uint64_t, v8::Global<v8::Map>> timer_callbacks_;
  std::vector<Rejection> rejections_;
  protocol::LoadRequest function_;
  bool load_started_ = false;
  bool loaded_ = false;
  std::optional<Clock::time_point> load_deadline_;  // set while the module loads
  bool load_terminated_ = false;
  bool oom_ = false;
  bool in_js_ = false;
  uint64_t turn_cpu_start_ns_ = 0;  // ThreadCpuNs() when the running JS turn began
  uint64_t running_owner_ = 0;      // the owner of the JS entry on the stack
  // Ids given to timers that were never set count from 2^52, beyond any real timer's id.
  uint64_t stale_timer_ids_ = 0;
};

FunctionHost::Impl::~Impl() {
  // Globals first (the isolate is still alive), then the loader, then the isolate.
  rejections_.clear();
  timer_callbacks_.clear();
  handler_.Reset();
  make_context_.Reset();
  make_http_event_.Reset();
  api_id_.Reset();
  internal_.Reset();
  loader_.reset();
  if (js_ != nullptr) js_->isolate()->SetData(kHostDataSlot, nullptr);
  js_.reset();
}

Status FunctionHost::Impl::Init() {
  FLINT_ASSIGN_OR_RETURN(js_, JsIsolate::Create());
  v8::Isolate* iso = isolate();
  iso->SetData(kHostDataSlot, this);
  iso->SetPromiseRejectCallback(&Impl::OnPromiseReject);
  v8::HandleScope scope(iso);
  v8::Local<v8::Context> context = js_->context();
  v8::Context::Scope context_scope(context);
  FLINT_ASSIGN_OR_RETURN(v8::Local<v8::Object> internal, InstallGlobals(iso, context, this));
  internal_.Reset(iso, internal);
  v8::Local<v8::Value> make_context;
  if (!(internal)->Get(context, NewString(iso, "makeContext")).ToLocal(&make_context) ||
      !make_context->IsFunction()) {
    return Internal("the JS globals did not export makeContext");
  }
  make_context_.Reset(iso, make_context.As<v8::Function>());
  v8::Local<v8::Value> make_http_event;
  if (!internal->Get(context, NewString(iso, "makeHttpEvent")).ToLocal(&make_http_event) ||
      !make_http_event->IsFunction()) {
    return Internal("the JS globals did not export makeHttpEvent");
  }
  make_http_event_.Reset(iso, make_http_event.As<v8::Function>());
  result_keys_.emplace(iso);
  WarmUp(context, internal);
  return Status::Ok();
}

void FunctionHost::Impl::WarmUp(v8::Local<v8::Context> context, v8::Local<v8::Object> internal) {
  // What every LOAD does first runs once now, in the pre-warmed worker, so that V8 has compiled
  // the globals' functions and set up its module machinery before a cold start needs them
  // (setFunction's first call took 0.26 ms of a JS LOAD here, 0.09 ms after this). Nothing of
  // it stays visible: setFunction gets the defaults LOAD overwrites, and the module is not
  // registered anywhere.
  v8::Isolate* iso = isolate();
  v8::TryCatch try_catch(iso);
  v8::Local<v8::Value> set_function;
  v8::Local<v8::Value> args[] = {NewString(iso, ""), v8::Integer::New(iso, 0),
                                 v8::Integer::New(iso, 128), v8::Object::New(iso)};
  if (internal->Get(context, NewString(iso, "setFunction")).ToLocal(&set_function) &&
      set_function->IsFunction()) {
    if (set_function.As<v8::Function>()->Call(context, internal, 4, args).IsEmpty()) return;
  }
  constexpr char kSource[] =
      "const greet = (name) => `Hello, ${name}!`;\n"
      "export const handler = async (event) => ({\n"
      "  statusCode: 200,\n"
      "  headers: { 'content-type': 'application/json' },\n"
      "  body: JSON.stringify({ message: greet(event?.name ?? 'world'), n: [1, 2].map((x) => x * "
      "2) }),\n"
      "});\n"
      "export default handler;\n";
  v8::ScriptOrigin origin(iso, NewString(iso, "flint:warm-up"), 0, 0, false, -1,
                          v8::Local<v8::Value>(), false, false, /*is_module=*/true);
  v8::ScriptCompiler::Source source(NewString(iso, kSource), origin);
  v8::Local<v8::Module> module;
  if (!v8::ScriptCompiler::CompileModule(iso, &source).ToLocal(&module)) return;
  auto no_imports = [](v8::Local<v8::Context>, v8::Local<v8::String>, v8::Local<v8::FixedArray>,
                       v8::Local<v8::Module>) -> v8::MaybeLocal<v8::Module> { return {}; };
  if (module->InstantiateModule(context, no_imports).IsNothing()) return;
  if (module->Evaluate(context).IsEmpty()) return;
  iso->PerformMicrotaskCheckpoint();
}

uint64_t FunctionHost::Impl::CurrentOwner() const {
  // The invocation id travels with promise continuations (V8's continuation-preserved
  // embedder data), so a line logged after an `await` is still attributed correctly.
  v8::Local<v8::Value> data = js_->context()->GetContinuationPreservedEmbedderData();
  if (!data.IsEmpty() && data->IsBigInt()) return data.As<v8::BigInt>()->Uint64Value();
  return running_owner_;
}

void FunctionHost::Impl::SetCurrentOwner(uint64_t owner) {
  v8::Local<v8::Value> data = v8::Undefined(isolate());
  if (owner != 0) data = v8::BigInt::NewFromUnsigned(isolate(), owner);
  js_->context()->SetContinuationPreservedEmbedderData(data);
}

Clock::time_point FunctionHost::Impl::DeadlineFor(uint64_t owner) const {
  if (load_deadline_) return *load_deadline_;
  auto it = pending_.find(owner);
  if (it != pending_.end()) return it->second.deadline;
  // JS that belongs to no invocation (a timer set at load, a continuation shared by several
  // invocations) may run until the earliest pending deadline, and never longer than the
  // function's timeout.
  Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(function_.timeout_ms);
  for (const auto& [id, inv] : pending_) deadline = std::min(deadline, inv.deadline);
  return deadline;
}

template <typename Body>
void FunctionHost::Impl::RunJs(uint64_t owner, Body&& body) {
  FLINT_CHECK(!in_js_);
  v8::Isolate* iso = isolate();
  in_js_ = true;
  running_owner_ = owner;
  turn_cpu_start_ns_ = ThreadCpuNs();
  js_->watchdog().Arm(DeadlineFor(owner));
  bool terminated;
  {
    v8::TryCatch try_catch(iso);
    SetCurrentOwner(owner);
    body(try_catch);
    if (!try_catch.HasTerminated() && !iso->IsExecutionTerminating()) {
      iso->PerformMicrotaskCheckpoint();
    }
    terminated = try_catch.HasTerminated() || iso->IsExecutionTerminating();
    SetCurrentOwner(0);
  }
  bool fired = js_->watchdog().Disarm();
  if (auto it = pending_.find(owner); it != pending_.end()) {
    it->second.cpu_ns += ThreadCpuNs() - turn_cpu_start_ns_;
  }
  running_owner_ = 0;
  in_js_ = false;
  if (terminated || fired || js_->out_of_memory()) {
    iso->CancelTerminateExecution();
    AfterTermination(owner);
  }
}

void FunctionHost::Impl::AfterTermination(uint64_t owner) {
  if (js_->out_of_memory()) {
    bool first = !oom_;
    oom_ = true;
    if (first) LogMemoryLimit(owner);
    if (load_deadline_) {
      load_terminated_ = true;
      return;
    }
    std::string message =
        "function exceeded its memory limit of " + std::to_string(function_.memory_mb) + " MB";
    std::vector<uint64_t> ids;
    for (const auto& [id, inv] : pending_) ids.push_back(id);
    for (uint64_t id : ids) {
      protocol::InvokeResult result;
      result.outcome = Outcome::kOutOfMemory;
      result.status = 500;
      result.error_type = "OutOfMemory";
      result.error_message = message;
      Finish(id, std::move(result));
    }
    timers_.Clear();
    timer_callbacks_.clear();
    return;
  }
  if (load_deadline_) {
    load_terminated_ = true;
    return;
  }
  // A timeout: end every invocation whose deadline has passed, and the one whose code was cut
  // short (it cannot complete correctly any more).
  Clock::time_point now = Clock::now() + std::chrono::milliseconds(1);
  std::vector<uint64_t> expired;
  for (const auto& [id, inv] : pending_) {
    if (inv.deadline <= now || id == owner) expired.push_back(id);
  }
  for (uint64_t id : expired) Expire(id);
  if (owner == 0 && expired.empty()) {
    delegate_->OnLog(0, LogLevel::kError,
                     "a callback outside any invocation ran longer than the function's timeout (" +
                         std::to_string(function_.timeout_ms) + " ms) and was stopped");
  }
}

void FunctionHost::Impl::LogMemoryLimit(uint64_t owner) {
  const std::optional<MemoryLimitReached>& reached = js_->limit_reached();
  if (!reached) return;
  auto mib = [](size_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20); };
  uint64_t stop_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - reached->when).count());
  delegate_->OnLog(owner, LogLevel::kError,
                   "memory limit reached: JavaScript held " + mib(reached->heap_bytes) +
                       " MB of heap and " + mib(reached->array_buffer_bytes) +
                       " MB of ArrayBuffers, its budget is " +
                       mib(HeapBudgetBytes(function_.memory_mb)) + " MB of the function's " +
                       std::to_string(function_.memory_mb) + " MB; stopped " +
                       std::to_string(stop_ms) + " ms later");
}

std::string FunctionHost::Impl::FunctionTimeoutMessage(uint32_t timeout_ms) const {
  return "function timed out after " + std::to_string(timeout_ms) + " ms";
}

void FunctionHost::Impl::Expire(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  protocol::InvokeResult result;
  result.outcome = Outcome::kTimeout;
  result.status = 504;
  result.error_type = "Timeout";
  result.error_message = FunctionTimeoutMessage(it->second.timeout_ms);
  Finish(id, std::move(result));
}

void FunctionHost::Impl::Finish(uint64_t id, protocol::InvokeResult result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // already ended (timed out, cancelled)
  Invocation inv = it->second;
  pending_.erase(it);
  ClearTimersOf(id);
  result.duration_us = MicrosSince(inv.start);
  uint64_t cpu_ns = inv.cpu_ns;
  // Finished inside a turn of its own: that turn so far counts too.
  if (in_js_ && running_owner_ == id) cpu_ns += ThreadCpuNs() - turn_cpu_start_ns_;
  result.cpu_us = cpu_ns / 1000;
  delegate_->OnResult(id, std::move(result));
}

void FunctionHost::Impl::FinishValue(uint64_t id, v8::Local<v8::Value> value) {
  // Out of memory: AfterTermination reports that instead, for every pending invocation.
  if (pending_.count(id) == 0 || js_->out_of_memory()) return;
  v8::Isolate* iso = isolate();
  std::optional<protocol::InvokeResult> result =
      MapHandlerResult(iso, iso->GetCurrentContext(), value, *result_keys_);
  if (!result) return;  // terminated meanwhile: AfterTermination ends the invocation
  if (result->outcome == Outcome::kError) {
    delegate_->OnLog(
        id, LogLevel::kError,
        "Invalid handler result: " + result->error_type + ": " + result->error_message);
  }
  Finish(id, std::move(*result));
}

void FunctionHost::Impl::FinishException(uint64_t id, v8::Local<v8::Value> exception,
                                         v8::Local<v8::Message> message) {
  // Out of memory (the exception may be a failed allocation's RangeError): AfterTermination
  // reports that instead, for every pending invocation.
  if (pending_.count(id) == 0 || js_->out_of_memory()) return;
  v8::Isolate* iso = isolate();
  ExceptionInfo info = DescribeException(iso, iso->GetCurrentContext(), exception, message);
  std::string line = info.stack;
  TruncateLogLine(&line);
  delegate_->OnLog(id, LogLevel::kError, line);
  protocol::InvokeResult result;
  result.outcome = Outcome::kError;
  result.status = 500;
  result.error_type = info.type;
  result.error_message = info.message;
  Finish(id, std::move(result));
}

void FunctionHost::Impl::OnFulfilled(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* self = From(info.GetIsolate());
  if (self == nullptr) return;
  self->FinishValue(info.Data().As<v8::BigInt>()->Uint64Value(), info[0]);
}

void FunctionHost::Impl::OnRejected(const v8::FunctionCallbackInfo<v8::Value>& info) {
  Impl* self = From(info.GetIsolate());
  if (self == nullptr) return;
  self->FinishException(info.Data().As<v8::BigInt>()->Uint64Value(), info[0], {});
}

void FunctionHost::Impl::OnPromiseReject(v8::PromiseRejectMessage message) {
  v8::Isolate* iso = message.GetPromise()->GetIsolate();
  Impl* self = From(iso);
  if (self == nullptr) return;
  if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    Rejection r;
    r.owner = self->CurrentOwner();
    r.promise.Reset(iso, message.GetPromise());
    r.reason.Reset(iso, message.GetValue());
    self->rejections_.push_back(std::move(r));
  } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    v8::Local<v8::Promise> promise = message.GetPromise();
    auto& list = self->rejections_;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Rejection& r) { return r.promise.Get(iso) == promise; }),
               list.end());
  }
}

void FunctionHost::Impl::ReportUnhandledRejections() {
  if (rejections_.empty()) return;
  v8::Isolate* iso = isolate();
  v8::HandleScope scope(iso);
  v8::Context::Scope context_scope(js_->context());
  std::vector<Rejection> list;
  list.swap(rejections_);
  for (Rejection& r : list) {
    v8::Local<v8::Promise> promise = r.promise.Get(iso);
    if (promise->HasHandler()) continue;
    ExceptionInfo info = DescribeException(iso, js_->context(), r.reason.Get(iso), {});
    std::string line = "Unhandled promise rejection: " + info.stack;
    TruncateLogLine(&line);
    delegate_->OnLog(r.owner, LogLevel::kError, line);
  }
}

Result<uint64_t> FunctionHost::Impl::Load(const protocol::LoadRequest& request) {
  FLINT_CHECK(!load_started_);
  load_started_ = true;
  function_ = request;
  if (function_.timeout_ms == 0) function_.timeout_ms = 1;
  Clock::time_point start = Clock::now();
  js_->SetMemoryLimit(HeapBudgetBytes(request.memory_mb));
  v8::Isolate* iso = isolate();
  v8::HandleScope scope(iso);
  v8::Local<v8::Context> context = js_->context();
  v8::Context::Scope context_scope(context);
  api_id_.Reset(iso, NewString(iso, request.function_name));

  // Function identity and environment for the globals (trusted code, no watchdog needed).
  {
    v8::Local<v8::Object> env = v8::Object::New(iso);
    for (const auto& [name, value] : request.env) {
      env->CreateDataProperty(context, NewString(iso, name), NewString(iso, value)).IsJust();
    }
    v8::Local<v8::Value> set_function;
    v8::Local<v8::Object> internal = internal_.Get(iso);
    v8::Local<v8::Value> args[] = {NewString(iso, request.function_name),
                                   v8::Integer::NewFromUnsigned(iso, request.function_version),
                                   v8::Integer::NewFromUnsigned(iso, request.memory_mb), env};
    if (!internal->Get(context, NewString(iso, "setFunction")).ToLocal(&set_function) ||
        !set_function->IsFunction() ||
        set_function.As<v8::Function>()->Call(context, internal, 4, args).IsEmpty()) {
      return Internal("could not set up the function's environment");
    }
  }

  loader_ = std::make_unique<ModuleLoader>(iso, request.code_dir);
  FLINT_RETURN_IF_ERROR(loader_->Install());

  load_deadline_ = start + std::chrono::milliseconds(function_.timeout_ms);
  load_terminated_ = false;
  Status failure;
  v8::Local<v8::Module> module;
  v8::Local<v8::Promise> evaluation;
  RunJs(0, [&](v8::TryCatch& try_catch) {
    Result<v8::Local<v8::Module>> loaded = loader_->LoadEntry(context, request.entry);
    if (!loaded.ok()) {
      failure = loaded.status();
      return;
    }
    module = *loaded;
    v8::Local<v8::Value> result;
    if (!module->Evaluate(context).ToLocal(&result)) {
      if (!try_catch.HasTerminated()) {
        ExceptionInfo info =
            DescribeException(iso, context, try_catch.Exception(), try_catch.Message());
        failure = InvalidArgument(FormatLocated(info));
      }
      return;
    }
    evaluation = result.As<v8::Promise>();
  });
  // Top-level await: run the timers it waits for until it settles or the deadline passes.
  while (failure.ok() && !load_terminated_ && evaluation->State() == v8::Promise::kPending) {
    std::optional<Clock::time_point> next_timer = timers_.NextDue();
    if (!next_timer) {
      failure = InvalidArgument(request.entry +
                                ": the module's top-level await can never finish (it waits for "
                                "a promise that no timer or callback will settle)");
      break;
    }
    Clock::time_point wake = std::min(*next_timer, *load_deadline_);
    std::this_thread::sleep_until(wake);
    if (Clock::now() >= *load_deadline_) {
      load_terminated_ = true;
      break;
    }
    RunDueTimers(Clock::now());
  }
  if (load_terminated_) {
    failure = InvalidArgument(oom_ ? request.entry +
                                         ": loading the module exceeded the memory limit of " +
                                         std::to_string(request.memory_mb) + " MB"
                                   : request.entry + ": loading the module timed out after " +
                                         std::to_string(function_.timeout_ms) + " ms");
  }
  if (failure.ok() && evaluation->State() == v8::Promise::kRejected) {
    evaluation->MarkAsHandled();
    v8::Local<v8::Value> exception = evaluation->Result();
    v8::Local<v8::Message> message = v8::Exception::CreateMessage(iso, exception);
    ExceptionInfo info = DescribeException(iso, context, exception, message);
    if (info.file.empty()) info.file = request.entry;
    failure = InvalidArgument(FormatLocated(info));
  }
  load_deadline_.reset();
  ReportUnhandledRejections();
  if (!failure.ok()) return failure;

  // The handler: the named export `handler`, else the default export.
  v8::Local<v8::Object> ns = module->GetModuleNamespace().As<v8::Object>();
  v8::Local<v8::Value> handler;
  const char* chosen = "handler";
  if (!ns->Get(context, NewString(iso, "handler")).ToLocal(&handler) || handler->IsUndefined()) {
    chosen = "default";
    if (!ns->Get(context, NewString(iso, "default")).ToLocal(&handler)) {
      handler = v8::Undefined(iso);
    }
  }
  if (handler->IsUndefined()) {
    return InvalidArgument(request.entry +
                           ": no handler: export a function named 'handler' or a default export");
  }
  if (!handler->IsFunction()) {
    return InvalidArgument(request.entry + ": the export '" + chosen +
                           "' is not a function (it is " + ToUtf8(iso, handler->TypeOf(iso)) + ")");
  }
  handler_.Reset(iso, handler.As<v8::Function>());
  loaded_ = true;
  return MicrosSince(start);
}

void FunctionHost::Impl::Invoke(uint64_t id, const protocol::InvokeRequest& request) {
  FLINT_CHECK(loaded_);
  FLINT_CHECK(id != 0 && pending_.count(id) == 0);
  Invocation inv;
  inv.start = Clock::now();
  inv.timeout_ms = request.timeout_ms;
  inv.deadline = inv.start + std::chrono::milliseconds(request.timeout_ms);
  pending_[id] = inv;
  if (oom_) {
    AfterTermination(0);
    return;
  }
  v8::Isolate* iso = isolate();
  v8::HandleScope scope(iso);
  v8::Local<v8::Context> context = js_->context();
  v8::Context::Scope context_scope(context);
  RunJs(id, [&](v8::TryCatch& try_catch) {
    v8::Local<v8::Value> event;
    if (request.kind == protocol::InvokeKind::kHttp) {
      if (!MakeHttpEvent(context, request).ToLocal(&event)) return;
    } else if (request.body.empty()) {
      event = v8::Object::New(iso);
    } else if (!v8::JSON::Parse(context, NewString(iso, request.body)).ToLocal(&event)) {
      if (try_catch.HasTerminated()) return;
      ExceptionInfo info = DescribeException(iso, context, try_catch.Exception(), {});
      protocol::InvokeResult result;
      result.outcome = Outcome::kError;
      result.status = 400;
      result.error_type = "InvalidEvent";
      result.error_message = "the event is not valid JSON: " + info.message;
      Finish(id, std::move(result));
      try_catch.Reset();
      return;
    }
    v8::Local<v8::Value> context_args[] = {NewString(iso, request.request_id),
                                           v8::Integer::NewFromUnsigned(iso, request.timeout_ms)};
    v8::Local<v8::Value> lambda_context;
    if (!make_context_.Get(iso)
             ->Call(context, internal_.Get(iso), 2, context_args)
             .ToLocal(&lambda_context)) {
      return;
    }
    v8::Local<v8::Value> argv[] = {event, lambda_context};
    v8::Local<v8::Value> returned;
    if (!handler_.Get(iso)->Call(context, v8::Undefined(iso), 2, argv).ToLocal(&returned)) {
      if (!try_catch.HasTerminated()) {
        FinishException(id, try_catch.Exception(), try_catch.Message());
        try_catch.Reset();
      }
      return;
    }
    if (!returned->IsPromise()) {
      FinishValue(id, returned);
      return;
    }
    v8::Local<v8::Promise> promise = returned.As<v8::Promise>();
    iso->PerformMicrotaskCheckpoint();
    if (iso->IsExecutionTerminating() || pending_.count(id) == 0) return;
    switch (promise->State()) {
      case v8::Promise::kFulfilled:
        FinishValue(id, promise->Result());
        break;
      case v8::Promise::kRejected:
        promise->MarkAsHandled();
        FinishException(id, promise->Result(), {});
        break;
      case v8::Promise::kPending: {
        v8::Local<v8::Value> data = v8::BigInt::NewFromUnsigned(iso, id);
        v8::Local<v8::Function> on_fulfilled;
        v8::Local<v8::Function> on_rejected;
        if (v8::Function::New(context, &Impl::OnFulfilled, data).ToLocal(&on_fulfilled) &&
            v8::Function::New(context, &Impl::OnRejected, data).ToLocal(&on_rejected)) {
          promise->Then(context, on_fulfilled, on_rejected).IsEmpty();
        }
        break;
      }
    }
  });
  ReportUnhandledRejections();
}

v8::MaybeLocal<v8::Value> FunctionHost::Impl::MakeHttpEvent(
    v8::Local<v8::Context> context, const protocol::InvokeRequest& request) {
  v8::Isolate* iso = isolate();
  HttpEventParts parts = ParseHttpEvent(request);
  auto pairs = [&](const HttpEventParts::Pairs& list) {
    // CreateDataProperty: a name such as "__proto__" becomes an own property, as in JSON.parse.
    v8::Local<v8::Object> object = v8::Object::New(iso);
    for (const auto& [name, value] : list) {
      object->CreateDataProperty(context, NewInternalizedString(iso, name), NewString(iso, value))
          .Check();
    }
    return object;
  };
  v8::Local<v8::Value> undefined = v8::Undefined(iso);
  v8::Local<v8::Value> cookies = undefined;
  if (!parts.cookies.empty()) {
    std::vector<v8::Local<v8::Value>> list;
    list.reserve(parts.cookies.size());
    for (const std::string& cookie : parts.cookies) list.push_back(NewString(iso, cookie));
    cookies = v8::Array::New(iso, list.data(), list.size());
  }
  v8::Local<v8::Value> query = undefined;
  if (!parts.query.empty()) query = pairs(parts.query);
  v8::Local<v8::Value> body = undefined;
  if (!request.body.empty()) {
    body = NewString(iso, parts.body_base64 ? Base64Encode(request.body) : request.body);
  }
  v8::Local<v8::Value> args[] = {NewString(iso, request.raw_path),
                                 NewString(iso, request.raw_query),
                                 cookies,
                                 pairs(parts.headers),
                                 query,
                                 api_id_.Get(iso),
                                 NewString(iso, parts.domain),
                                 NewString(iso, parts.prefix),
                                 NewInternalizedString(iso, request.method),
                                 NewString(iso, request.source_ip),
                                 NewString(iso, parts.user_agent),
                                 NewString(iso, request.request_id),
                                 NewString(iso, FormatLambdaTime(request.time_epoch_ms)),
                                 v8::Number::New(iso, static_cast<double>(request.time_epoch_ms)),
                                 body,
                                 v8::Boolean::New(iso, parts.body_base64)};
  return make_http_event_.Get(iso)->Call(context, internal_.Get(iso), std::size(args), args);
}

void FunctionHost::Impl::Cancel(uint64_t id) {
  if (pending_.erase(id) != 0) ClearTimersOf(id);
}

void FunctionHost::Impl::RunDue() {
  if (oom_ || !loaded_) return;
  Clock::time_point now = Clock::now();
  std::vector<uint64_t> expired;
  for (const auto& [id, inv] : pending_) {
    if (inv.deadline <= now) expired.push_back(id);
  }
  for (uint64_t id : expired) Expire(id);
  RunDueTimers(now);
  ReportUnhandledRejections();
}

void FunctionHost::Impl::RunDueTimers(Clock::time_point now) {
  while (!oom_ && !load_terminated_) {
    std::optional<TimerTable::Due> due = timers_.PopDue(now);
    if (!due) break;
    RunTimer(*due);
  }
}

v8::Local<v8::Map> FunctionHost::Impl::TimerCallbacks(uint64_t owner) {
  v8::Isolate* iso = isolate();
  v8::Global<v8::Map>& callbacks = timer_callbacks_[owner];
  if (callbacks.IsEmpty()) callbacks.Reset(iso, v8::Map::New(iso));
  return callbacks.Get(iso);
}

void FunctionHost::Impl::RunTimer(const TimerTable::Due& due) {
  uint64_t owner = due.owner;
  v8::Isolate* iso = isolate();
  v8::HandleScope scope(iso);
  v8::Local<v8::Context> context = js_->context();
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Map> callbacks = TimerCallbacks(owner);
  v8::Local<v8::Value> key = v8::Number::New(iso, static_cast<double>(due.id));
  v8::Local<v8::Value> entry;
  if (!callbacks->Get(context, key).ToLocal(&entry)) return;
  // The callback may set new timers or clear this one: nothing of it is kept.
  if (!due.repeat) callbacks->Delete(context, key).IsJust();
  v8::Local<v8::Value> callback = entry;
  std::vector<v8::Local<v8::Value>> argv;
  if (entry->IsArray()) {
    v8::Local<v8::Array> pair = entry.As<v8::Array>();
    v8::Local<v8::Value> args;
    if (!pair->Get(context, 0).ToLocal(&callback) || !pair->Get(context, 1).ToLocal(&args) ||
        !args->IsArray()) {
      return;
    }
    v8::Local<v8::Array> list = args.As<v8::Array>();
    for (uint32_t i = 0; i < list->Length(); ++i) {
      argv.push_back(list->Get(context, i).FromMaybe(v8::Undefined(iso).As<v8::Value>()));
    }
  }
  if (!callback->IsFunction()) return;
  v8::Local<v8::Function> function = callback.As<v8::Function>();
  RunJs(owner, [&](v8::TryCatch& try_catch) {
    if (!function->Call(context, context->Global(), static_cast<int>(argv.size()), argv.data())
             .IsEmpty() ||
        try_catch.HasTerminated()) {
      return;
    }
    if (owner != 0 && pending_.count(owner) != 0) {
      // An uncaught exception in a timer fails the invocation that set the timer.
      FinishException(owner, try_catch.Exception(), try_catch.Message());
    } else {
      ExceptionInfo info =
          DescribeException(iso, context, try_catch.Exception(), try_catch.Message());
      std::string line = "Uncaught " + info.stack;
      TruncateLogLine(&line);
      delegate_->OnLog(owner, LogLevel::kError, line);
    }
    try_catch.Reset();
  });
}

void FunctionHost::Impl::ClearTimersOf(uint64_t owner) {
  timers_.DropOwner(owner);
  timer_callbacks_.erase(owner);
}

std::optional<uint64_t> FunctionHost::Impl::NextWakeupMs() const {
  if (oom_) return std::nullopt;
  std::optional<Clock::time_point> next;
  for (const auto& [id, inv] : pending_) {
    if (!next || inv.deadline < *next) next = inv.deadline;
  }
  if (std::optional<Clock::time_point> timer = timers_.NextDue();
      timer && (!next || *timer < *next)) {
    next = timer;
  }
  if (!next) return std::nullopt;
  auto left = *next - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  // Rounded up, so the wake-up never comes before the deadline.
  return static_cast<uint64_t>(
      (std::chrono::duration_cast<std::chrono::microseconds>(left).count() + 999) / 1000);
}

void FunctionHost::Impl::Log(LogLevel level, std::string text) {
  delegate_->OnLog(CurrentOwner(), level, text);
}

Result<double> FunctionHost::Impl::AddTimer(v8::Local<v8::Function> callback, double delay_ms,
                                            bool repeat, v8::Local<v8::Array> args) {
  uint64_t owner = CurrentOwner();
  // A timer set by an invocation that already ended would never be allowed to run: it gets an
  // id that names no timer.
  if (owner != 0 && pending_.count(owner) == 0) {
    return static_cast<double>((uint64_t{1} << 52) + ++stale_timer_ids_);
  }
  if (!(delay_ms >= 1) || delay_ms > kMaxTimerDelayMs) delay_ms = 1;
  auto delay = std::chrono::microseconds(static_cast<int64_t>(delay_ms * 1000));
  Result<uint64_t> id = timers_.Add(owner, Clock::now() + delay,
                                    repeat ? Clock::duration(delay) : Clock::duration::zero());
  if (!id.ok()) return id.status();
  v8::Isolate* iso = isolate();
  v8::Local<v8::Context> context = js_->context();
  v8::Local<v8::Value> entry = callback;
  if (args->Length() > 0) {
    v8::Local<v8::Value> pair[] = {callback, args};
    entry = v8::Array::New(iso, pair, 2);
  }
  if (TimerCallbacks(owner)
          ->Set(context, v8::Number::New(iso, static_cast<double>(*id)), entry)
          .IsEmpty()) {
    timers_.Remove(*id);
    return Internal("could not store the timer");
  }
  return static_cast<double>(*id);
}

void FunctionHost::Impl::ClearTimer(double id) {
  if (!(id >= 1) || id > 9007199254740992.0) return;
  std::optional<uint64_t> owner = timers_.Remove(static_cast<uint64_t>(id));
  if (!owner) return;
  auto callbacks = timer_callbacks_.find(*owner);
  if (callbacks == timer_callbacks_.end()) return;
  v8::Isolate* iso = isolate();
  callbacks->second.Get(iso)->Delete(js_->context(), v8::Number::New(iso, id)).IsJust();
}

// --- FunctionHost ---------------------------------------------------------------------------

uint64_t FunctionHost::HeapBudgetBytes(uint32_t memory_mb) {
  uint64_t reserve = kProcessReserveMb + memory_mb / 16;
  uint64_t mb = memory_mb > reserve + 16 ? memory_mb - reserve : 16;
  return mb << 20;
}

Result<std::unique_ptr<FunctionHost>> FunctionHost::Create(Delegate* delegate) {
  auto impl = std::make_unique<Impl>(delegate);
  FLINT_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<FunctionHost>(new FunctionHost(std::move(impl)));
}

FunctionHost::FunctionHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FunctionHost::~FunctionHost() = default;

Result<uint64_t> FunctionHost::Load(const protocol::LoadRequest& request) {
  return impl_->Load(request);
}
bool FunctionHost::loaded() const { return impl_->loaded(); }
void FunctionHost::Invoke(uint64_t id, const protocol::InvokeRequest& request) {
  impl_->Invoke(id, request);
}
void FunctionHost::Cancel(uint64_t id) { impl_->Cancel(id); }
bool FunctionHost::is_pending(uint64_t id) const { return impl_->is_pending(id); }
size_t FunctionHost::pending_count() const { return impl_->pending_count(); }
void FunctionHost::RunDue() { impl_->RunDue(); }
std::optional<uint64_t> FunctionHost::NextWakeupMs() const { return impl_->NextWakeupMs(); }
bool FunctionHost::out_of_memory() const { return impl_->out_of_memory(); }
FunctionHost::HeapUsage FunctionHost::heap_usage() const { return impl_->heap_usage(); }

}  // namespace flint::runtime
