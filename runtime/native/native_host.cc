#include "runtime/native/native_host.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <vector>

#include "sdk/core/clock.h"
#include "sdk/include/flint/abi.h"

namespace flint::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// The longest log line kept, as for JS functions; longer lines are cut with a note.
constexpr size_t kMaxLogLineBytes = 64 * 1024;

uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

flint_str Str(std::string_view s) { return flint_str{s.data(), s.size()}; }

// The state one call into the function writes to through the C callbacks. Lives on the stack of
// Load or Invoke for the duration of the call.
struct Call {
  NativeHost::Delegate* delegate = nullptr;
  uint64_t invocation_id = 0;
  Clock::time_point deadline{};
  bool has_deadline = false;
  protocol::InvokeResult result;
  bool failed = false;
};

Call* CallOf(void* host) { return static_cast<Call*>(host); }

// The callbacks are called from the function's code: they must not throw into it.
void LogCb(void* host, uint32_t level, const char* text, size_t size) noexcept {
  try {
    std::string line(text, size);
    if (line.size() > kMaxLogLineBytes) {
      size_t cut = kMaxLogLineBytes;
      while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
      size_t dropped = line.size() - cut;
      line.resize(cut);
      line.append("... [" + std::to_string(dropped) + " more bytes truncated]");
    }
    auto lvl = level <= FLINT_LOG_ERROR ? static_cast<protocol::LogLevel>(level)
                                        : protocol::LogLevel::kInfo;
    Call* call = CallOf(host);
    call->delegate->OnLog(call->invocation_id, lvl, line);
  } catch (...) {
    // Out of memory while copying a log line: the line is lost, the invocation goes on.
  }
}

uint64_t RemainingMsCb(void* host) noexcept {
  Call* call = CallOf(host);
  if (!call->has_deadline) return 0;
  auto left = call->deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(left).count());
}

void SetStatusCb(void* host, uint32_t status) noexcept {
  CallOf(host)->result.status = static_cast<uint16_t>(status > 0xffff ? 0 : status);
}

void AddHeaderCb(void* host, const char* name, size_t name_size, const char* value,
                 size_t value_size) noexcept {
  try {
    CallOf(host)->result.headers.emplace_back(std::string(name, name_size),
                                              std::string(value, value_size));
  } catch (...) {
    CallOf(host)->failed = true;
    CallOf(host)->result.error_type = "std::bad_alloc";
  }
}

void SetBodyCb(void* host, const char* data, size_t size) noexcept {
  try {
    CallOf(host)->result.body.assign(data, size);
  } catch (...) {
    CallOf(host)->failed = true;
    CallOf(host)->result.error_type = "std::bad_alloc";
  }
}

void FailCb(void* host, const char* type, size_t type_size, const char* message,
            size_t message_size) noexcept {
  Call* call = CallOf(host);
  call->failed = true;
  try {
    call->result.error_type.assign(type, type_size);
    call->result.error_message.assign(message, message_size);
  } catch (...) {
  }
}

flint_response_writer WriterFor(Call* call) {
  flint_response_writer w{};
  w.struct_size = sizeof(flint_response_writer);
  w.host = call;
  w.set_status = SetStatusCb;
  w.add_header = AddHeaderCb;
  w.set_body = SetBodyCb;
  w.fail = FailCb;
  return w;
}

std::string DlError() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown error";
}

}  // namespace

uint32_t NativeHost::SupportedAbiVersion() { return FLINT_ABI_VERSION; }

Status NativeHost::WarmUp(const std::string& path) {
  // A host of its own, whose results go nowhere; the object stays loaded (see ~NativeHost).
  struct Discard final : Delegate {
    void OnLog(uint64_t, protocol::LogLevel, std::string_view) override {}
    void OnResult(uint64_t, protocol::InvokeResult result) override { outcome = result.outcome; }
    protocol::Outcome outcome = protocol::Outcome::kError;
  } discard;
  std::unique_ptr<NativeHost> host = Create(&discard);
  protocol::LoadRequest load;
  load.function_name = "flint-native-warmup";
  load.runtime = std::string(RuntimeName(Runtime::kCpp));
  size_t slash = path.rfind('/');
  load.code_dir = path.substr(0, slash);
  load.entry = path.substr(slash + 1);
  FLINT_RETURN_IF_ERROR(host->Load(load).status());
  protocol::InvokeRequest invoke;
  invoke.request_id = "warm-up";
  invoke.method = "GET";
  invoke.raw_path = "/";
  invoke.raw_query = "name=flint";
  host->Invoke(1, invoke);
  if (discard.outcome != protocol::Outcome::kOk) return Internal("the warm-up invocation failed");
  return Status::Ok();
}

std::unique_ptr<NativeHost> NativeHost::Create(Delegate* delegate) {
  return std::unique_ptr<NativeHost>(new NativeHost(delegate));
}

// The library is deliberately not dlclose()d: the function's statics, thread_locals and atexit
// handlers may refer to its code until the process exits.
NativeHost::~NativeHost() = default;

