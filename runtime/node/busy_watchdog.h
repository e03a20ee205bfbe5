// BusyWatchdog: stops JavaScript that holds Node.js's event loop past an invocation's deadline.
//
// In Node.js, JavaScript runs from many entry points (the handler's call, timers, promise
// continuations, I/O callbacks), so the watchdog is not armed around each call as the lean
// runtime's is. It watches the loop thread instead. The loop tells it the earliest pending
// deadline; when that has passed, the watchdog looks at the loop thread: running (state R in
// /proc/self/task/PID/stat, not waiting for I/O or sleeping in a system call) with work that
// began before the deadline -- libuv stamps the loop's time when each batch of callbacks starts
// (uv_now) -- or that has run for kLateGrace since, it calls Isolate::TerminateExecution (the
// one V8 call allowed from another thread) and wakes the loop. A loop waiting for I/O is never
// terminated: its deadline timer reports the timeout. Code blocked in a system call (a
// synchronous child process) is not stopped here; flintd ends the worker after its grace.
//
// Node.js survives a termination anywhere if started with --no-force-async-hooks-checks and
// --experimental-async-context-frame (flint-worker passes both): an interrupted callback then
// leaves only an unmatched async-id entry behind, which Node.js tolerates.
//
// Thread rules: constructor, destructor, SetDeadline, ClearDeadline, TakeFired on the loop
// thread; the helper thread is private. The isolate and loop outlive the watchdog.
#pragma once

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace v8 {
class Isolate;
}

namespace flint::runtime::node {

class BusyWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  // Work that began after the deadline (the loop had no turn to report the timeout yet) gets
  // this long before it is stopped.
  static constexpr std::chrono::milliseconds kLateGrace{10};

  // `on_fired` runs on the loop thread (through a uv_async) after each termination.
  BusyWatchdog(uv_loop_t* loop, v8::Isolate* isolate, std::function<void()> on_fired);
  ~BusyWatchdog();
  BusyWatchdog(const BusyWatchdog&) = delete;
  BusyWatchdog& operator=(const BusyWatchdog&) = delete;

  // The earliest deadline of the work pending now; replaces the previous one.
  void SetDeadline(Clock::time_point deadline);
  void ClearDeadline();
  // True once if the watchdog terminated execution since the last call.
  bool TakeFired() { return fired_.exchange(false); }
  // `check` runs on the watchdog's thread every kMemoryPollInterval while a deadline is set
  // (work is pending); it must be thread-safe. Set before the first SetDeadline.
  static constexpr std::chrono::milliseconds kMemoryPollInterval{10};
  void SetMemoryCheck(std::function<void()> check);

 private:
  // True when the loop thread is running or runnable (not blocked in the kernel).
  bool LoopThreadRunning();
  void Run();

  uv_loop_t* loop_;
  v8::Isolate* isolate_;
  std::function<void()> on_fired_;
  std::function<void()> memory_check_;  // guarded by mu_
  uv_async_t* wake_;                    // freed by its close callback
  int stat_fd_ = -1;                    // /proc/self/task/<loop thread>/stat
  std::atomic<bool> fired_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Clock::time_point> deadline_;  // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  // When the helper thread's current wait ends (max: until notified). Guarded by mu_: a later
  // deadline need not wake it, it looks again when this wait ends.
  Clock::time_point sleeping_until_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace flint::runtime::node
