#include "runtime/js/watchdog.h"

#include <v8.h>

namespace flint::runtime {

Watchdog::Watchdog(v8::Isolate* isolate) : isolate_(isolate), thread_([this] { Run(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Watchdog::Arm(Clock::time_point deadline) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
    fired_ = false;
    deadline_ = deadline;
    // The thread re-checks when its current sleep ends; wake it only if that is too late. With
    // a steady stream of invocations this keeps the thread asleep: one wake-up per timeout
    // period instead of one per invocation.
    wake = deadline < sleeping_until_;
  }
  if (wake) cv_.notify_one();
}

bool Watchdog::Disarm() {
  bool fired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
    fired = fired_;
    fired_ = false;
  }
  // A termination requested after JS already returned would otherwise hit the next entry.
  if (fired) isolate_->CancelTerminateExecution();
  return fired;
}

void Watchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    Clock::time_point now = Clock::now();
    if (armed_ && now >= deadline_) {
      // Under the lock, so Disarm() cannot return between the check and the termination.
      isolate_->TerminateExecution();
      fired_ = true;
      armed_ = false;
      continue;
    }
    // Armed: sleep until the deadline. Disarmed: finish the sleep already begun (the next Arm
    // most likely comes before it ends), then sleep until notified.
    if (armed_) {
      sleeping_until_ = deadline_;
    } else if (sleeping_until_ <= now) {
      sleeping_until_ = Clock::time_point::max();
    }
    if (sleeping_until_ == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, sleeping_until_);
    }
  }
}

}  // namespace flint::runtime
