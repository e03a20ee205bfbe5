// Worker: the flint-worker process. Speaks the worker protocol (sdk/protocol) with flintd over
// one Unix stream socket and hosts one function through a Host (runtime/host/host.h): the JS
// host (V8) or the native host (a C++ function's shared object), chosen by LOAD.runtime.
//
// Sequence: Start() pre-warms (for --runtime js: V8, isolate, context, globals; for cpp:
// nothing), then sends HELLO. LOAD specialises the worker, once, for a function of either
// runtime (a pre-warmed JS worker that receives a "cpp" LOAD drops its isolate and loads the
// shared object instead) -- LOADED, or LOAD_FAILED and exit 1 -- and retitles the process
// "flint-worker NAME@VERSION". INVOKE frames start invocations (several may be pending); each
// ends in one RESULT, and the RESULTs written together are followed by one STATS frame; console
// output goes out as LOG frames tagged with the invocation id. CANCEL abandons an invocation;
// SHUTDOWN or the socket's EOF exits 0. A malformed frame or a message that makes no sense in the
// current state (INVOKE before LOAD, a second LOAD, a duplicate invocation id, a worker-to-flintd
// type) is a protocol violation: the worker logs it to stderr and exits 2. An invocation that
// exhausts the memory budget exits 3 after its RESULT was handed to the kernel.
//
// Exit codes: 0 shutdown/EOF, 1 LOAD failed, 2 protocol violation or start-up failure,
// 3 out of memory.
//
// Thread rules: loop thread only. The loop must outlive the Worker.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/host/host.h"
#include "runtime/worker/process_title.h"
#include "sdk/core/runtime.h"
#include "sdk/core/status.h"
#include "sdk/loop/frame_channel.h"
#include "sdk/loop/uv_handles.h"

namespace flint::runtime {

struct WorkerOptions {
  int fd = 3;                      // the connected socket to flintd (owned by the worker)
  Runtime runtime = Runtime::kV8;  // what HELLO announces and what Start() pre-warms
  ProcessTitle* title = nullptr;   // retitled after LOAD when set
  // Enter the sandbox (runtime/sandbox) at LOAD, before any function code is read.
  bool sandbox = false;
  // flint-native-warmup.so, opened before the sandbox hid its directory; a C++ worker loads it
  // at Start() (runtime/native/warmup.cc) and closes it. -1: none.
  int native_warmup_fd = -1;
};

class Worker final : public loop::FrameChannel::Delegate, public Host::Delegate {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitLoadFailed = 1;
  static constexpr int kExitProtocol = 2;
  static constexpr int kExitOutOfMemory = protocol::kWorkerExitOutOfMemory;

  Worker(uv_loop_t* loop, WorkerOptions options);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Pre-warms and sends HELLO. On failure nothing was sent.
  Status Start();
  // True once the worker decided to exit (it may still be flushing its last frames).
  bool exiting() const { return exiting_; }
  // True once the socket is closed and the loop was asked to stop.
  bool done() const { return done_; }
  int exit_code() const { return exit_code_; }

  // loop::FrameChannel::Delegate
  void OnFrame(const protocol::FrameView& frame) override;
  void OnChannelClosed(const Status& why) override;
  void OnFlush() override;
  // Host::Delegate
  void OnLog(uint64_t invocation_id, protocol::LogLevel level, std::string_view text) override;
  void OnResult(uint64_t invocation_id, protocol::InvokeResult result) override;

 private:
  void HandleLoad(std::string_view payload);
  void HandleInvoke(uint64_t id, std::string_view payload);
  // After any call into the host: exit on out-of-memory, else re-arm the wake-up timer.
  void AfterHostCall();
  void SendStats();
  // Disposes of retired_host_ once the frames queued so far are written.
  void DisposeRetiredHostLater();
  void ProtocolViolation(std::string_view what);
  // Stops serving; closes the socket once queued frames are out, then stops the loop.
  void Exit(int code);
  void Finish();

  uv_loop_t* loop_;
  WorkerOptions options_;
  loop::FrameChannel channel_;
  // The host for `runtime`, pre-warmed (what that means is the host's): JS starts V8 and an
  // isolate; C++ needs nothing.
  static Result<std::unique_ptr<Host>> NewHost(Runtime runtime, Host::Delegate* delegate);

  std::unique_ptr<Host> host_;  // null until LOAD when started with --runtime cpp
  // A pre-warmed JS host replaced by a C++ LOAD. Disposing of its isolate takes milliseconds,
  // so it happens after the first RESULT is written, not inside the cold start.
  std::unique_ptr<Host> retired_host_;
  std::unique_ptr<loop::Timer> retire_timer_;
  std::unique_ptr<loop::Timer> wakeup_;
  int statm_fd_ = -1;
  static constexpr uint64_t kRssIntervalNs = 100'000'000;
  // Longest an answer waits for the answers after it, to leave in one write (FlushIfWaiting).
  static constexpr uint64_t kMaxAnswerWaitNs = 250'000;
  uint64_t rss_read_ns_ = 0;  // uv_hrtime() of the last read of /proc/self/statm
  uint64_t rss_bytes_ = 0;
  bool stats_due_ = false;  // a RESULT went out since the last STATS
  bool exiting_ = false;
  bool done_ = false;
  int exit_code_ = kExitOk;
};

// Runs a worker on its own loop until it exits; returns the process exit code.
int RunWorker(WorkerOptions options);

}  // namespace flint::runtime
