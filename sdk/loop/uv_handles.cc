#include "sdk/loop/uv_handles.h"

#include <memory>
#include <string>

namespace flint::loop {
namespace {

template <typename Block>
void CloseBlock(Block* block) {
  uv_close(reinterpret_cast<uv_handle_t*>(&block->handle),
           [](uv_handle_t* h) noexcept { delete static_cast<Block*>(h->data); });
}

}  // namespace

struct Timer::Block {
  uv_timer_t handle;
  std::function<void()> callback;
};

Timer::Timer(uv_loop_t* loop) : block_(new Block) {
  FLINT_CHECK(uv_timer_init(loop, &block_->handle) == 0);
  block_->handle.data = block_;
}

Timer::~Timer() { CloseBlock(block_); }

void Timer::Start(uint64_t timeout_ms, uint64_t repeat_ms, std::function<void()> callback) {
  block_->callback = std::move(callback);
  uv_timer_start(
      &block_->handle,
      [](uv_timer_t* h) noexcept {
        auto* block = static_cast<Block*>(h->data);
        // Copy: the callback may re-arm or destroy the timer that owns it.
        auto callback = block->callback;
        if (callback) callback();
      },
      timeout_ms, repeat_ms);
}

void Timer::Stop() { uv_timer_stop(&block_->handle); }
void Timer::Unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&block_->handle)); }

struct Poll::Block {
  uv_poll_t handle;
  std::function<void()> callback;
};

Poll::Poll(uv_loop_t* loop, int fd) : block_(new Block) {
  FLINT_CHECK(uv_poll_init(loop, &block_->handle, fd) == 0);
  block_->handle.data = block_;
}

Poll::~Poll() { CloseBlock(block_); }

Status Poll::StartReadable(std::function<void()> callback) {
  block_->callback = std::move(callback);
  int rc = uv_poll_start(&block_->handle, UV_READABLE, [](uv_poll_t* h, int, int) noexcept {
    auto callback = static_cast<Block*>(h->data)->callback;
    if (callback) callback();
  });
  if (rc != 0) return Internal(std::string("uv_poll_start: ") + uv_strerror(rc));
  return Status::Ok();
}

void Poll::Stop() { uv_poll_stop(&block_->handle); }

struct Async::Block {
  uv_async_t handle;
  std::function<void()> callback;
};

Async::Async(uv_loop_t* loop, std::function<void()> callback) : block_(new Block) {
  block_->callback = std::move(callback);
  FLINT_CHECK(uv_async_init(loop, &block_->handle, [](uv_async_t* h) noexcept {
                auto callback = static_cast<Block*>(h->data)->callback;
                if (callback) callback();
              }) == 0);
  block_->handle.data = block_;
  uv_unref(reinterpret_cast<uv_handle_t*>(&block_->handle));
}

Async::~Async() { CloseBlock(block_); }

void Async::Send() { uv_async_send(&block_->handle); }

struct Signal::Block {
  uv_signal_t handle;
  std::function<void()> callback;
};

Signal::Signal(uv_loop_t* loop) : block_(new Block) {
  FLINT_CHECK(uv_signal_init(loop, &block_->handle) == 0);
  block_->handle.data = block_;
}

Signal::~Signal() { CloseBlock(block_); }

Status Signal::Start(int signum, std::function<void()> callback) {
  block_->callback = std::move(callback);
  int rc = uv_signal_start(
      &block_->handle,
      [](uv_signal_t* h, int) noexcept {
        auto callback = static_cast<Block*>(h->data)->callback;
        if (callback) callback();
      },
      signum);
  if (rc != 0) return Internal(std::string("uv_signal_start: ") + uv_strerror(rc));
  return Status::Ok();
}

void Signal::Unref() { uv_unref(reinterpret_cast<uv_handle_t*>(&block_->handle)); }

namespace {
struct BlockingWork {
  uv_work_t req;
  std::function<void()> work;
  std::function<void()> done;
};
}  // namespace

void RunBlocking(uv_loop_t* loop, std::function<void()> work, std::function<void()> done) {
  auto* w = new BlockingWork{{}, std::move(work), std::move(done)};
  w->req.data = w;
  int rc = uv_queue_work(
      loop, &w->req, [](uv_work_t* req) noexcept { static_cast<BlockingWork*>(req->data)->work(); },
      [](uv_work_t* req, int) noexcept {
        std::unique_ptr<BlockingWork> w(static_cast<BlockingWork*>(req->data));
        if (w->done) w->done();
      });
  FLINT_CHECK(rc == 0);
}

}  // namespace flint::loop
