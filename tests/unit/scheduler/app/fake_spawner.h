// Fake worker processes for the fleet's tests: FakeSpawner forks children that only sleep, in
// their own process group (so pidfds, reaping and SIGKILL are real), and WorkerEnd is the test's
// end of each one's socketpair, where the test speaks the worker protocol: HELLO, LOADED,
// RESULT..., recording what flintd sends. Loop thread only, except FakeSpawner::Spawn with
// `any_thread` set (the fleet's spawns on the thread pool): it then only forks, and the ends
// are made on the loop thread when the test asks for them.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scheduler/spawn/worker_spawner.h"
#include "sdk/core/check.h"
#include "sdk/core/runtime.h"
#include "sdk/loop/frame_channel.h"
#include "sdk/protocol/messages.h"

namespace flint::scheduler::testing {

// The test's end of one worker's socket: it says HELLO, LOADED, RESULT... and records what the
// fleet sends.
class WorkerEnd final : public loop::FrameChannel::Delegate {
 public:
  WorkerEnd(uv_loop_t* loop, int fd, pid_t pid) : channel_(loop, this), pid_(pid) {
    FLINT_CHECK(channel_.Open(fd).ok());
  }
  void Hello(Runtime runtime) {
    protocol::Hello hello;
    hello.protocol_version = protocol::kProtocolVersion;
    hello.pid = static_cast<uint32_t>(pid_);
    hello.runtime = std::string(RuntimeName(runtime));
    channel_.Send(protocol::MessageType::kHello, 0, hello.Encode());
  }
  void Loaded() {
    protocol::Loaded loaded;
    loaded.init_duration_us = 1234;
    channel_.Send(protocol::MessageType::kLoaded, 0, loaded.Encode());
  }
  void LoadFailed(const std::string& message) {
    protocol::LoadFailed failed;
    failed.message = message;
    channel_.Send(protocol::MessageType::kLoadFailed, 0, failed.Encode());
  }
  void Result(uint64_t id, const std::string& body, uint64_t cpu_us = 0) {
    protocol::InvokeResult result;
    result.body = body;
    result.cpu_us = cpu_us;
    channel_.Send(protocol::MessageType::kResult, id, result.Encode());
  }
  // The process ends as a crash would.
  void Crash() { ::kill(pid_, SIGKILL); }

  void OnFrame(const protocol::FrameView& frame) override {
    received.push_back(frame.header.type);
    if (frame.header.type == protocol::MessageType::kLoad) {
      auto load = protocol::LoadRequest::Decode(frame.payload);
      FLINT_CHECK(load.ok());
      loads.push_back(std::move(load).value());
    }
    if (frame.header.type == protocol::MessageType::kInvoke)
      invokes.push_back(frame.header.invocation_id);
  }
  void OnChannelClosed(const Status&) override {}
  bool Got(protocol::MessageType type) const {
    return std::find(received.begin(), received.end(), type) != received.end();
  }

  std::vector<protocol::MessageType> received;
  std::vector<protocol::LoadRequest> loads;
  std::vector<uint64_t> invokes;  // invocation ids of the INVOKEs received

 private:
  loop::FrameChannel channel_;
  pid_t pid_;
};

// Spawns children that sleep in their own process group; the test plays their protocol.
class FakeSpawner final : public WorkerSpawner {
 public:
  explicit FakeSpawner(uv_loop_t* loop, bool any_thread = false)
      : loop_(loop), any_thread_(any_thread) {}
  ~FakeSpawner() override {
    for (auto [fd, pid] : unclaimed_) close(fd);
  }
  Result<SpawnedProcess> Spawn(const SpawnRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail) return Unavailable("fake: spawning fails");
    requests.push_back(request);
    int sv[2];
    FLINT_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    pid_t pid = fork();
    FLINT_CHECK(pid >= 0);
    if (pid == 0) {
      setpgid(0, 0);
      syscall(SYS_close_range, 3, ~0U, 0);
      for (;;) pause();
    }
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    FLINT_CHECK(pidfd >= 0);
    if (any_thread_) {
      unclaimed_.push_back({sv[1], pid});
    } else {
      ends.push_back(std::make_unique<WorkerEnd>(loop_, sv[1], pid));
    }
    return SpawnedProcess{pid, pidfd, sv[0]};
  }
  // Workers spawned so far (any thread).
  size_t spawned() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests.size();
  }
  // The end of the n-th spawned worker (0-based). Loop thread.
  WorkerEnd& end(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto [fd, pid] : unclaimed_) ends.push_back(std::make_unique<WorkerEnd>(loop_, fd, pid));
    unclaimed_.clear();
    return *ends.at(n);
  }

  bool fail = false;  // set before spawns start
  std::vector<SpawnRequest> requests;
  std::vector<std::unique_ptr<WorkerEnd>> ends;

 private:
  uv_loop_t* loop_;
  bool any_thread_;
  std::mutex mu_;
  std::vector<std::pair<int, pid_t>> unclaimed_;
};

}  // namespace flint::scheduler::testing
