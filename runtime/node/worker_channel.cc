#include "runtime/node/worker_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace flint::runtime::node {

WorkerChannel::WorkerChannel(uv_loop_t* loop, Delegate* delegate)
    : loop_(loop), delegate_(delegate) {}

WorkerChannel::~WorkerChannel() { Close(); }

Status WorkerChannel::Open(int fd) {
  FLINT_CHECK(fd_ < 0);
  int fl = ::fcntl(fd, F_GETFL);
  int fd_flags = ::fcntl(fd, F_GETFD);
  if (fl < 0 || fd_flags < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
      ::fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) {
    return ErrnoStatus("preparing the worker socket", errno);
  }
  poll_ = new uv_poll_t;
  int rc = uv_poll_init_socket(loop_, poll_, fd);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    return Internal(std::string("uv_poll_init_socket: ") + uv_strerror(rc));
  }
  poll_->data = this;
  fd_ = fd;
  UpdatePoll();
  return Status::Ok();
}

void WorkerChannel::Queue(protocol::MessageType type, uint64_t invocation_id,
                          std::string_view payload) {
  if (fd_ < 0) return;
  protocol::AppendFrame(&out_, type, invocation_id, payload);
}

void WorkerChannel::Flush() {
  if (fd_ < 0 || queued_bytes() == 0) return;
  if (!WriteSome()) return;
  UpdatePoll();
}

bool WorkerChannel::WriteSome() {
  while (out_offset_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Fail(Unavailable(std::string("write to flintd failed: ") + std::strerror(errno)));
    return false;
  }
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ > (1u << 20)) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  return true;
}

Status WorkerChannel::FlushBlocking(int timeout_ms) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (fd_ >= 0 && queued_bytes() > 0) {
    if (!WriteSome()) return Unavailable("flintd is gone");
    if (queued_bytes() == 0) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    give_up - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return Unavailable("flintd does not read the worker socket");
    struct pollfd p = {fd_, POLLOUT, 0};
    (void)::poll(&p, 1, static_cast<int>(left));
  }
  return fd_ >= 0 ? Status::Ok() : Unavailable("the worker socket is closed");
}

void WorkerChannel::UpdatePoll() {
  if (fd_ < 0) return;
  int events = UV_READABLE | (queued_bytes() > 0 ? UV_WRITABLE : 0);
  if (events == poll_events_) return;
  poll_events_ = events;
  uv_poll_start(poll_, events, &WorkerChannel::OnPoll);
}

void WorkerChannel::OnPoll(uv_poll_t* handle, int status, int events) noexcept {
  auto* self = static_cast<WorkerChannel*>(handle->data);
  if (self == nullptr) return;
  if (status < 0) {
    self->Fail(Unavailable(std::string("the worker socket failed: ") + uv_strerror(status)));
    return;
  }
  if ((events & UV_WRITABLE) != 0) {
    if (!self->WriteSome()) return;
    self->UpdatePoll();
  }
  if ((events & UV_READABLE) != 0) self->OnReadable();
}

void WorkerChannel::OnReadable() {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      Fail(n == 0 ? Unavailable("flintd closed the connection")
                  : Unavailable(std::string("read failed: ") + std::strerror(errno)));
      return;
    }
    Status fed = decoder_.Feed(buf, static_cast<size_t>(n));
    protocol::FrameView frame;
    // The delegate may close the channel inside OnFrame: re-check after each frame.
    while (fd_ >= 0 && decoder_.Next(&frame)) delegate_->OnFrame(frame);
    if (fd_ < 0) return;
    if (!fed.ok() || decoder_.failed()) {
      Fail(InvalidArgument("malformed frame from flintd: " + decoder_.status().message()));
      return;
    }
    if (static_cast<size_t>(n) < sizeof buf) return;  // drained
  }
}

void WorkerChannel::Fail(Status why) {
  if (fd_ < 0) return;
  Close();
  delegate_->OnChannelClosed(why);
}

void WorkerChannel::Close() {
  if (fd_ < 0) return;
  poll_->data = nullptr;
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
  poll_events_ = 0;
  ::close(fd_);
  fd_ = -1;
  out_.clear();
  out_offset_ = 0;
}

}  // namespace flint::runtime::node
