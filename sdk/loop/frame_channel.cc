#include "sdk/loop/frame_channel.h"

#include <unistd.h>

#include <memory>

namespace flint::loop {

// The libuv handles and the read buffer. Outlive the channel until every close callback ran.
struct FrameChannel::Pipe {
  uv_pipe_t handle;
  uv_prepare_t prepare;  // flushes before the loop blocks (frames sent by timers, pending cbs)
  uv_check_t check;      // flushes right after the I/O callbacks
  FrameChannel* owner;   // null once the channel let go of the pipe
  int open_handles = 0;  // freed when the last close callback ran
  char read_buffer[64 * 1024];
};

struct FrameChannel::WriteReq {
  uv_write_t req;
  Pipe* pipe;
  std::string data;
};

void FrameChannel::OnHandleClosed(uv_handle_t* h) noexcept {
  auto* pipe = static_cast<Pipe*>(h->data);
  if (--pipe->open_handles == 0) delete pipe;
}

FrameChannel::FrameChannel(uv_loop_t* loop, Delegate* delegate)
    : loop_(loop), delegate_(delegate) {}

FrameChannel::~FrameChannel() { ReleasePipe(); }

Status FrameChannel::Open(int fd) {
  FLINT_CHECK(pipe_ == nullptr);
  auto pipe = std::make_unique<Pipe>();
  pipe->owner = this;
  int rc = uv_pipe_init(loop_, &pipe->handle, 0);
  if (rc != 0) {
    ::close(fd);
    return Internal(std::string("uv_pipe_init: ") + uv_strerror(rc));
  }
  pipe->handle.data = pipe.get();
  pipe->prepare.data = pipe.get();
  pipe->check.data = pipe.get();
  FLINT_CHECK(uv_prepare_init(loop_, &pipe->prepare) == 0);
  FLINT_CHECK(uv_check_init(loop_, &pipe->check) == 0);
  pipe->open_handles = 3;
  rc = uv_pipe_open(&pipe->handle, fd);
  if (rc == 0) rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&pipe->handle), OnAlloc, OnRead);
  if (rc != 0) {
    // The handles are initialised, so they must be closed through libuv; the pipe owns fd if
    // opened.
    Pipe* raw = pipe.release();
    raw->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->handle), OnHandleClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->prepare), OnHandleClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->check), OnHandleClosed);
    return Internal(std::string("opening the worker socket: ") + uv_strerror(rc));
  }
  // The flush handles never keep the loop alive on their own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&pipe->prepare));
  uv_unref(reinterpret_cast<uv_handle_t*>(&pipe->check));
  pipe_ = pipe.release();
  return Status::Ok();
}

void FrameChannel::Send(protocol::MessageType type, uint64_t invocation_id,
                        std::string_view payload) {
  if (pipe_ == nullptr) return;
  if (pending_.empty()) first_queued_ns_ = uv_hrtime();
  protocol::AppendFrame(&pending_, type, invocation_id, payload);
  if (!write_in_flight_ && !in_flush_) ArmFlush();
}

void FrameChannel::ArmFlush() {
  if (flush_armed_ || pipe_ == nullptr) return;
  flush_armed_ = true;
  uv_prepare_start(&pipe_->prepare, [](uv_prepare_t* h) noexcept {
    OnLoopPhase(reinterpret_cast<uv_handle_t*>(h));
  });
  uv_check_start(&pipe_->check,
                 [](uv_check_t* h) noexcept { OnLoopPhase(reinterpret_cast<uv_handle_t*>(h)); });
}

void FrameChannel::DisarmFlush() {
  if (!flush_armed_ || pipe_ == nullptr) return;
  flush_armed_ = false;
  uv_prepare_stop(&pipe_->prepare);
  uv_check_stop(&pipe_->check);
}

void FrameChannel::FlushIfWaiting(uint64_t max_wait_ns) {
  if (pending_.empty() || uv_hrtime() - first_queued_ns_ < max_wait_ns) return;
  Flush();
}

void FrameChannel::OnLoopPhase(uv_handle_t* handle) noexcept {
  auto* pipe = static_cast<Pipe*>(handle->data);
  if (pipe->owner != nullptr) pipe->owner->Flush();
}

