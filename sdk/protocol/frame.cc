#include "sdk/protocol/frame.h"

#include <cstring>

namespace flint::protocol {
namespace {

void PutLe(char* out, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

uint64_t GetLe(const char* in, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return value;
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "HELLO";
    case MessageType::kLoad:
      return "LOAD";
    case MessageType::kLoaded:
      return "LOADED";
    case MessageType::kLoadFailed:
      return "LOAD_FAILED";
    case MessageType::kInvoke:
      return "INVOKE";
    case MessageType::kResult:
      return "RESULT";
    case MessageType::kLog:
      return "LOG";
    case MessageType::kCancel:
      return "CANCEL";
    case MessageType::kShutdown:
      return "SHUTDOWN";
    case MessageType::kStats:
      return "STATS";
    case MessageType::kCodeCache:
      return "CODE_CACHE";
  }
  return "UNKNOWN";
}

void EncodeFrameHeader(const FrameHeader& header, char out[kFrameHeaderSize]) {
  PutLe(out, header.payload_length, 4);
  PutLe(out + 4, static_cast<uint16_t>(header.type), 2);
  PutLe(out + 6, header.flags, 2);
  PutLe(out + 8, header.invocation_id, 8);
}

void AppendFrame(std::string* out, MessageType type, uint64_t invocation_id,
                 std::string_view payload) {
  FLINT_CHECK(payload.size() <= kMaxPayloadLength);
  FrameHeader header;
  header.payload_length = static_cast<uint32_t>(payload.size());
  header.type = type;
  header.invocation_id = invocation_id;
  char bytes[kFrameHeaderSize];
  EncodeFrameHeader(header, bytes);
  out->append(bytes, kFrameHeaderSize);
  out->append(payload);
}

Result<FrameHeader> DecodeFrameHeader(std::string_view bytes) {
  if (bytes.size() < kFrameHeaderSize) return InvalidArgument("frame header truncated");
  FrameHeader header;
  header.payload_length = static_cast<uint32_t>(GetLe(bytes.data(), 4));
  uint16_t type = static_cast<uint16_t>(GetLe(bytes.data() + 4, 2));
  header.flags = static_cast<uint16_t>(GetLe(bytes.data() + 6, 2));
  header.invocation_id = GetLe(bytes.data() + 8, 8);
  if (type == 0 || type > kMaxMessageType) {
    return InvalidArgument("unknown frame type " + std::to_string(type));
  }
  header.type = static_cast<MessageType>(type);
  if (header.flags != 0) return InvalidArgument("frame flags must be 0");
  if (header.payload_length > kMaxPayloadLength) {
    return InvalidArgument("frame payload of " + std::to_string(header.payload_length) +
                           " bytes exceeds the limit");
  }
  return header;
}

Status FrameDecoder::Feed(const char* data, size_t size) {
  if (!status_.ok()) return status_;
  // Compact before growing so a long-lived connection does not accumulate consumed bytes.
  if (read_offset_ > 0 && (read_offset_ == buffer_.size() || read_offset_ > (64u << 10))) {
    buffer_.erase(0, read_offset_);
    read_offset_ = 0;
  }
  buffer_.append(data, size);
  // Validate the next header eagerly so a garbage stream fails on the first bytes.
  if (buffered() >= kFrameHeaderSize) {
    auto header = DecodeFrameHeader(std::string_view(buffer_).substr(read_offset_));
    if (!header.ok()) status_ = header.status();
  }
  return status_;
}

bool FrameDecoder::Next(FrameView* frame) {
  if (!status_.ok() || buffered() < kFrameHeaderSize) return false;
  auto header = DecodeFrameHeader(std::string_view(buffer_).substr(read_offset_));
  if (!header.ok()) {
    status_ = header.status();
    return false;
  }
  if (buffered() < kFrameHeaderSize + header->payload_length) return false;
  frame->header = *header;
  frame->payload =
      std::string_view(buffer_).substr(read_offset_ + kFrameHeaderSize, header->payload_length);
  read_offset_ += kFrameHeaderSize + header->payload_length;
  return true;
}

}  // namespace flint::protocol
