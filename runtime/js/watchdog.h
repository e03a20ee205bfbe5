// Watchdog: stops JavaScript that runs past a deadline, from a helper thread.
//
// The loop thread arms the watchdog before it enters JS and disarms it when JS returns. If the
// deadline passes while armed, the helper thread calls Isolate::TerminateExecution (the one V8
// call that is safe from another thread). Invariant: once Disarm() has returned, the helper
// thread will not terminate execution again until the next Arm(); if it fired, Disarm() also
// cancels the termination so the isolate is usable again.
//
// Thread rules: Arm/Disarm from the isolate's thread only; the helper thread is private.
// The isolate must outlive the Watchdog.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace v8 {
class Isolate;
}

namespace flint::runtime {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Watchdog(v8::Isolate* isolate);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Terminates JS at `deadline` unless disarmed first. Re-arming replaces the deadline.
  void Arm(Clock::time_point deadline);
  // Returns true when the watchdog terminated execution since the last Arm().
  bool Disarm();

 private:
  void Run();

  v8::Isolate* isolate_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;          // guarded by mu_
  bool fired_ = false;          // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  Clock::time_point deadline_;  // guarded by mu_
  // When the helper thread's current sleep ends (max: until notified). Guarded by mu_.
  Clock::time_point sleeping_until_ = Clock::time_point::max();
  std::thread thread_;
};

}  // namespace flint::runtime