Result<uint64_t> NativeHost::Load(const protocol::LoadRequest& request) {
  if (library_ != nullptr) return Internal("the function is already loaded");
  std::string path = request.code_dir + "/" + request.entry;
  // The init duration covers what JS's covers (loading the code, running its top level): the
  // dlopen with the object's static constructors, and the init hook.
  auto start = Clock::now();
  dlerror();
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return InvalidArgument("cannot load " + request.entry + ": " + DlError());
  library_ = lib;

  auto version_fn = reinterpret_cast<flint_abi_version_fn>(dlsym(lib, "flint_abi_version"));
  if (version_fn == nullptr) {
    return InvalidArgument(request.entry +
                           " is not a Flint function: it exports no flint_abi_version "
                           "(include <flint/flint.h> and use FLINT_HANDLER(your_handler))");
  }
  uint32_t version = version_fn();
  if (version != FLINT_ABI_VERSION) {
    return InvalidArgument("function built for Flint C ABI version " + std::to_string(version) +
                           ", this worker supports " + std::to_string(FLINT_ABI_VERSION) +
                           " (rebuild it against this Flint's SDK)");
  }
  void* handle = dlsym(lib, "flint_handle");
  if (handle == nullptr) {
    return InvalidArgument(request.entry +
                           " exports no flint_handle (use FLINT_HANDLER(your_handler))");
  }
  auto init_fn = reinterpret_cast<flint_init_fn>(dlsym(lib, "flint_init"));

  function_name_ = request.function_name;
  function_version_ = request.function_version;
  memory_mb_ = request.memory_mb;
  timeout_ms_ = request.timeout_ms;
  // The function's environment is the process's: getenv() in the function sees it.
  for (const auto& [key, value] : request.env) ::setenv(key.c_str(), value.c_str(), 1);

  if (init_fn != nullptr) {
    Call call;
    call.delegate = delegate_;
    flint_context ctx{};
    ctx.struct_size = sizeof(flint_context);
    ctx.function_version = function_version_;
    ctx.request_id = Str("");
    ctx.function_name = Str(function_name_);
    ctx.memory_limit_mb = memory_mb_;
    ctx.timeout_ms = timeout_ms_;
    ctx.host = &call;
    ctx.log = LogCb;
    ctx.remaining_ms = RemainingMsCb;
    flint_response_writer writer = WriterFor(&call);
    int rc = init_fn(&ctx, &writer);
    if (rc != 0 || call.failed) {
      std::string type = call.result.error_type.empty() ? "error" : call.result.error_type;
      return InvalidArgument("the init hook failed: " + type + ": " + call.result.error_message);
    }
  }
  handle_fn_ = handle;
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

void NativeHost::Invoke(uint64_t id, const protocol::InvokeRequest& request) {
  std::vector<flint_header> headers;
  headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) headers.push_back({Str(name), Str(value)});
  flint_request req{};
  req.struct_size = sizeof(flint_request);
  req.kind = request.kind == protocol::InvokeKind::kEvent ? FLINT_KIND_EVENT : FLINT_KIND_HTTP;
  req.method = Str(request.method);
  req.path = Str(request.raw_path);
  req.query = Str(request.raw_query);
  req.source_ip = Str(request.source_ip);
  req.headers = headers.data();
  req.header_count = headers.size();
  req.body = Str(request.body);

  Call call;
  call.delegate = delegate_;
  call.invocation_id = id;
  auto start = Clock::now();
  call.deadline = start + std::chrono::milliseconds(request.timeout_ms);
  call.has_deadline = true;

  flint_context ctx{};
  ctx.struct_size = sizeof(flint_context);
  ctx.function_version = function_version_;
  ctx.request_id = Str(request.request_id);
  ctx.function_name = Str(function_name_);
  ctx.memory_limit_mb = memory_mb_;
  ctx.timeout_ms = timeout_ms_;
  ctx.deadline_epoch_ms = static_cast<uint64_t>(WallClockMs()) + request.timeout_ms;
  ctx.host = &call;
  ctx.log = LogCb;
  ctx.remaining_ms = RemainingMsCb;
  flint_response_writer writer = WriterFor(&call);

  uint64_t cpu_start = ThreadCpuNs();
  int rc = reinterpret_cast<flint_handle_fn>(handle_fn_)(&req, &ctx, &writer);
  protocol::InvokeResult result = std::move(call.result);
  result.duration_us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  result.cpu_us = (ThreadCpuNs() - cpu_start) / 1000;
  if (rc != 0 || call.failed) {
    result.outcome = protocol::Outcome::kError;
    if (result.error_type.empty()) result.error_type = "Error";
    if (result.error_message.empty()) result.error_message = "the handler failed";
    result.status = 500;
    result.headers.clear();
    result.body.clear();
  } else if (result.status < 100 || result.status > 599) {
    result.outcome = protocol::Outcome::kError;
    result.error_type = "flint::InvalidResponse";
    result.error_message =
        "the handler returned HTTP status " + std::to_string(result.status) + " (not 100-599)";
    result.status = 500;
    result.headers.clear();
    result.body.clear();
  }
  delegate_->OnResult(id, std::move(result));
}

NativeHost::HeapUsage NativeHost::heap_usage() const {
  HeapUsage usage;
  struct mallinfo2 info = mallinfo2();
  usage.used_bytes = info.uordblks + info.hblkhd;
  usage.limit_bytes = static_cast<uint64_t>(memory_mb_) << 20;
  return usage;
}

}  // namespace flint::runtime
