#include "runtime/worker/worker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "runtime/api/function_host.h"
#include "runtime/js/out_of_memory.h"
#include "runtime/native/native_host.h"
#include "runtime/sandbox/sandbox.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {

using protocol::MessageType;

Worker::Worker(uv_loop_t* loop, WorkerOptions options)
    : loop_(loop), options_(std::move(options)), channel_(loop, this) {
  statm_fd_ = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
}

Worker::~Worker() {
  channel_.Close();
  wakeup_.reset();
  retire_timer_.reset();
  host_.reset();
  retired_host_.reset();
  if (statm_fd_ >= 0) ::close(statm_fd_);
}

Status Worker::Start() {
  if (options_.sandbox) {
    // Before V8 starts its threads: the worker is unprivileged before it does anything else.
    FLINT_RETURN_IF_ERROR(sandbox::DropPrivileges());
  }
  // A V8 that runs out of memory beyond every limit ends the worker as an out-of-memory exit,
  // which flintd reports as the memory-limit error, rather than as a crash.
  ExitOnFatalOutOfMemory(kExitOutOfMemory);
  switch (options_.runtime) {
    case Runtime::kV8: {
      FLINT_ASSIGN_OR_RETURN(host_, NewHost(Runtime::kV8, this));
      break;
    }
    case Runtime::kCpp:  // nothing to pre-warm but the warm-up object below
      break;
    case Runtime::kNode:  // main.cc execs Node.js instead of running this worker
      return Internal("a Node.js worker is Node.js, not flint-worker's loop");
  }
  if (options_.native_warmup_fd >= 0) {
    if (options_.runtime == Runtime::kCpp) {
      // An optimisation only: a worker that cannot load it still serves.
      (void)NativeHost::WarmUp("/proc/self/fd/" + std::to_string(options_.native_warmup_fd));
    }
    ::close(options_.native_warmup_fd);
    options_.native_warmup_fd = -1;
  }
  wakeup_ = std::make_unique<loop::Timer>(loop_);
  FLINT_RETURN_IF_ERROR(channel_.Open(options_.fd));
  protocol::Hello hello;
  hello.protocol_version = protocol::kProtocolVersion;
  hello.pid = static_cast<uint32_t>(::getpid());
  hello.runtime = std::string(RuntimeName(options_.runtime));
  channel_.Send(MessageType::kHello, 0, hello.Encode());
  return Status::Ok();
}

Result<std::unique_ptr<Host>> Worker::NewHost(Runtime runtime, Host::Delegate* delegate) {
  switch (runtime) {
    case Runtime::kV8: {
      FLINT_ASSIGN_OR_RETURN(std::unique_ptr<FunctionHost> js, FunctionHost::Create(delegate));
      return std::unique_ptr<Host>(std::move(js));
    }
    case Runtime::kCpp:
      return std::unique_ptr<Host>(NativeHost::Create(delegate));
    case Runtime::kNode:
      return Unavailable("Node.js functions run in Node.js workers (flint-worker --runtime node)");
  }
  return Internal("unknown runtime");
}

void Worker::OnFrame(const protocol::FrameView& frame) {
  if (exiting_) return;
  switch (frame.header.type) {
    case MessageType::kLoad:
      HandleLoad(frame.payload);
      // LOADED leaves now: INVOKEs pipelined behind the LOAD may run long.
      channel_.Flush();
      break;
    case MessageType::kInvoke:
      // RESULTs of the INVOKEs before this one in the same read wait for the end of the read
      // (one write for all), but not longer than kMaxAnswerWaitNs: this invocation may be slow.
      channel_.FlushIfWaiting(kMaxAnswerWaitNs);
      HandleInvoke(frame.header.invocation_id, frame.payload);
      break;
    case MessageType::kCancel:
      if (host_ != nullptr && host_->loaded()) host_->Cancel(frame.header.invocation_id);
      break;
    case MessageType::kShutdown:
      Exit(kExitOk);
      return;
    default:
      ProtocolViolation("unexpected message " +
                        std::string(protocol::MessageTypeName(frame.header.type)));
      return;
  }
  AfterHostCall();
}

