// FrameChannel on a real loop, with a SOCK_SEQPACKET socketpair as its socket: every write(2)
// the channel makes arrives at the peer as one message, so the test counts the channel's
// writes exactly (no timing involved).
#include "sdk/loop/frame_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sdk/loop/uv_handles.h"
#include "sdk/protocol/frame.h"

namespace flint::loop {
namespace {

using protocol::MessageType;

struct Recorder final : FrameChannel::Delegate {
  void OnFrame(const protocol::FrameView& frame) override {
    frames.push_back(frame.header.invocation_id);
    if (echo != nullptr) echo->Send(MessageType::kResult, frame.header.invocation_id, "ok");
  }
  void OnChannelClosed(const Status& why) override { closed = why.message(); }
  void OnFlush() override {
    flushes++;
    if (echo != nullptr && !frames.empty()) echo->Send(MessageType::kStats, 0, "");
  }
  std::vector<uint64_t> frames;
  std::string closed;
  int flushes = 0;
  FrameChannel* echo = nullptr;  // answers every frame, and adds a STATS to each write
};

struct Fixture {
  Fixture() {
    uv_loop_init(&loop);
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    peer = sv[1];
    channel = std::make_unique<FrameChannel>(&loop, &recorder);
    REQUIRE(channel->Open(sv[0]).ok());
  }
  ~Fixture() {
    channel.reset();
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    ::close(peer);
  }
  // The messages (writes) waiting at the peer, each split into its frames' invocation ids.
  std::vector<std::vector<uint64_t>> Messages() {
    std::vector<std::vector<uint64_t>> out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      protocol::FrameDecoder decoder;
      REQUIRE(decoder.Feed(buf, static_cast<size_t>(n)).ok());
      std::vector<uint64_t> ids;
      protocol::FrameView frame;
      while (decoder.Next(&frame)) ids.push_back(frame.header.invocation_id);
      out.push_back(ids);
    }
    return out;
  }
  void PeerSends(const std::vector<uint64_t>& ids) {
    std::string bytes;
    for (uint64_t id : ids) protocol::AppendFrame(&bytes, MessageType::kInvoke, id, "x");
    REQUIRE(::send(peer, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  }

  uv_loop_t loop;
  int peer = -1;
  Recorder recorder;
  std::unique_ptr<FrameChannel> channel;
};

}  // namespace

TEST_CASE("FrameChannel writes the frames sent in one loop iteration in one write", "[loop]") {
  Fixture f;
  Timer timer(&f.loop);
  timer.Start(0, 0, [&] {
    for (uint64_t id = 1; id <= 5; ++id) f.channel->Send(MessageType::kInvoke, id, "payload");
  });
  uv_run(&f.loop, UV_RUN_NOWAIT);  // the timer sends; the prepare phase flushes before polling
  CHECK(f.Messages() == std::vector<std::vector<uint64_t>>{{1, 2, 3, 4, 5}});
  CHECK(f.channel->writes() == 1);
  CHECK(f.channel->pending_bytes() == 0);
}

TEST_CASE("FrameChannel answers the frames of one read in one write, its OnFlush frame last",
          "[loop]") {
  Fixture f;
  f.recorder.echo = f.channel.get();
  f.PeerSends({7, 8, 9});
  uv_run(&f.loop, UV_RUN_NOWAIT);  // reads all three, answers each; the check phase flushes
  CHECK(f.recorder.frames == std::vector<uint64_t>{7, 8, 9});
  CHECK(f.Messages() == std::vector<std::vector<uint64_t>>{{7, 8, 9, 0}});
  CHECK(f.recorder.flushes == 1);
}

TEST_CASE("FrameChannel::FlushIfWaiting writes at once what has waited long enough", "[loop]") {
  Fixture f;
  f.channel->Send(MessageType::kResult, 1, "a");
  f.channel->FlushIfWaiting(60'000'000'000);  // a minute: not yet
  CHECK(f.Messages().empty());
  f.channel->FlushIfWaiting(0);
  CHECK(f.Messages() == std::vector<std::vector<uint64_t>>{{1}});
  f.channel->Send(MessageType::kResult, 2, "b");
  uv_run(&f.loop, UV_RUN_NOWAIT);
  CHECK(f.Messages() == std::vector<std::vector<uint64_t>>{{2}});
  CHECK(f.channel->writes() == 2);
}

TEST_CASE("FrameChannel reports a peer that closed, once", "[loop]") {
  Fixture f;
  ::shutdown(f.peer, SHUT_RDWR);
  uv_run(&f.loop, UV_RUN_NOWAIT);
  CHECK(f.recorder.closed == "peer closed the connection");
  CHECK_FALSE(f.channel->is_open());
}

}  // namespace flint::loop
