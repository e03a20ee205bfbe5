// Fuzzes the worker protocol's decoders (sdk/protocol/frame.h, messages.h): FrameDecoder over a
// byte stream cut into reads, then the payload decoder of each frame's type. flintd decodes what
// a worker (running a user's code) sends, so every byte sequence must give a frame or an error.
// Input: one byte picking the read size, then the stream. Checked: a decoded payload encodes
// back to exactly the same bytes (the encoding is canonical), and a failed stream stays failed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace flint::protocol;

template <typename Message>
void RoundTrip(std::string_view payload) {
  auto decoded = Message::Decode(payload);
  if (!decoded.ok()) return;
  FUZZ_CHECK(decoded->Encode() == payload);
}

void DecodePayload(const FrameView& frame) {
  std::string_view p = frame.payload;
  switch (frame.header.type) {
    case MessageType::kHello:
      return RoundTrip<Hello>(p);
    case MessageType::kLoad:
      return RoundTrip<LoadRequest>(p);
    case MessageType::kLoaded:
      return RoundTrip<Loaded>(p);
    case MessageType::kLoadFailed:
      return RoundTrip<LoadFailed>(p);
    case MessageType::kInvoke:
      return RoundTrip<InvokeRequest>(p);
    case MessageType::kResult:
      return RoundTrip<InvokeResult>(p);
    case MessageType::kLog:
      return RoundTrip<LogLine>(p);
    case MessageType::kStats:
      return RoundTrip<Stats>(p);
    case MessageType::kCodeCache:
      return RoundTrip<CodeCache>(p);
    case MessageType::kCancel:
    case MessageType::kShutdown:
      return;
  }
  FUZZ_CHECK(false && "a frame of an unknown type was decoded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr size_t kReadSizes[] = {1, 5, 16, 17, 100, 4096, SIZE_MAX, SIZE_MAX};
  size_t read_size = kReadSizes[data[0] & 7];
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  FrameDecoder decoder;
  while (left > 0) {
    size_t chunk = left < read_size ? left : read_size;
    flint::Status fed = decoder.Feed(bytes, chunk);
    bytes += chunk;
    left -= chunk;
    if (!fed.ok()) {
      FUZZ_CHECK(decoder.failed());
      FUZZ_CHECK(!decoder.Feed("", 0).ok());
      return 0;
    }
    FrameView frame;
    while (decoder.Next(&frame)) {
      FUZZ_CHECK(frame.header.payload_length == frame.payload.size());
      FUZZ_CHECK(frame.header.flags == 0);
      char header[kFrameHeaderSize];
      EncodeFrameHeader(frame.header, header);
      auto again = DecodeFrameHeader(std::string_view(header, kFrameHeaderSize));
      FUZZ_CHECK(again.ok() && again->type == frame.header.type &&
                 again->invocation_id == frame.header.invocation_id &&
                 again->payload_length == frame.header.payload_length);
      DecodePayload(frame);
    }
    if (decoder.failed()) return 0;
  }
  return 0;
}
