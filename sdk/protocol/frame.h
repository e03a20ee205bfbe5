// The worker wire protocol: the one definition shared by flintd and flint-worker.
//
// flintd and a worker talk over one Unix stream socketpair in frames. Every frame is a fixed
// 16-byte header followed by `payload_length` bytes of payload. All integers are little-endian.
//
//   offset  size  field
//   0       4     payload_length   (<= kMaxPayloadLength)
//   4       2     type             (a MessageType)
//   6       2     flags            (must be 0 in version 1)
//   8       8     invocation_id    (0 when the frame belongs to no invocation)
//   16      ...   payload          (layout per type: see messages.h)
//
// The worker speaks first with HELLO carrying kProtocolVersion; flintd closes a worker whose
// version differs. FrameDecoder rejects every malformed header (unknown type, non-zero flags,
// oversized length) with a Status and never crashes, whatever bytes it is fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/core/status.h"

namespace flint::protocol {

// 2: HELLO carries the runtime's version, LOAD a code cache, RESULT whether the worker exits,
// and CODE_CACHE exists.
inline constexpr uint32_t kProtocolVersion = 2;
// flint-worker's exit code after its function ran out of memory: flintd answers what the
// worker was running with the memory-limit error (runtime/README.md lists every exit code).
inline constexpr int kWorkerExitOutOfMemory = 3;
inline constexpr size_t kFrameHeaderSize = 16;
// Large enough for a 6 MiB request body plus its metadata, small enough to bound memory.
inline constexpr uint32_t kMaxPayloadLength = 32u << 20;

enum class MessageType : uint16_t {
  kHello = 1,       // worker -> flintd: Hello
  kLoad = 2,        // flintd -> worker: LoadRequest
  kLoaded = 3,      // worker -> flintd: Loaded
  kLoadFailed = 4,  // worker -> flintd: LoadFailed
  kInvoke = 5,      // flintd -> worker: InvokeRequest (invocation_id set)
  kResult = 6,      // worker -> flintd: InvokeResult (invocation_id set)
  kLog = 7,         // worker -> flintd: LogLine (invocation_id set when inside one)
  kCancel = 8,      // flintd -> worker: no payload; abandon invocation_id
  kShutdown = 9,    // flintd -> worker: no payload; finish and exit
  kStats = 10,      // worker -> flintd: Stats
  kCodeCache = 11,  // worker -> flintd: CodeCache, at most once, after its first invocation
};
inline constexpr uint16_t kMaxMessageType = 11;

std::string_view MessageTypeName(MessageType type);

struct FrameHeader {
  uint32_t payload_length = 0;
  MessageType type = MessageType::kHello;
  uint16_t flags = 0;
  uint64_t invocation_id = 0;
};

// A decoded frame. `payload` points into the decoder's buffer and is valid until the next call
// to FrameDecoder::Feed or Next.
struct FrameView {
  FrameHeader header;
  std::string_view payload;
};

// Writes the 16-byte header for `header` into `out`.
void EncodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]);

// Appends one whole frame (header and payload) to `out`.
void AppendFrame(std::string* out, MessageType type, uint64_t invocation_id,
                 std::string_view payload);

// Parses and validates a header. Fails on an unknown type, non-zero flags or an oversized length.
Result<FrameHeader> DecodeFrameHeader(std::string_view bytes);

// Splits a byte stream into frames. Not thread-safe; owned by one connection.
//
//   decoder.Feed(data, n);           // returns an error once the stream is malformed
//   FrameView f;
//   while (decoder.Next(&f)) { ... } // f valid until the next Feed/Next
//
// After an error the decoder stays failed: the stream cannot be resynchronised, so the caller
// must drop the connection.
class FrameDecoder {
 public:
  Status Feed(const char* data, size_t size);
  bool Next(FrameView* frame);
  // Bytes buffered but not yet returned as frames.
  size_t buffered() const { return buffer_.size() - read_offset_; }
  bool failed() const { return !status_.ok(); }
  const Status& status() const { return status_; }

 private:
  std::string buffer_;
  size_t read_offset_ = 0;
  Status status_;
};

}  // namespace flint::protocol
