// FrameChannel: one end of the worker protocol over a Unix stream socket, on a libuv loop.
//
// Reads frames (sdk/protocol/frame.h) and hands each to the Delegate, every frame a read
// brought before it returns to the loop. Sends are batched per loop iteration: a frame queued
// at any point of an iteration is written before the loop next waits for events, in one write
// with every other frame queued for the same peer meanwhile (a uv_check handle flushes after
// the I/O callbacks, a uv_prepare handle before the loop blocks). So the RESULTs of every
// INVOKE one read brought, or the INVOKEs of every request the HTTP reads of one iteration
// brought, leave in one write: one syscall, and one wake-up of the peer. A write that the
// socket cannot take whole leaves the rest to libuv; what is queued meanwhile follows it in the
// next write.
// Loop thread only. The channel owns the socket; destroying the channel closes it (the libuv
// handles are freed after their close callbacks, so destruction is safe at any time, even from
// inside a Delegate callback).
//
// Delegate contract: OnFrame is called once per complete frame in order; OnFlush just before
// queued frames are written (frames it sends join the same write); OnChannelClosed is called
// exactly once when the peer closes, a read or write fails, or the stream is malformed, and
// never after the owner called Close() or destroyed the channel.
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
    // Queued frames are about to be written; frames sent now join them.
    virtual void OnFlush() {}
  };

  FrameChannel(uv_loop_t* loop, Delegate* delegate);
  ~FrameChannel();
  FrameChannel(const FrameChannel&) = delete;
  FrameChannel& operator=(const FrameChannel&) = delete;

  // Takes ownership of `fd` (a connected stream socket) and starts reading.
  Status Open(int fd);
  // Queues one frame, written before the loop next waits (see above). A no-op once the channel
  // is closed.
  void Send(protocol::MessageType type, uint64_t invocation_id, std::string_view payload);
  // Writes what is queued now instead of at the end of the loop iteration.
  void Flush();
  // Flushes if the oldest queued frame has waited `max_wait_ns` or more: for a caller about to
  // run work of unknown length (a worker starting an invocation after answering others), so
  // that answers do not wait for it.
  void FlushIfWaiting(uint64_t max_wait_ns);
  // Stops reading and closes the socket once every queued frame was handed to the kernel.
  // The delegate hears nothing more after Close.
  void Close();

  bool is_open() const { return pipe_ != nullptr; }
  // Bytes queued and not yet written (a write libuv still holds is no longer counted).
  size_t pending_bytes() const { return pending_.size(); }
  // Writes made so far (each carrying one or more frames), for tests and benchmarks.
  uint64_t writes() const { return writes_; }

 private:
  struct Pipe;
  struct WriteReq;
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void OnWrite(uv_write_t* req, int status) noexcept;
  static void OnLoopPhase(uv_handle_t* handle) noexcept;
  static void OnHandleClosed(uv_handle_t* handle) noexcept;
  // Starts the prepare and check handles that flush before the loop next waits.
  void ArmFlush();
  void DisarmFlush();
  void Fail(Status why);
  void ReleasePipe();

  uv_loop_t* loop_;
  Delegate* delegate_;
  Pipe* pipe_ = nullptr;
  protocol::FrameDecoder decoder_;
  std::string pending_;  // queued frames (keeps its capacity between writes)
  bool write_in_flight_ = false;
  bool flush_armed_ = false;
  uint64_t first_queued_ns_ = 0;  // uv_hrtime() when pending_ last became non-empty
  bool in_flush_ = false;
  uint64_t writes_ = 0;
  bool closing_ = false;  // Close() waits for the write in flight before releasing the pipe
};

}  // namespace flint::loop
