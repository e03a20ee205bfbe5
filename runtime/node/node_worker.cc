#include "runtime/node/node_worker.h"

#include <fcntl.h>
#include <node.h>
#include <node_buffer.h>
#include <node_version.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/api/lambda_event.h"
#include "runtime/api/lambda_result.h"
#include "runtime/api/log_line.h"
#include "runtime/js/js_util.h"
#include "runtime/node/web_request.h"
#include "runtime/sandbox/code_request.h"

namespace flint::runtime::node {
namespace {

using protocol::LogLevel;
using protocol::MessageType;
using protocol::Outcome;

std::unique_ptr<NodeWorker> g_worker;

uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

template <typename Duration>
uint64_t Micros(Duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

std::string RuntimeVersion() {
  return std::string("node ") + NODE_VERSION_STRING + ", V8 " + v8::V8::GetVersion();
}

NodeWorker* NodeWorker::Get() { return g_worker.get(); }

Result<NodeWorker*> NodeWorker::Start(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                      v8::Local<v8::Object> callbacks, NodeWorkerOptions options) {
  if (g_worker != nullptr) return Internal("the worker is already started");
  std::unique_ptr<NodeWorker> worker(
      new NodeWorker(isolate, context, callbacks, std::move(options)));
  FLINT_RETURN_IF_ERROR(worker->Open());
  g_worker = std::move(worker);
  return g_worker.get();
}

NodeWorker::NodeWorker(v8::Isolate* isolate, v8::Local<v8::Context> context,
                       v8::Local<v8::Object> callbacks, NodeWorkerOptions options)
    : isolate_(isolate),
      context_(isolate, context),
      callbacks_(isolate, callbacks),
      options_(std::move(options)),
      loop_(::node::GetCurrentEventLoop(isolate)),
      channel_(loop_, this) {
  statm_fd_ = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
}

Status NodeWorker::Open() {
  FLINT_RETURN_IF_ERROR(channel_.Open(options_.fd));
  watchdog_ = std::make_unique<BusyWatchdog>(loop_, isolate_, [this] { OnWatchdogFired(); });
  heap_ = std::make_unique<HeapGuard>(loop_, isolate_, [this] { OnHeapExhausted(); });
  watchdog_->SetMemoryCheck([heap = heap_.get()] { heap->CheckProcessMemory(); });
  deadline_timer_ = std::make_unique<loop::Timer>(loop_);
  deadline_timer_->Unref();
  protocol::Hello hello;
  hello.protocol_version = protocol::kProtocolVersion;
  hello.pid = static_cast<uint32_t>(::getpid());
  hello.runtime = "node";
  hello.runtime_version = RuntimeVersion();
  channel_.Queue(MessageType::kHello, 0, hello.Encode());
  channel_.Flush();
  return Status::Ok();
}

void NodeWorker::OnFrame(const protocol::FrameView& frame) {
  switch (frame.header.type) {
    case MessageType::kLoad:
      HandleLoad(frame.payload);
      return;
    case MessageType::kInvoke:
      HandleInvoke(frame.header.invocation_id, frame.payload);
      return;
    case MessageType::kCancel:
      HandleCancel(frame.header.invocation_id);
      return;
    case MessageType::kShutdown:
      Exit(kExitOk);
    default:
      ProtocolViolation("unexpected message " +
                        std::string(protocol::MessageTypeName(frame.header.type)));
  }
}

void NodeWorker::OnChannelClosed(const Status& why) {
  // flintd went away (EOF) or the socket broke: nothing left to serve.
  if (why.code() == Code::kUnavailable) Exit(kExitOk);
  ProtocolViolation(why.message());
}

void NodeWorker::HandleLoad(std::string_view payload) {
  Result<protocol::LoadRequest> request = protocol::LoadRequest::Decode(payload);
  if (!request.ok()) return ProtocolViolation("bad LOAD: " + request.status().message());
  if (state_ != State::kIdle) return ProtocolViolation("a second LOAD");
  load_start_ = Clock::now();
  state_ = State::kLoading;
  function_ = std::move(*request);
  entry_file_ = function_.entry.empty() ? "index.handler" : function_.entry;
  if (function_.timeout_ms == 0) function_.timeout_ms = 1;
  if (function_.runtime != "node") {
    return LoadFailed("this worker runs Node.js functions, not '" + function_.runtime + "'");
  }
  if (options_.code_request_fd >= 0) {
    int fd = options_.code_request_fd;
    options_.code_request_fd = -1;
    if (Status entered = sandbox::RequestCode(fd, options_.code_root, function_.code_dir);
        !entered.ok()) {
      return LoadFailed("cannot enter the sandbox: " + entered.message());
    }
  }
  heap_->SetBudget(HeapGuard::BudgetBytes(function_.memory_mb));
  heap_->SetProcessLimit(NodeProcessLimitBytes(function_.memory_mb));
  load_deadline_ = load_start_ + std::chrono::milliseconds(function_.timeout_ms);
  Rearm();

  v8::HandleScope scope(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Object> env = v8::Object::New(isolate_);
  for (const auto& [name, value] : function_.env) {
    env->CreateDataProperty(context, NewString(isolate_, name), NewString(isolate_, value))
        .IsJust();
  }
  v8::Local<v8::Object> r = v8::Object::New(isolate_);
  auto set = [&](const char* key, v8::Local<v8::Value> value) {
    r->CreateDataProperty(context, NewString(isolate_, key), value).IsJust();
  };
  set("name", NewString(isolate_, function_.function_name));
  set("version", v8::Integer::NewFromUnsigned(isolate_, function_.function_version));
  set("codeDir", NewString(isolate_, function_.code_dir));
  set("entry", NewString(isolate_, function_.entry));
  set("memoryMb", v8::Integer::NewFromUnsigned(isolate_, function_.memory_mb));
  set("timeoutMs", v8::Integer::NewFromUnsigned(isolate_, function_.timeout_ms));
  set("env", env);
  // The code cache, as [path, bytes, path, bytes, ...]; a damaged one is ignored (the worker
  // then compiles, and sends a new one).
  v8::Local<v8::Array> cache = v8::Array::New(isolate_);
  if (!function_.code_cache.empty()) {
    Result<protocol::CodeCache> decoded = protocol::CodeCache::Decode(function_.code_cache);
    if (decoded.ok()) {
      uint32_t i = 0;
      for (const auto& [file, data] : decoded->files) {
        v8::Local<v8::Object> bytes;
        if (!::node::Buffer::Copy(isolate_, data.data(), data.size()).ToLocal(&bytes)) break;
        cache->Set(context, i++, NewString(isolate_, file)).IsJust();
        cache->Set(context, i++, bytes).IsJust();
      }
    }
    function_.code_cache.clear();
    function_.code_cache.shrink_to_fit();
  }
  set("codeCache", cache);
  v8::Local<v8::Value> argv[] = {r};
  CallBootstrap("load", 1, argv);
}

void NodeWorker::Loaded(Shape shape) {
  if (state_ != State::kLoading) return;
  state_ = State::kLoaded;
  shape_ = shape;
  protocol::Loaded reply;
  reply.init_duration_us = Micros(Clock::now() - load_start_);
  channel_.Queue(MessageType::kLoaded, 0, reply.Encode());
  QueueStats();
  channel_.Flush();
  Rearm();
}

void NodeWorker::LoadFailed(std::string message) {
  if (state_ != State::kLoading) return;
  protocol::LoadFailed failed;
  failed.message = std::move(message);
  channel_.Queue(MessageType::kLoadFailed, 0, failed.Encode());
  Exit(kExitLoadFailed);
}

void NodeWorker::HandleInvoke(uint64_t id, std::string_view payload) {
  if (state_ != State::kLoaded) return ProtocolViolation("INVOKE before LOAD");
  if (id == 0) return ProtocolViolation("INVOKE with invocation id 0");
  // Invocation ids travel to JavaScript as numbers.
  if (id > (uint64_t{1} << 53)) return ProtocolViolation("INVOKE id beyond 2^53");
  if (pending_.count(id) != 0) {
    return ProtocolViolation("INVOKE " + std::to_string(id) + " while it is still pending");
  }
  Result<protocol::InvokeRequest> request = protocol::InvokeRequest::Decode(payload);
  if (!request.ok()) return ProtocolViolation("bad INVOKE: " + request.status().message());
  Invocation inv;
  inv.start = Clock::now();
  inv.timeout_ms = request->timeout_ms;
  inv.deadline = inv.start + std::chrono::milliseconds(request->timeout_ms);
  inv.cpu_start_ns = ThreadCpuNs();
  pending_[id] = inv;
  Rearm();
  if (heap_->out_of_memory()) return OnHeapExhausted();

  v8::HandleScope scope(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> payload_value;
  if (!BuildInvokePayload(id, *request, &payload_value)) return;
  v8::Local<v8::Value> argv[] = {v8::Number::New(isolate_, static_cast<double>(id)),
                                 v8::Integer::New(isolate_, static_cast<int>(request->kind)),
                                 payload_value, NewString(isolate_, request->request_id),
                                 v8::Integer::NewFromUnsigned(isolate_, request->timeout_ms)};
  CallBootstrap("invoke", 5, argv);
}

bool NodeWorker::BuildInvokePayload(uint64_t id, const protocol::InvokeRequest& request,
                                    v8::Local<v8::Value>* payload) {
  v8::Local<v8::Context> context = context_.Get(isolate_);
  if (request.kind == protocol::InvokeKind::kHttp && shape_ == Shape::kFetch) {
    v8::Local<v8::Object> r = v8::Object::New(isolate_);
    v8::Local<v8::Array> headers = v8::Array::New(isolate_, 2 * request.headers.size());
    uint32_t i = 0;
    for (const auto& [name, value] : request.headers) {
      headers->Set(context, i++, NewString(isolate_, name)).IsJust();
      headers->Set(context, i++, NewString(isolate_, value)).IsJust();
    }
    r->CreateDataProperty(context, NewString(isolate_, "method"),
                          NewString(isolate_, request.method))
        .IsJust();
    r->CreateDataProperty(context, NewString(isolate_, "url"),
                          NewString(isolate_, RequestUrl(request)))
        .IsJust();
    r->CreateDataProperty(context, NewString(isolate_, "headers"), headers).IsJust();
    if (!request.body.empty()) {
      v8::Local<v8::Object> body;
      if (::node::Buffer::Copy(isolate_, request.body.data(), request.body.size()).ToLocal(&body)) {
        r->CreateDataProperty(context, NewString(isolate_, "body"), body).IsJust();
      }
    }
    *payload = r;
    return true;
  }
  std::string json;
  if (request.kind == protocol::InvokeKind::kHttp) {
    json = BuildHttpEventJson(request, function_.function_name);
  } else if (request.body.empty()) {
    *payload = v8::Object::New(isolate_);
    return true;
  }
  v8::TryCatch try_catch(isolate_);
  if (v8::JSON::Parse(context, NewString(isolate_, json.empty() ? request.body : json))
          .ToLocal(payload)) {
    return true;
  }
  ExceptionInfo info = DescribeException(isolate_, context, try_catch.Exception(), {});
  try_catch.Reset();
  protocol::InvokeResult result;
  result.outcome = Outcome::kError;
  result.status = 400;
  result.error_type = "InvalidEvent";
  result.error_message = "the event is not valid JSON: " + info.message;
  Finish(id, std::move(result));
  return false;
}

void NodeWorker::HandleCancel(uint64_t id) {
  if (pending_.erase(id) == 0) return;
  Rearm();
  v8::HandleScope scope(isolate_);
  v8::Context::Scope context_scope(context_.Get(isolate_));
  v8::Local<v8::Value> argv[] = {v8::Number::New(isolate_, static_cast<double>(id))};
  CallBootstrap("cancel", 1, argv);
}

void NodeWorker::CallBootstrap(const char* name, int argc, v8::Local<v8::Value>* argv) {
  if (watchdog_->TakeFired()) isolate_->CancelTerminateExecution();
  v8::HandleScope scope(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Object> callbacks = callbacks_.Get(isolate_);
  v8::Local<v8::Value> fn;
  if (!callbacks->Get(context, NewString(isolate_, name)).ToLocal(&fn) || !fn->IsFunction()) {
    std::fprintf(stderr, "flint-worker: the bootstrap has no '%s' callback\n", name);
    Exit(kExitProtocol);
  }
  // The bootstrap catches what the function throws; what escapes it goes to Node.js's
  // uncaught-exception handling, which the bootstrap also owns.
  (void)::node::MakeCallback(isolate_, callbacks, fn.As<v8::Function>(), argc, argv, {0, 0});
}

void NodeWorker::FinishValue(uint64_t id, v8::Local<v8::Value> value) {
  if (pending_.count(id) == 0) return;
  v8::HandleScope scope(isolate_);
  if (!result_keys_) result_keys_.emplace(isolate_);
  std::optional<protocol::InvokeResult> result =
      MapHandlerResult(isolate_, isolate_->GetCurrentContext(), value, *result_keys_);
  if (!result) return;  // terminated meanwhile: the deadline reports the invocation
  if (result->outcome == Outcome::kError) {
    Log(id, LogLevel::kError,
        "Invalid handler result: " + result->error_type + ": " + result->error_message);
  }
  Finish(id, std::move(*result));
}

void NodeWorker::FinishResponse(uint64_t id, uint16_t status, std::vector<protocol::Header> headers,
                                std::string body) {
  if (pending_.count(id) == 0) return;
  protocol::InvokeResult result;
  result.status = status;
  result.headers = std::move(headers);
  result.body = std::move(body);
  Finish(id, std::move(result));
}

void NodeWorker::FinishException(uint64_t id, v8::Local<v8::Value> exception) {
  if (pending_.count(id) == 0) return;
  v8::HandleScope scope(isolate_);
  v8::Local<v8::Context> context = isolate_->GetCurrentContext();
  ExceptionInfo info = DescribeException(isolate_, context, exception, {});
  std::string line = info.stack;
  Log(id, LogLevel::kError, std::move(line));
  FinishError(id, 500, std::move(info.type), std::move(info.message));
}

void NodeWorker::FinishError(uint64_t id, uint16_t status, std::string type, std::string message) {
  if (pending_.count(id) == 0) return;
  protocol::InvokeResult result;
  result.outcome = Outcome::kError;
  result.status = status;
  result.error_type = std::move(type);
  result.error_message = std::move(message);
  Finish(id, std::move(result));
}

void NodeWorker::FailAllPending(Outcome outcome, const char* type, const std::string& message) {
  std::vector<uint64_t> ids;
  for (const auto& [id, inv] : pending_) ids.push_back(id);
  for (uint64_t id : ids) {
    protocol::InvokeResult result;
    result.outcome = outcome;
    result.status = 500;
    result.error_type = type;
    result.error_message = message;
    result.worker_exiting = true;
    Finish(id, std::move(result));
  }
}

void NodeWorker::Finish(uint64_t id, protocol::InvokeResult result) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;  // already ended (timed out, cancelled)
  Invocation inv = it->second;
  pending_.erase(it);
  result.duration_us = Micros(Clock::now() - inv.start);
  result.cpu_us = (ThreadCpuNs() - inv.cpu_start_ns) / 1000;
  channel_.Queue(MessageType::kResult, id, result.Encode());
  Clock::time_point now = Clock::now();
  if (!heap_->out_of_memory() && now - last_stats_ >= std::chrono::milliseconds(kStatsIntervalMs)) {
    last_stats_ = now;
    QueueStats();
  }
  channel_.Flush();
  Rearm();
}

void NodeWorker::Log(uint64_t id, LogLevel level, std::string text) {
  TruncateLogLine(&text);
  protocol::LogLine line;
  line.level = level;
  line.text = std::move(text);
  channel_.Queue(MessageType::kLog, id, line.Encode());
  channel_.Flush();
}

void NodeWorker::SendCodeCache(protocol::CodeCache cache) {
  if (code_cache_sent_ || state_ != State::kLoaded || cache.files.empty()) return;
  code_cache_sent_ = true;
  std::string payload = cache.Encode();
  if (payload.size() > protocol::CodeCache::kMaxBytes) return;
  channel_.Queue(MessageType::kCodeCache, 0, payload);
  channel_.Flush();
}

void NodeWorker::Expire(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  protocol::InvokeResult result;
  result.outcome = Outcome::kTimeout;
  result.status = 504;
  result.error_type = "Timeout";
  result.error_message =
      "function timed out after " + std::to_string(it->second.timeout_ms) + " ms";
  Finish(id, std::move(result));
  v8::HandleScope scope(isolate_);
  v8::Local<v8::Value> argv[] = {v8::Number::New(isolate_, static_cast<double>(id))};
  CallBootstrap("expire", 1, argv);
}

void NodeWorker::ExpireDue() {
  if (watchdog_->TakeFired()) isolate_->CancelTerminateExecution();
  Clock::time_point now = Clock::now();
  if (state_ == State::kLoading && now >= load_deadline_) {
    return LoadFailed(entry_file_ + ": loading the module timed out after " +
                      std::to_string(function_.timeout_ms) + " ms");
  }
  std::vector<uint64_t> due;
  for (const auto& [id, inv] : pending_) {
    if (inv.deadline <= now + std::chrono::milliseconds(1)) due.push_back(id);
  }
  for (uint64_t id : due) Expire(id);
  Rearm();
}

void NodeWorker::OnWatchdogFired() {
  // The terminated code has unwound by now (this runs from the loop). Whatever it was, the
  // invocations past their deadline end here, if the deadline timer has not ended them yet.
  isolate_->CancelTerminateExecution();
  (void)watchdog_->TakeFired();
  ExpireDue();
}

void NodeWorker::OnHeapExhausted() {
  isolate_->CancelTerminateExecution();
  std::string limit = std::to_string(function_.memory_mb) + " MB";
  if (state_ == State::kLoading) {
    return LoadFailed(entry_file_ + ": loading the module exceeded the memory limit of " + limit);
  }
  FailAllPending(Outcome::kOutOfMemory, "OutOfMemory",
                 "function exceeded its memory limit of " + limit);
  Exit(kExitOutOfMemory);
}

void NodeWorker::ProcessExiting(int code) {
  std::string what = "process.exit(" + std::to_string(code) + ") was called";
  if (state_ == State::kLoading) {
    protocol::LoadFailed failed;
    failed.message = entry_file_ + ": the module called process.exit(" + std::to_string(code) +
                     ") while loading";
    channel_.Queue(MessageType::kLoadFailed, 0, failed.Encode());
  }
  FailAllPending(Outcome::kError, "Runtime.ExitError", "Runtime exited: " + what);
  (void)channel_.FlushBlocking(1000);
  // Node.js may take a while to tear down: flintd must not send this worker another request
  // meanwhile, and sees the closed socket at once.
  channel_.Close();
}

void NodeWorker::Rearm() {
  std::optional<Clock::time_point> next;
  if (state_ == State::kLoading) next = load_deadline_;
  for (const auto& [id, inv] : pending_) {
    if (!next || inv.deadline < *next) next = inv.deadline;
  }
  if (!next) {
    deadline_timer_->Stop();
    watchdog_->ClearDeadline();
    return;
  }
  auto left = *next - Clock::now();
  uint64_t ms = left <= Clock::duration::zero() ? 0 : (Micros(left) + 999) / 1000;
  uv_update_time(loop_);
  deadline_timer_->Start(ms, 0, [this] { ExpireDue(); });
  watchdog_->SetDeadline(*next);
}

void NodeWorker::QueueStats() {
  protocol::Stats stats;
  HeapGuard::Usage heap = heap_->GetUsage();
  stats.heap_used_bytes = heap.used_bytes;
  stats.heap_limit_bytes = state_ == State::kIdle ? 0 : heap.limit_bytes;
  if (statm_fd_ >= 0) {
    char buf[128];
    ssize_t n = ::pread(statm_fd_, buf, sizeof(buf) - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      unsigned long long size_pages = 0;
      unsigned long long resident_pages = 0;
      if (std::sscanf(buf, "%llu %llu", &size_pages, &resident_pages) == 2) {
        stats.rss_bytes = resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
      }
    }
  }
  channel_.Queue(MessageType::kStats, 0, stats.Encode());
}

void NodeWorker::ProtocolViolation(std::string_view what) {
  std::fprintf(stderr, "flint-worker[%d]: protocol violation: %.*s\n", static_cast<int>(::getpid()),
               static_cast<int>(what.size()), what.data());
  Exit(kExitProtocol);
}

void NodeWorker::Exit(int code) {
  // The last RESULT or LOAD_FAILED must reach flintd; no function code runs after this.
  (void)channel_.FlushBlocking(1000);
  channel_.Close();
  ::_exit(code);
}

}  // namespace flint::runtime::node
