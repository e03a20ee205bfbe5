#include <catch2/catch.hpp>
#include <random>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"

using namespace flint::protocol;

TEST_CASE("Frame header has the documented byte layout", "[protocol]") {
  std::string out;
  AppendFrame(&out, MessageType::kInvoke, 0x0102030405060708ull, "abc");
  const unsigned char golden[] = {3, 0, 0, 0, 5, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1, 'a', 'b', 'c'};
  REQUIRE(out == std::string(reinterpret_cast<const char*>(golden), sizeof(golden)));
}

TEST_CASE("FrameDecoder returns frames split across reads and batched in one read", "[protocol]") {
  std::string stream;
  AppendFrame(&stream, MessageType::kLog, 7, "first");
  AppendFrame(&stream, MessageType::kResult, 8, std::string(1000, 'x'));
  AppendFrame(&stream, MessageType::kShutdown, 0, "");
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{17}, stream.size()}) {
    FrameDecoder decoder;
    std::vector<std::pair<MessageType, std::string>> got;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      REQUIRE(decoder.Feed(stream.data() + i, std::min(chunk, stream.size() - i)).ok());
      FrameView f;
      while (decoder.Next(&f)) got.emplace_back(f.header.type, std::string(f.payload));
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0] == std::make_pair(MessageType::kLog, std::string("first")));
    CHECK(got[1].second.size() == 1000);
    CHECK(got[2].first == MessageType::kShutdown);
    CHECK(decoder.buffered() == 0);
  }
}

TEST_CASE("FrameDecoder rejects unknown types, flags and oversized lengths", "[protocol]") {
  auto header = [](uint32_t len, uint16_t type, uint16_t flags) {
    char b[kFrameHeaderSize];
    FrameHeader h;
    h.payload_length = len;
    h.type = static_cast<MessageType>(type);
    h.flags = flags;
    EncodeFrameHeader(h, b);
    return std::string(b, sizeof b);
  };
  for (std::string bad :
       {header(0, 0, 0), header(0, 99, 0), header(0, 5, 1), header(kMaxPayloadLength + 1, 5, 0)}) {
    FrameDecoder decoder;
    CHECK_FALSE(decoder.Feed(bad.data(), bad.size()).ok());
    FrameView f;
    CHECK_FALSE(decoder.Next(&f));
    CHECK(decoder.failed());
  }
}

TEST_CASE("FrameDecoder survives random garbage without crashing", "[protocol]") {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    FrameDecoder decoder;
    (void)decoder.Feed(junk.data(), junk.size());
    FrameView f;
    while (decoder.Next(&f)) {
      (void)InvokeRequest::Decode(f.payload);
      (void)InvokeResult::Decode(f.payload);
      (void)LoadRequest::Decode(f.payload);
    }
  }
}

TEST_CASE("Messages round-trip through Encode and Decode", "[protocol]") {
  InvokeRequest req;
  req.kind = InvokeKind::kHttp;
  req.timeout_ms = 1234;
  req.time_epoch_ms = 1700000000000;
  req.request_id = "r-1";
  req.method = "POST";
  req.raw_path = "/a/b";
  req.raw_query = "x=1";
  req.source_ip = "127.0.0.1";
  req.headers = {{"content-type", "application/json"}, {"x", ""}};
  req.body = std::string("\0binary\xff", 8);
  auto back = InvokeRequest::Decode(req.Encode());
  REQUIRE(back.ok());
  CHECK(back->request_id == "r-1");
  CHECK(back->headers == req.headers);
  CHECK(back->body == req.body);
  CHECK(back->timeout_ms == 1234);

  InvokeResult res;
  res.outcome = Outcome::kError;
  res.status = 500;
  res.error_type = "TypeError";
  res.error_message = "boom";
  res.duration_us = 99;
  res.worker_exiting = true;
  auto res_back = InvokeResult::Decode(res.Encode());
  REQUIRE(res_back.ok());
  CHECK(res_back->worker_exiting);
  CHECK(res_back->outcome == Outcome::kError);
  CHECK(res_back->error_type == "TypeError");
  CHECK(res_back->duration_us == 99);

  LoadRequest load;
  load.function_name = "hello";
  load.function_version = 3;
  load.env = {{"K", "V"}};
  load.code_cache = std::string("\0cache", 6);
  auto load_back = LoadRequest::Decode(load.Encode());
  REQUIRE(load_back.ok());
  CHECK(load_back->function_version == 3);
  CHECK(load_back->env == load.env);
  CHECK(load_back->code_cache == load.code_cache);

  Hello hello;
  hello.protocol_version = kProtocolVersion;
  hello.runtime = "node";
  hello.runtime_version = "node 22.23.5, V8 12.4";
  auto hello_back = Hello::Decode(hello.Encode());
  REQUIRE(hello_back.ok());
  CHECK(hello_back->runtime_version == hello.runtime_version);

  CodeCache cache;
  cache.files = {{"/code/index.js", std::string("\x01\0\xff", 3)}, {"/code/lib.js", ""}};
  auto cache_back = CodeCache::Decode(cache.Encode());
  REQUIRE(cache_back.ok());
  CHECK(cache_back->files == cache.files);
  CHECK_FALSE(CodeCache::Decode("\x05\0\0\0").ok());
}

TEST_CASE("Message decoders reject truncated payloads and trailing bytes", "[protocol]") {
  InvokeRequest req;
  req.body = "hello";
  std::string bytes = req.Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK_FALSE(InvokeRequest::Decode(std::string_view(bytes).substr(0, n)).ok());
  }
  CHECK_FALSE(InvokeRequest::Decode(bytes + "x").ok());
  // A header count far beyond the payload is refused before any allocation.
  std::string huge_count = bytes;
  CHECK_FALSE(Hello::Decode(std::string("\1\0\0\0\1\0\0\0\xff\xff\xff\x7f", 12)).ok());
}
