// FrameChannel: one end of the worker protocol over a Unix stream socket, on a libuv loop.
//
// Reads frames (sdk/protocol/frame.h) and hands each to the Delegate; sends frames, coalescing
// what is queued while a write is in flight into one write, so a burst costs one syscall.
// Loop thread only. The channel owns the socket; destroying the channel closes it (the libuv
// handle is freed after its close callback, so destruction is safe at any time, even from
// inside a Delegate callback).
//
// Delegate contract: OnFrame is called once per complete frame in order; OnChannelClosed is
// called exactly once when the peer closes, a read or write fails, or the stream is malformed,
// and never after the owner called Close() or destroyed the channel.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/core/status.h"
#include "sdk/protocol/frame.h"

namespace flint::loop {

class FrameChannel {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    virtual void OnFrame(const protocol::FrameView& frame) = 0;
    virtual void OnChannelClosed(const Status& why) = 0;
  };

  FrameChannel(uv_loop_t* loop, Delegate* delegate);
  ~FrameChannel();
  FrameChannel(const FrameChannel&) = delete;
  FrameChannel& operator=(const FrameChannel&) = delete;

  // Takes ownership of `fd` (a connected stream socket) and starts reading.
  Status Open(int fd);
  // Queues one frame. A no-op once the channel is closed.
  void Send(protocol::MessageType type, uint64_t invocation_id, std::string_view payload);
  // Stops reading and closes the socket once every queued frame was handed to the kernel.
  // The delegate hears nothing more after Close.
  void Close();

  bool is_open() const { return pipe_ != nullptr; }
  // Bytes queued but not yet written.
  size_t pending_bytes() const { return pending_.size(); }

 private:
  struct Pipe;
  struct WriteReq;
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnWrite(uv_write_t* req, int status) noexcept;
  void Flush();
  void Fail(Status why);
  void ReleasePipe();

  uv_loop_t* loop_;
  Delegate* delegate_;
  Pipe* pipe_ = nullptr;
  protocol::FrameDecoder decoder_;
  std::string pending_;
  bool write_in_flight_ = false;
  bool closing_ = false;  // Close() waits for the write in flight before releasing the pipe
};

}  // namespace flint::loop
