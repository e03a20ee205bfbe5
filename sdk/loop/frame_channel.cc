#include "sdk/loop/frame_channel.h"

#include <unistd.h>

#include <memory>

namespace flint::loop {

// The libuv handle and read buffer. Outlives the channel until uv_close's callback runs.
struct FrameChannel::Pipe {
  uv_pipe_t handle;
  FrameChannel* owner;  // null once the channel let go of the pipe
  char read_buffer[64 * 1024];
};

struct FrameChannel::WriteReq {
  uv_write_t req;
  Pipe* pipe;
  std::string data;
};

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
  rc = uv_pipe_open(&pipe->handle, fd);
  if (rc == 0) rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&pipe->handle), OnAlloc, OnRead);
  if (rc != 0) {
    // The handle is initialised, so it must be closed through libuv; it owns fd if opened.
    Pipe* raw = pipe.release();
    raw->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&raw->handle),
             [](uv_handle_t* h) noexcept { delete static_cast<Pipe*>(h->data); });
    return Internal(std::string("opening the worker socket: ") + uv_strerror(rc));
  }
  pipe_ = pipe.release();
  return Status::Ok();
}

void FrameChannel::Send(protocol::MessageType type, uint64_t invocation_id,
                        std::string_view payload) {
  if (pipe_ == nullptr) return;
  protocol::AppendFrame(&pending_, type, invocation_id, payload);
  if (!write_in_flight_) Flush();
}

void FrameChannel::Flush() {
  if (pipe_ == nullptr || pending_.empty()) return;
  auto* w = new WriteReq;
  w->pipe = pipe_;
  w->data.swap(pending_);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&pipe_->handle), &buf, 1, OnWrite);
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
  self->Flush();
  if (self->closing_ && !self->write_in_flight_) self->ReleasePipe();
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
  if (!pending_.empty() && !write_in_flight_) Flush();
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
  Pipe* pipe = pipe_;
  pipe_ = nullptr;
  pipe->owner = nullptr;
  write_in_flight_ = false;
  closing_ = false;
  pending_.clear();
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe->handle));
  uv_close(reinterpret_cast<uv_handle_t*>(&pipe->handle),
           [](uv_handle_t* h) noexcept { delete static_cast<Pipe*>(h->data); });
}

}  // namespace flint::loop