void Worker::OnChannelClosed(const Status& why) {
  if (exiting_) {
    Finish();
    return;
  }
  if (why.code() == Code::kUnavailable) {
    // flintd went away (EOF) or the socket broke: nothing left to serve.
    Exit(kExitOk);
    return;
  }
  ProtocolViolation(why.message());
}

void Worker::HandleLoad(std::string_view payload) {
  Result<protocol::LoadRequest> request = protocol::LoadRequest::Decode(payload);
  if (!request.ok()) return ProtocolViolation("bad LOAD: " + request.status().message());
  if (host_ != nullptr && host_->loaded()) return ProtocolViolation("a second LOAD");
  auto fail = [this](std::string message) {
    protocol::LoadFailed failed;
    failed.message = std::move(message);
    channel_.Send(MessageType::kLoadFailed, 0, failed.Encode());
    Exit(kExitLoadFailed);
  };
  // A generic worker serves a function of any runtime: LOAD names it.
  std::optional<Runtime> runtime = ParseRuntime(request->runtime);
  if (!runtime) {
    return fail("unsupported runtime '" + request->runtime + "' (supported: " + RuntimeNames(", ") +
                ")");
  }
  if (host_ == nullptr || host_->runtime() != *runtime) {
    switch (*runtime) {
      case Runtime::kCpp:
        // Replaces a pre-warmed JS host: its isolate would only take memory from the function.
        retired_host_ = std::move(host_);  // disposed of after the first RESULT (OnResult)
        break;
      case Runtime::kV8:
      case Runtime::kNode:
        host_.reset();
        break;
    }
    Result<std::unique_ptr<Host>> host = NewHost(*runtime, this);
    if (!host.ok()) {
      return fail("cannot start the " + std::string(RuntimeLanguage(*runtime)) +
                  " runtime: " + host.status().message());
    }
    host_ = std::move(*host);
  }
  std::string label = request->function_name + "@" + std::to_string(request->function_version);
  if (options_.sandbox) {
    if (Status entered = sandbox::Enter(request->code_dir); !entered.ok()) {
      return fail("cannot enter the sandbox: " + entered.message());
    }
  }
  Result<uint64_t> loaded = host_->Load(*request);
  if (!loaded.ok()) return fail(loaded.status().message());
  protocol::Loaded reply;
  reply.init_duration_us = *loaded;
  channel_.Send(MessageType::kLoaded, 0, reply.Encode());
  if (options_.title != nullptr) options_.title->Set("flint-worker " + label, label);
  SendStats();
}

void Worker::HandleInvoke(uint64_t id, std::string_view payload) {
  if (host_ == nullptr || !host_->loaded()) return ProtocolViolation("INVOKE before LOAD");
  if (id == 0) return ProtocolViolation("INVOKE with invocation id 0");
  if (host_->is_pending(id)) {
    return ProtocolViolation("INVOKE " + std::to_string(id) + " while it is still pending");
  }
  Result<protocol::InvokeRequest> request = protocol::InvokeRequest::Decode(payload);
  if (!request.ok()) return ProtocolViolation("bad INVOKE: " + request.status().message());
  host_->Invoke(id, *request);
}

void Worker::AfterHostCall() {
  if (exiting_ || host_ == nullptr) return;
  if (host_->out_of_memory()) {
    Exit(kExitOutOfMemory);
    return;
  }
  std::optional<uint64_t> wait_ms = host_->NextWakeupMs();
  if (!wait_ms) {
    wakeup_->Stop();
    return;
  }
  uv_update_time(loop_);
  wakeup_->Start(*wait_ms, 0, [this] {
    if (exiting_) return;
    host_->RunDue();
    AfterHostCall();
  });
}

void Worker::OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) {
  protocol::LogLine line;
  line.level = level;
  line.text = std::string(text);
  channel_.Send(MessageType::kLog, invocation_id, line.Encode());
}

void Worker::OnResult(uint64_t invocation_id, protocol::InvokeResult result) {
  // Out of memory: the worker exits once this is written (AfterHostCall).
  if (host_->out_of_memory()) result.worker_exiting = true;
  channel_.Send(MessageType::kResult, invocation_id, result.Encode());
  // One STATS follows the RESULTs of a batch (OnFlush), not each of them.
  if (!host_->out_of_memory()) stats_due_ = true;
  if (retired_host_ != nullptr) DisposeRetiredHostLater();
}

