#include "runtime/node/busy_watchdog.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <v8.h>

#include <cstring>
#include <string>

namespace flint::runtime::node {
namespace {

// The loop's time (uv_now: milliseconds of CLOCK_MONOTONIC, coarse) when its current batch of
// callbacks began. Written by the loop thread; an aligned 64-bit load is atomic here.
uint64_t LoopTimeMs(uv_loop_t* loop) { return __atomic_load_n(&loop->time, __ATOMIC_RELAXED); }

uint64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace

BusyWatchdog::BusyWatchdog(uv_loop_t* loop, v8::Isolate* isolate, std::function<void()> on_fired)
    : loop_(loop), isolate_(isolate), on_fired_(std::move(on_fired)), wake_(new uv_async_t) {
  std::string stat = "/proc/self/task/" + std::to_string(::getpid()) + "/stat";
  stat_fd_ = ::open(stat.c_str(), O_RDONLY | O_CLOEXEC);
  uv_async_init(loop, wake_, [](uv_async_t* handle) noexcept {
    auto* self = static_cast<BusyWatchdog*>(handle->data);
    if (self != nullptr) self->on_fired_();
  });
  wake_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(wake_));
  thread_ = std::thread([this] { Run(); });
}

BusyWatchdog::~BusyWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
  wake_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(wake_),
           [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_async_t*>(h); });
  if (stat_fd_ >= 0) ::close(stat_fd_);
}

bool BusyWatchdog::LoopThreadRunning() {
  // Without /proc, assume running: the deadline is then enforced on whatever runs.
  if (stat_fd_ < 0) return true;
  char buf[512];
  ssize_t n = ::pread(stat_fd_, buf, sizeof buf - 1, 0);
  if (n <= 0) return true;
  buf[n] = '\0';
  // "pid (comm) S ...": the state follows the last ')' (comm may contain anything).
  const char* close = std::strrchr(buf, ')');
  return close == nullptr || close[1] != ' ' || close[2] == 'R';
}

void BusyWatchdog::SetDeadline(Clock::time_point deadline) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    deadline_ = deadline;
    // One wake-up per earlier deadline, not one per invocation.
    wake = deadline < sleeping_until_;
  }
  if (wake) cv_.notify_one();
}

void BusyWatchdog::SetMemoryCheck(std::function<void()> check) {
  std::lock_guard<std::mutex> lock(mu_);
  memory_check_ = std::move(check);
}

void BusyWatchdog::ClearDeadline() {
  std::lock_guard<std::mutex> lock(mu_);
  deadline_.reset();  // the helper thread notices at its next wake-up; no need to wake it
}

void BusyWatchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!deadline_) {
      sleeping_until_ = Clock::time_point::max();
      cv_.wait(lock);
      continue;
    }
    if (memory_check_) memory_check_();
    Clock::time_point now = Clock::now();
    Clock::time_point deadline = *deadline_;
    if (now < deadline) {
      sleeping_until_ = memory_check_ ? std::min(deadline, now + kMemoryPollInterval) : deadline;
      cv_.wait_until(lock, sleeping_until_);
      continue;
    }
    // steady_clock is CLOCK_MONOTONIC, libuv's clock too: compare in milliseconds.
    uint64_t now_ms = NowMs();
    uint64_t deadline_ms =
        now_ms - static_cast<uint64_t>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(now - deadline).count());
    uint64_t batch_ms = LoopTimeMs(loop_);
    uint64_t grace_ms = static_cast<uint64_t>(kLateGrace.count());
    if (LoopThreadRunning() && (batch_ms < deadline_ms || now_ms >= batch_ms + grace_ms)) {
      isolate_->TerminateExecution();
      fired_.store(true);
      uv_async_send(wake_);
    }
    // Look again after a grace period: the loop sets the next deadline once it has reported
    // this one, and a termination takes effect at once in running JS.
    sleeping_until_ = Clock::now() + kLateGrace;
    cv_.wait_until(lock, sleeping_until_);
  }
}

}  // namespace flint::runtime::node
