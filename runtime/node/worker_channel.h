// WorkerChannel: the Node.js worker's end of the worker protocol (sdk/protocol), on Node.js's own
// libuv loop.
//
// Reads with a uv_poll on the socket, draining every frame a wake-up brings. Writes go straight
// to the socket (a frame is usually written whole at once, with no request to allocate); what
// does not fit waits for the socket to become writable. Unlike sdk/loop's FrameChannel, every
// queued byte can also be written synchronously (FlushBlocking), which the worker needs on its
// way out: its last RESULT or LOAD_FAILED must reach flintd before the process ends, and a
// process that is exiting runs no more loop turns.
//
// Loop thread only. The channel owns the socket. Delegate contract: OnFrame once per complete
// frame, in order; OnChannelClosed at most once, when the peer closes, I/O fails or the stream
// is malformed, and never after Close().
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/core/status.h"
#include "sdk/protocol/frame.h"

namespace flint::runtime::node {

class WorkerChannel {
 public:
  class Delegate {
   public:
    virtual ~Delegate() = default;
    virtual void OnFrame(const protocol::FrameView& frame) = 0;
    virtual void OnChannelClosed(const Status& why) = 0;
  };

  WorkerChannel(uv_loop_t* loop, Delegate* delegate);
  ~WorkerChannel();
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;

  // Takes ownership of `fd` (a connected stream socket), makes it non-blocking and
  // close-on-exec (no child process of the function inherits it) and starts reading.
  Status Open(int fd);
  // Queues one frame; it is written at the next Flush().
  void Queue(protocol::MessageType type, uint64_t invocation_id, std::string_view payload);
  // Writes what the socket takes now; the rest goes when it is writable.
  void Flush();
  // Writes everything queued, waiting for the socket at most `timeout_ms` in all.
  Status FlushBlocking(int timeout_ms);
  // Stops reading and writing and closes the socket (queued bytes are dropped).
  void Close();

  bool is_open() const { return fd_ >= 0; }
  size_t queued_bytes() const { return out_.size() - out_offset_; }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int events) noexcept;
  void OnReadable();
  // Writes as much as the socket takes without blocking; false on a broken socket.
  bool WriteSome();
  void UpdatePoll();
  void Fail(Status why);

  uv_loop_t* loop_;
  Delegate* delegate_;
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;  // freed by its close callback
  int poll_events_ = 0;
  protocol::FrameDecoder decoder_;
  std::string out_;
  size_t out_offset_ = 0;
};

}  // namespace flint::runtime::node