void Worker::OnFlush() {
  if (!stats_due_) return;
  stats_due_ = false;
  if (host_ != nullptr && !host_->out_of_memory()) SendStats();
}

void Worker::DisposeRetiredHostLater() {
  // Disposing of the isolate takes half a millisecond or more. A RESULT queued behind a write
  // in flight goes out only on the loop's next turn, which the disposal would hold up: wait
  // until the channel has handed everything to the kernel (checked every millisecond).
  if (retire_timer_ != nullptr) return;
  retire_timer_ = std::make_unique<loop::Timer>(loop_);
  retire_timer_->Start(1, 1, [this] {
    if (channel_.is_open() && channel_.pending_bytes() > 0) return;
    retire_timer_->Stop();
    retired_host_.reset();
  });
}

void Worker::SendStats() {
  protocol::Stats stats;
  if (host_ != nullptr) {
    Host::HeapUsage heap = host_->heap_usage();
    stats.heap_used_bytes = heap.used_bytes;
    stats.heap_limit_bytes = heap.limit_bytes;
  }
  // The resident set from /proc (a file read and a parse) at most every kRssIntervalNs: the
  // heap figure above is the one flintd meters.
  uint64_t now = uv_hrtime();
  if (statm_fd_ >= 0 && (rss_read_ns_ == 0 || now - rss_read_ns_ >= kRssIntervalNs)) {
    rss_read_ns_ = now;
    char buf[128];
    ssize_t n = ::pread(statm_fd_, buf, sizeof(buf) - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      unsigned long long size_pages = 0;
      unsigned long long resident_pages = 0;
      if (std::sscanf(buf, "%llu %llu", &size_pages, &resident_pages) == 2) {
        rss_bytes_ = resident_pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
      }
    }
  }
  stats.rss_bytes = rss_bytes_;
  channel_.Send(MessageType::kStats, 0, stats.Encode());
}

void Worker::ProtocolViolation(std::string_view what) {
  std::fprintf(stderr, "flint-worker[%d]: protocol violation: %.*s\n", static_cast<int>(::getpid()),
               static_cast<int>(what.size()), what.data());
  Exit(kExitProtocol);
}

void Worker::Exit(int code) {
  if (exiting_) return;
  exiting_ = true;
  exit_code_ = code;
  if (wakeup_ != nullptr) wakeup_->Stop();
  // FrameChannel::Close() drops frames still queued behind a write in flight, and the last
  // RESULT or LOAD_FAILED must reach flintd: close only once the queue was handed to libuv
  // (whose write is attempted at once), checking every millisecond, for at most a second.
  if (channel_.pending_bytes() == 0 || !channel_.is_open() || wakeup_ == nullptr) {
    Finish();
    return;
  }
  auto give_up = uv_now(loop_) + 1000;
  wakeup_->Start(1, 1, [this, give_up] {
    if (channel_.pending_bytes() == 0 || !channel_.is_open() || uv_now(loop_) >= give_up) {
      Finish();
    }
  });
}

void Worker::Finish() {
  if (done_) return;
  done_ = true;
  if (wakeup_ != nullptr) wakeup_->Stop();
  channel_.Close();
  uv_stop(loop_);
}

int RunWorker(WorkerOptions options) {
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) {
    std::fprintf(stderr, "flint-worker: cannot create the event loop\n");
    return Worker::kExitProtocol;
  }
  int code;
  {
    Worker worker(&loop, std::move(options));
    Status started = worker.Start();
    if (!started.ok()) {
      std::fprintf(stderr, "flint-worker: start-up failed: %s\n", started.ToString().c_str());
      code = Worker::kExitProtocol;
    } else {
      while (!worker.done() && uv_run(&loop, UV_RUN_DEFAULT) != 0) {
      }
      code = worker.exiting() ? worker.exit_code() : Worker::kExitOk;
    }
  }
  // Let the close callbacks of the worker's handles run, then release the loop.
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
  return code;
}

}  // namespace flint::runtime