void FrameChannel::Flush() {
  DisarmFlush();
  if (pipe_ == nullptr || write_in_flight_ || in_flush_) return;
  in_flush_ = true;
  delegate_->OnFlush();  // may add frames (never re-arms: in_flush_)
  in_flush_ = false;
  if (pipe_ == nullptr || pending_.empty()) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&pipe_->handle);
  uv_buf_t buf = uv_buf_init(pending_.data(), static_cast<unsigned>(pending_.size()));
  writes_++;
  int n = uv_try_write(stream, &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    Fail(Unavailable(std::string("write to peer failed: ") + uv_strerror(n)));
    return;
  }
  if (static_cast<size_t>(n) == pending_.size()) {
    pending_.clear();  // keeps the capacity for the next batch
    return;
  }
  // The socket's buffer is full: libuv writes the rest when it drains; frames queued meanwhile
  // wait in pending_ for OnWrite.
  auto* w = new WriteReq;
  w->pipe = pipe_;
  w->data.assign(pending_, static_cast<size_t>(n));
  pending_.clear();
  uv_buf_t rest = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, stream, &rest, 1, OnWrite);
  if (rc != 0) {
    delete w;
    Fail(Internal(std::string("write to worker socket: ") + uv_strerror(rc)));
    return;
  }
  write_in_flight_ = true;
}

void FrameChannel::OnWrite(uv_write_t* req, int status) noexcept {
  std::unique_ptr<WriteReq> w(reinterpret_cast<WriteReq*>(req));
  FrameChannel* self = w->pipe->owner;
  if (self == nullptr) return;
  self->write_in_flight_ = false;
  if (status != 0) {
    self->Fail(Unavailable(std::string("write to peer failed: ") + uv_strerror(status)));
    return;
  }
  if (self->closing_) {
    self->Flush();
    if (!self->write_in_flight_) self->ReleasePipe();
    return;
  }
  if (!self->pending_.empty()) self->ArmFlush();
}

void FrameChannel::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* pipe = static_cast<Pipe*>(handle->data);
  *buf = uv_buf_init(pipe->read_buffer, sizeof(pipe->read_buffer));
}

void FrameChannel::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* pipe = static_cast<Pipe*>(stream->data);
  FrameChannel* self = pipe->owner;
  if (self == nullptr) return;
  if (nread == 0) return;
  if (nread < 0) {
    self->Fail(nread == UV_EOF ? Unavailable("peer closed the connection")
                               : Unavailable(std::string("read failed: ") +
                                             uv_strerror(static_cast<int>(nread))));
    return;
  }
  Status fed = self->decoder_.Feed(buf->base, static_cast<size_t>(nread));
  protocol::FrameView frame;
  // The delegate may close or destroy the channel inside OnFrame: re-check after each frame.
  while (pipe->owner != nullptr && self->decoder_.Next(&frame)) {
    self->delegate_->OnFrame(frame);
  }
  if (pipe->owner == nullptr) return;
  if (!fed.ok() || self->decoder_.failed()) {
    self->Fail(InvalidArgument("malformed frame from peer: " + self->decoder_.status().message()));
  }
}

void FrameChannel::Fail(Status why) {
  if (pipe_ == nullptr) return;
  bool notify = !closing_;
  ReleasePipe();
  if (notify) delegate_->OnChannelClosed(why);
}

void FrameChannel::Close() {
  if (pipe_ == nullptr || closing_) return;
  Flush();
  if (pipe_ != nullptr && write_in_flight_) {
    // Finish handing the queued frames to the kernel (OnWrite), then close; read nothing more.
    closing_ = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_->handle));
    return;
  }
  ReleasePipe();
}

void FrameChannel::ReleasePipe() {
  if (pipe_ == nullptr) return;
  DisarmFlush();
  Pipe* pipe = pipe_;
  pipe_ = nullptr;
  pipe->owner = nullptr;
  write_in_flight_ = false;
  closing_ = false;
  pending_.clear();
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe->handle));
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe->handle), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe->prepare), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe->check), OnHandleClosed);
}

}  // namespace flint::loop
