// RAII owners for the libuv handles flintd and the worker use, and RunBlocking.
//
// libuv frees a handle only after uv_close's callback, so each owner keeps the handle and its
// callback in a heap block that the close callback deletes: destroying the owner is safe at
// any time, including from inside the handle's own callback. Callbacks are noexcept
// trampolines; a std::function that throws terminates the process, by design (a bug).
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "sdk/core/status.h"

namespace flint::loop {

class Timer {
 public:
  explicit Timer(uv_loop_t* loop);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer: `callback` runs after `timeout_ms`, then every `repeat_ms` if non-zero.
  void Start(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> callback);
  void Stop();
  // Lets the loop exit while only this timer is armed.
  void Unref();

 private:
  struct Block;
  Block* block_;
};

// Watches a descriptor for readability (used for pidfds).
class Poll {
 public:
  Poll(uv_loop_t* loop, int fd);
  ~Poll();
  Poll(const Poll&) = delete;
  Poll& operator=(const Poll&) = delete;
  // `callback` runs each time the descriptor is readable (or in error).
  Status StartReadable(std::function<void()> callback);
  void Stop();

 private:
  struct Block;
  Block* block_;
};

class Signal {
 public:
  explicit Signal(uv_loop_t* loop);
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;
  Status Start(int signum, std::function<void()> callback);
  void Unref();

 private:
  struct Block;
  Block* block_;
};

// Wakes the loop from another thread: `callback` runs on the loop thread after Send (several
// Sends before it runs may give one call). Send is the one call of this file that any thread
// may make; construct and destroy on the loop thread. Does not keep the loop alive.
class Async {
 public:
  Async(uv_loop_t* loop, std::function<void()> callback);
  ~Async();
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;
  void Send();

 private:
  struct Block;
  Block* block_;
};

// Runs `work` on libuv's thread pool, then `done` on the loop thread. `work` must not touch
// loop-thread state; share results through captured shared_ptrs.
void RunBlocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> done);

}  // namespace flint::loop
