// The real flint-worker binary loading C++ functions over its socket, as flintd drives it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "sdk/include/flint/abi.h"
#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {
namespace {

using protocol::MessageType;
constexpr auto kPatience = std::chrono::seconds(30);  // only to never hang; not a timing check

struct Frame {
  MessageType type;
  uint64_t id;
  std::string payload;
};

// flint-worker --runtime `runtime` on a socketpair; killed and reaped on destruction.
class WorkerProcess {
 public:
  explicit WorkerProcess(const char* runtime) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    int child_end = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    ::close(sv[1]);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(child_end, 3);
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      const char* argv[] = {FLINT_WORKER_PATH, "--fd", "3", "--runtime", runtime, nullptr};
      ::execv(FLINT_WORKER_PATH, const_cast<char**>(argv));
      ::_exit(127);
    }
    ::close(child_end);
    fd_ = sv[0];
  }
  ~WorkerProcess() {
    ::close(fd_);
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  void Send(MessageType type, uint64_t id, const std::string& payload) {
    std::string bytes;
    protocol::AppendFrame(&bytes, type, id, payload);
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }

  // The next frame of `type`, skipping LOG and STATS frames.
  Frame Expect(MessageType type) {
    auto give_up = std::chrono::steady_clock::now() + kPatience;
    for (;;) {
      protocol::FrameView view;
      if (decoder_.Next(&view)) {
        Frame f{view.header.type, view.header.invocation_id, std::string(view.payload)};
        if (f.type == MessageType::kLog || f.type == MessageType::kStats) {
          if (f.type == MessageType::kLog) logs_.push_back(f);
          continue;
        }
        INFO("expected " << protocol::MessageTypeName(type) << ", got "
                         << protocol::MessageTypeName(f.type));
        REQUIRE(f.type == type);
        return f;
      }
      REQUIRE(std::chrono::steady_clock::now() < give_up);
      struct pollfd p = {fd_, POLLIN, 0};
      ::poll(&p, 1, 100);
      if ((p.revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      REQUIRE(n > 0);  // EOF before the expected frame fails the test
      REQUIRE(decoder_.Feed(buf, static_cast<size_t>(n)).ok());
    }
  }

  // Waits for the worker to exit; returns its raw wait status.
  int Wait() {
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    reaped_ = true;
    return status;
  }
  const std::vector<Frame>& logs() const { return logs_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  protocol::FrameDecoder decoder_;
  std::vector<Frame> logs_;
};

protocol::LoadRequest LoadOf(const std::string& so) {
  protocol::LoadRequest load;
  load.function_name = "native-test";
  load.function_version = 1;
  load.runtime = "cpp";
  load.code_dir = FLINT_TEST_SO_DIR;
  load.entry = so;
  return load;
}

void LoadAndInvoke(WorkerProcess& worker) {
  REQUIRE(protocol::Hello::Decode(worker.Expect(MessageType::kHello).payload).ok());
  worker.Send(MessageType::kLoad, 0, LoadOf("test_function.so").Encode());
  worker.Expect(MessageType::kLoaded);
  protocol::InvokeRequest req;
  req.method = "GET";
  req.raw_path = "/count";
  worker.Send(MessageType::kInvoke, 1, req.Encode());
  Frame result = worker.Expect(MessageType::kResult);
  CHECK(result.id == 1);
  auto decoded = protocol::InvokeResult::Decode(result.payload);
  REQUIRE(decoded.ok());
  CHECK(decoded->outcome == protocol::Outcome::kOk);
  CHECK(decoded->body == "init=1 calls=1");
  // The init hook's log line came before LOADED, outside any invocation.
  REQUIRE_FALSE(worker.logs().empty());
  CHECK(worker.logs()[0].id == 0);
  worker.Send(MessageType::kShutdown, 0, "");
  int status = worker.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("A pre-warmed JS worker loads and runs a C++ function", "[native][worker]") {
  WorkerProcess worker("v8");
  LoadAndInvoke(worker);
}

TEST_CASE("A worker started for cpp loads and runs a C++ function", "[native][worker]") {
  WorkerProcess worker("cpp");
  LoadAndInvoke(worker);
}

TEST_CASE("flint-worker refuses a C ABI version mismatch with LOAD_FAILED", "[native][worker]") {
  WorkerProcess worker("v8");
  worker.Expect(MessageType::kHello);
  worker.Send(MessageType::kLoad, 0, LoadOf("abi_mismatch.so").Encode());
  auto failed = protocol::LoadFailed::Decode(worker.Expect(MessageType::kLoadFailed).payload);
  REQUIRE(failed.ok());
  CHECK(failed->message.rfind("function built for Flint C ABI version 99, this worker supports " +
                                  std::to_string(FLINT_ABI_VERSION),
                              0) == 0);
  int status = worker.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
}

}  // namespace
}  // namespace flint::runtime
