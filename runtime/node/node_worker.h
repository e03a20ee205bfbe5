// NodeWorker: the worker protocol's side of a Node.js worker, in C++ inside Node.js (the Flint
// addon, flint_node.node). Flint's bootstrap (runtime/node/js/) does what needs Node.js -- load
// the function, call its handler, console, timers -- and this class does the rest, as the
// lean runtime's Worker does: frames on the inherited socket (sdk/protocol, compiled in), the
// sandbox's one request for the code, deadlines and the watchdog, the memory budget, the
// Lambda event and result (runtime/api's, compiled in: both runtimes agree by construction),
// and STATS.
//
// Sequence: Start() sends HELLO{runtime "node"} once the bootstrap has pre-warmed. LOAD asks
// PID 1 for the code (sandboxed), sets the memory budget and calls the bootstrap's `load`;
// it answers Loaded() or LoadFailed() (then the process exits 1). Each INVOKE starts an
// invocation (several may be pending): the bootstrap's `invoke` gets the Lambda event, or for a
// Web-standard (fetch) function the request's parts, and ends it with one Finish*() call, which
// sends RESULT and STATS. An invocation past its deadline is reported as a timeout here, and
// the bootstrap's `expire` drops what it left behind (timers); CANCEL does the same without a
// RESULT. STATS follows a RESULT at most every kStatsIntervalMs (reading them costs more than a
// small invocation's own work), and always follows LOADED. SHUTDOWN or the socket's EOF exits 0, a
// protocol violation exits 2, an exhausted memory budget exits 3 after every pending RESULT was
// written.
//
// Async contract: every INVOKE ends in exactly one RESULT unless CANCEL comes first; a Finish*
// for an invocation that already ended (timed out, cancelled) is ignored.
//
// Thread rules: the Node.js main thread (the loop thread) only; one worker per process, which
// lives until the process exits.
#pragma once

#include <uv.h>
#include <v8.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/api/lambda_result.h"
#include "runtime/node/busy_watchdog.h"
#include "runtime/node/heap_guard.h"
#include "runtime/node/worker_channel.h"
#include "sdk/core/status.h"
#include "sdk/loop/uv_handles.h"
#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime::node {

struct NodeWorkerOptions {
  int fd = 3;                // the connected socket to flintd
  int code_request_fd = -1;  // the socket to the sandbox's PID 1, -1 without a sandbox
  std::string code_root;     // the code store LOAD may take code from (with a sandbox)
};

class NodeWorker final : public WorkerChannel::Delegate {
 public:
  static constexpr int kExitOk = 0;
  static constexpr int kExitLoadFailed = 1;
  static constexpr int kExitProtocol = 2;
  static constexpr int kExitOutOfMemory = protocol::kWorkerExitOutOfMemory;
  static constexpr int kStatsIntervalMs = 100;

  // What the bootstrap found at LOAD.
  enum class Shape { kLambda, kFetch };

  // Creates the process's worker and sends HELLO. `callbacks` holds the bootstrap's functions
  // load(request), invoke(id, kind, payload, requestId, timeoutMs), expire(id) and cancel(id).
  static Result<NodeWorker*> Start(v8::Isolate* isolate, v8::Local<v8::Context> context,
                                   v8::Local<v8::Object> callbacks, NodeWorkerOptions options);
  // The process's worker; null before Start.
  static NodeWorker* Get();

  // --- from the bootstrap (each needs a HandleScope and the entered context) ---
  // The file LOAD's entry resolved to (relative to the code), named in load errors.
  void SetEntryFile(std::string file) { entry_file_ = std::move(file); }
  void Loaded(Shape shape);
  void LoadFailed(std::string message);
  // A Lambda-shaped result, mapped as Lambda function URLs do (runtime/api/lambda_result.h).
  void FinishValue(uint64_t id, v8::Local<v8::Value> value);
  // A Web-standard Response, already read.
  void FinishResponse(uint64_t id, uint16_t status, std::vector<protocol::Header> headers,
                      std::string body);
  // What the handler threw or rejected with; its stack is logged.
  void FinishException(uint64_t id, v8::Local<v8::Value> exception);
  void FinishError(uint64_t id, uint16_t status, std::string type, std::string message);
  void Log(uint64_t id, protocol::LogLevel level, std::string text);
  // Sends the function's code cache (at most once per worker; see protocol::CodeCache).
  void SendCodeCache(protocol::CodeCache cache);
  // The function called process.exit(code): fail what is pending and write it out now.
  void ProcessExiting(int code);
  bool loaded() const { return state_ == State::kLoaded; }

  // WorkerChannel::Delegate
  void OnFrame(const protocol::FrameView& frame) override;
  void OnChannelClosed(const Status& why) override;

 private:
  using Clock = std::chrono::steady_clock;
  enum class State { kIdle, kLoading, kLoaded };
  struct Invocation {
    Clock::time_point start;
    Clock::time_point deadline;
    uint32_t timeout_ms = 0;
    uint64_t cpu_start_ns = 0;
  };

  NodeWorker(v8::Isolate* isolate, v8::Local<v8::Context> context, v8::Local<v8::Object> callbacks,
             NodeWorkerOptions options);
  Status Open();
  void HandleLoad(std::string_view payload);
  void HandleInvoke(uint64_t id, std::string_view payload);
  void HandleCancel(uint64_t id);
  // The arguments for the bootstrap's invoke(), or a RESULT sent here (an invalid event).
  bool BuildInvokePayload(uint64_t id, const protocol::InvokeRequest& request,
                          v8::Local<v8::Value>* payload);
  // Calls the bootstrap's callback `name` as Node.js calls into JS from libuv (ticks and
  // microtasks run after it).
  void CallBootstrap(const char* name, int argc, v8::Local<v8::Value>* argv);
  void Finish(uint64_t id, protocol::InvokeResult result);
  // Ends every pending invocation with a 500 that tells flintd this worker is exiting.
  void FailAllPending(protocol::Outcome outcome, const char* type, const std::string& message);
  void Expire(uint64_t id);
  void ExpireDue();
  void OnWatchdogFired();
  void OnHeapExhausted();
  // Re-arms the deadline timer and the watchdog for the earliest pending deadline.
  void Rearm();
  void QueueStats();
  void ProtocolViolation(std::string_view what);
  [[noreturn]] void Exit(int code);

  v8::Isolate* isolate_;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Object> callbacks_;
  std::optional<ResultKeys> result_keys_;  // made at the first result, on the loop thread
  NodeWorkerOptions options_;
  uv_loop_t* loop_;
  WorkerChannel channel_;
  std::unique_ptr<BusyWatchdog> watchdog_;
  std::unique_ptr<HeapGuard> heap_;
  std::unique_ptr<loop::Timer> deadline_timer_;
  State state_ = State::kIdle;
  Shape shape_ = Shape::kLambda;
  protocol::LoadRequest function_;
  std::string entry_file_;  // what load errors name: the entry's file once resolved
  Clock::time_point load_start_;
  Clock::time_point load_deadline_;
  std::map<uint64_t, Invocation> pending_;
  int statm_fd_ = -1;
  Clock::time_point last_stats_;  // when the last STATS went out after a RESULT
  bool code_cache_sent_ = false;
};

// What HELLO says of this runtime: "node 22.23.5, V8 12.4.254.21-node.57".
std::string RuntimeVersion();

}  // namespace flint::runtime::node
