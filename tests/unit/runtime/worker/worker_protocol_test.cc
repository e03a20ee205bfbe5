// The real flint-worker binary, driven over a socketpair on fd 3 as flintd drives it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"

namespace flint::runtime {
namespace {

namespace fs = std::filesystem;
using protocol::MessageType;
using protocol::Outcome;

constexpr auto kPatience = std::chrono::seconds(30);  // only to never hang; not a timing check

struct Frame {
  MessageType type;
  uint64_t id;
  std::string payload;
};

// A function directory under /tmp, removed at the end.
class CodeDir {
 public:
  CodeDir() {
    char tmpl[] = "/tmp/flint-worker-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~CodeDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(fs::path(path_) / name) << content;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class WorkerProcess {
 public:
  WorkerProcess() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    // Keep the child's end away from fd 3 so dup2 always clears close-on-exec.
    int child_end = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    ::close(sv[1]);
    std::string padding(200, ' ');
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(child_end, 3);
      int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      const char* argv[] = {FLINT_WORKER_PATH, "--fd",          "3",    "--runtime", "js",
                            "--title",         padding.c_str(), nullptr};
      ::execv(FLINT_WORKER_PATH, const_cast<char**>(argv));
      ::_exit(127);
    }
    ::close(child_end);
    fd_ = sv[0];
  }

  ~WorkerProcess() {
    if (fd_ >= 0) ::close(fd_);
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }

  void Send(MessageType type, uint64_t id, const std::string& payload) {
    std::string bytes;
    protocol::AppendFrame(&bytes, type, id, payload);
    SendRaw(bytes);
  }
  void SendRaw(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void CloseSocket() {
    ::close(fd_);
    fd_ = -1;
  }

  // The next frame; nullopt at EOF.
  std::optional<Frame> Next() {
    auto give_up = std::chrono::steady_clock::now() + kPatience;
    for (;;) {
      protocol::FrameView view;
      if (decoder_.Next(&view)) {
        return Frame{view.header.type, view.header.invocation_id, std::string(view.payload)};
      }
      REQUIRE_FALSE(decoder_.failed());
      if (eof_) return std::nullopt;
      REQUIRE(std::chrono::steady_clock::now() < give_up);
      struct pollfd p = {fd_, POLLIN, 0};
      ::poll(&p, 1, 100);
      if ((p.revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[65536];
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      REQUIRE(decoder_.Feed(buf, static_cast<size_t>(n)).ok());
    }
  }

  // The next frame of `type`, remembering the LOG, STATS and RESULT frames passed on the way.
  Frame Expect(MessageType type) {
    for (;;) {
      std::optional<Frame> f = Next();
      INFO("waiting for " << protocol::MessageTypeName(type));
      REQUIRE(f.has_value());
      Remember(*f);
      if (f->type == type) return *f;
    }
  }

  // Reads everything up to EOF.
  void Drain() {
    while (std::optional<Frame> f = Next()) Remember(*f);
  }

  // The exit code (the test fails if the worker does not exit).
  int Wait() {
    auto give_up = std::chrono::steady_clock::now() + kPatience;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      REQUIRE(std::chrono::steady_clock::now() < give_up);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    reaped_ = true;
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
  }

  std::vector<protocol::LogLine> LogsOf(uint64_t id) const {
    std::vector<protocol::LogLine> out;
    for (const Frame& f : logs_) {
      if (f.id == id) out.push_back(*protocol::LogLine::Decode(f.payload));
    }
    return out;
  }
  std::vector<uint64_t> result_ids() const { return result_ids_; }
  size_t stats_count() const { return stats_count_; }

 private:
  void Remember(const Frame& f) {
    if (f.type == MessageType::kLog) logs_.push_back(f);
    if (f.type == MessageType::kResult) result_ids_.push_back(f.id);
    if (f.type == MessageType::kStats) {
      REQUIRE(protocol::Stats::Decode(f.payload).ok());
      ++stats_count_;
    }
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool eof_ = false;
  bool reaped_ = false;
  protocol::FrameDecoder decoder_;
  std::vector<Frame> logs_;
  std::vector<uint64_t> result_ids_;
  size_t stats_count_ = 0;
};

std::string LoadPayload(const CodeDir& dir, uint32_t timeout_ms = 3000, uint32_t memory_mb = 128) {
  protocol::LoadRequest load;
  load.function_name = "hello";
  load.function_version = 3;
  load.runtime = "js";
  load.code_dir = dir.path();
  load.entry = "index.mjs";
  load.memory_mb = memory_mb;
  load.timeout_ms = timeout_ms;
  load.env = {{"GREETING", "Hello"}};
  return load.Encode();
}

std::string InvokePayload(const std::string& path, const std::string& query = "",
                          uint32_t timeout_ms = 3000) {
  protocol::InvokeRequest invoke;
  invoke.kind = protocol::InvokeKind::kHttp;
  invoke.timeout_ms = timeout_ms;
  invoke.time_epoch_ms = 1700000000000;
  invoke.request_id = "r-" + path;
  invoke.method = "GET";
  invoke.raw_path = path;
  invoke.raw_query = query;
  invoke.source_ip = "127.0.0.1";
  invoke.headers = {{"host", "localhost"}};
  return invoke.Encode();
}

protocol::InvokeResult ResultOf(const Frame& f) {
  Result<protocol::InvokeResult> r = protocol::InvokeResult::Decode(f.payload);
  REQUIRE(r.ok());
  return *r;
}

std::string ReadProc(pid_t pid, const char* what) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + what, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const char* kHello =
    "console.log('loading');\n"
    "export const handler = async (event, context) => {\n"
    "  console.log('hi', event.queryStringParameters?.name);\n"
    "  if (event.rawPath === '/spin') for (;;) {}\n"
    "  if (event.rawPath === '/hang') return new Promise(() => {});\n"
    "  if (event.rawPath === '/grow') { const a = []; for (;;) a.push(new Array(4096).fill(1)); }\n"
    "  const ms = Number(event.queryStringParameters?.wait ?? 0);\n"
    "  if (ms) await new Promise((r) => setTimeout(r, ms));\n"
    "  return { statusCode: 200, headers: { 'content-type': 'text/plain' },\n"
    "           body: `${process.env.GREETING}, ${event.queryStringParameters?.name}!` };\n"
    "};\n";

TEST_CASE("flint-worker says HELLO, loads, answers an INVOKE and shuts down", "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", kHello);
  WorkerProcess w;
  Frame hello = w.Expect(MessageType::kHello);
  Result<protocol::Hello> h = protocol::Hello::Decode(hello.payload);
  REQUIRE(h.ok());
  CHECK(h->protocol_version == protocol::kProtocolVersion);
  CHECK(h->pid == static_cast<uint32_t>(w.pid()));
  CHECK(h->runtime == "js");

  w.Send(MessageType::kLoad, 0, LoadPayload(dir));
  Frame loaded = w.Expect(MessageType::kLoaded);
  CHECK(protocol::Loaded::Decode(loaded.payload).ok());
  REQUIRE(w.LogsOf(0).size() == 1);
  CHECK(w.LogsOf(0)[0].text == "loading");
  CHECK(ReadProc(w.pid(), "cmdline").rfind("flint-worker hello@3", 0) == 0);
  CHECK(ReadProc(w.pid(), "comm") == "hello@3\n");

  w.Send(MessageType::kInvoke, 42, InvokePayload("/", "name=Ada"));
  Frame result = w.Expect(MessageType::kResult);
  CHECK(result.id == 42);
  protocol::InvokeResult r = ResultOf(result);
  CHECK(r.outcome == Outcome::kOk);
  CHECK(r.status == 200);
  CHECK(r.body == "Hello, Ada!");
  REQUIRE(r.headers.size() == 1);
  CHECK(r.headers[0] == protocol::Header{"content-type", "text/plain"});
  REQUIRE(w.LogsOf(42).size() == 1);
  CHECK(w.LogsOf(42)[0].text == "hi Ada");
  CHECK(w.LogsOf(42)[0].level == protocol::LogLevel::kInfo);
  Frame stats = w.Expect(MessageType::kStats);
  Result<protocol::Stats> s = protocol::Stats::Decode(stats.payload);
  REQUIRE(s.ok());
  CHECK(s->heap_used_bytes > 0);
  CHECK(s->heap_limit_bytes > s->heap_used_bytes);
  CHECK(s->rss_bytes > 0);

  w.Send(MessageType::kShutdown, 0, "");
  w.Drain();
  CHECK(w.Wait() == 0);
}

TEST_CASE("flint-worker reports LOAD_FAILED naming file and line, then exits 1", "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", "export const handler = () => {\n  return 1;\n}}\n");
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.Send(MessageType::kLoad, 0, LoadPayload(dir));
  Frame failed = w.Expect(MessageType::kLoadFailed);
  Result<protocol::LoadFailed> f = protocol::LoadFailed::Decode(failed.payload);
  REQUIRE(f.ok());
  CHECK(f->message == "index.mjs:3: SyntaxError: Unexpected token '}'");
  CHECK(w.Wait() == 1);
}

TEST_CASE("flint-worker times out a handler, answers once, and keeps serving", "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", kHello);
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.Send(MessageType::kLoad, 0, LoadPayload(dir));
  w.Expect(MessageType::kLoaded);

  w.Send(MessageType::kInvoke, 1, InvokePayload("/spin", "", 100));
  protocol::InvokeResult spin = ResultOf(w.Expect(MessageType::kResult));
  CHECK(spin.outcome == Outcome::kTimeout);
  CHECK(spin.error_message == "function timed out after 100 ms");

  w.Send(MessageType::kInvoke, 2, InvokePayload("/hang", "", 50));
  protocol::InvokeResult hang = ResultOf(w.Expect(MessageType::kResult));
  CHECK(hang.outcome == Outcome::kTimeout);
  CHECK(hang.error_message == "function timed out after 50 ms");

  w.Send(MessageType::kInvoke, 3, InvokePayload("/", "name=again"));
  protocol::InvokeResult ok = ResultOf(w.Expect(MessageType::kResult));
  CHECK(ok.body == "Hello, again!");

  w.Send(MessageType::kShutdown, 0, "");
  w.Drain();
  CHECK(w.result_ids() == std::vector<uint64_t>{1, 2, 3});
  CHECK(w.Wait() == 0);
}

TEST_CASE("flint-worker serves concurrent invocations and honours CANCEL", "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", kHello);
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.Send(MessageType::kLoad, 0, LoadPayload(dir));
  w.Expect(MessageType::kLoaded);

  w.Send(MessageType::kInvoke, 10, InvokePayload("/", "name=slow&wait=40"));
  w.Send(MessageType::kInvoke, 11, InvokePayload("/", "name=cancelled&wait=20"));
  w.Send(MessageType::kCancel, 11, "");
  w.Send(MessageType::kInvoke, 12, InvokePayload("/", "name=fast&wait=1"));
  std::vector<std::string> bodies;
  bodies.push_back(ResultOf(w.Expect(MessageType::kResult)).body);
  bodies.push_back(ResultOf(w.Expect(MessageType::kResult)).body);
  std::sort(bodies.begin(), bodies.end());
  CHECK(bodies == std::vector<std::string>{"Hello, fast!", "Hello, slow!"});

  // A pause longer than the cancelled invocation's wait, then everything up to EOF.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  w.Send(MessageType::kShutdown, 0, "");
  w.Drain();
  std::vector<uint64_t> ids = w.result_ids();
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<uint64_t>{10, 12});
  CHECK(w.Wait() == 0);
}

TEST_CASE("flint-worker answers the INVOKEs of one read in order, a STATS after the batch",
          "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", kHello);
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.Send(MessageType::kLoad, 0, LoadPayload(dir));
  w.Expect(MessageType::kLoaded);
  w.Expect(MessageType::kStats);
  size_t stats_before = w.stats_count();
  // Ten INVOKEs in one write reach the worker in one read: their RESULTs leave in as few
  // writes as their run time allows (tests/unit/sdk/frame_channel_test.cc counts the writes),
  // each followed by one STATS, not one per invocation.
  std::string batch;
  for (uint64_t id = 100; id < 110; ++id) {
    protocol::AppendFrame(&batch, MessageType::kInvoke, id,
                          InvokePayload("/", "name=n" + std::to_string(id)));
  }
  w.SendRaw(batch);
  for (int i = 0; i < 10; ++i) CHECK(ResultOf(w.Expect(MessageType::kResult)).status == 200);
  Frame stats = w.Expect(MessageType::kStats);
  CHECK(protocol::Stats::Decode(stats.payload).ok());
  CHECK(w.stats_count() > stats_before);
  CHECK(w.stats_count() <= stats_before + 10);
  std::vector<uint64_t> ids = w.result_ids();
  CHECK(std::vector<uint64_t>(ids.end() - 10, ids.end()) ==
        std::vector<uint64_t>{100, 101, 102, 103, 104, 105, 106, 107, 108, 109});
  w.Send(MessageType::kShutdown, 0, "");
  w.Drain();
  CHECK(w.Wait() == 0);
}

TEST_CASE("flint-worker reports out-of-memory, then exits 3", "[worker]") {
  CodeDir dir;
  dir.Write("index.mjs", kHello);
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.Send(MessageType::kLoad, 0, LoadPayload(dir, 10000, 64));
  w.Expect(MessageType::kLoaded);
  w.Send(MessageType::kInvoke, 7, InvokePayload("/grow", "", 10000));
  Frame result = w.Expect(MessageType::kResult);
  CHECK(result.id == 7);
  protocol::InvokeResult r = ResultOf(result);
  CHECK(r.outcome == Outcome::kOutOfMemory);
  CHECK(r.error_message == "function exceeded its memory limit of 64 MB");
  CHECK(w.Wait() == 3);
}

TEST_CASE("flint-worker exits 2 on a malformed frame", "[worker]") {
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  std::string bad(16, '\0');
  bad[4] = 99;  // unknown message type
  w.SendRaw(bad);
  CHECK(w.Wait() == 2);
}

TEST_CASE("flint-worker exits 2 on a message out of place", "[worker]") {
  SECTION("INVOKE before LOAD") {
    WorkerProcess w;
    w.Expect(MessageType::kHello);
    w.Send(MessageType::kInvoke, 1, InvokePayload("/"));
    CHECK(w.Wait() == 2);
  }
  SECTION("a message only a worker sends") {
    WorkerProcess w;
    w.Expect(MessageType::kHello);
    w.Send(MessageType::kResult, 1, protocol::InvokeResult{}.Encode());
    CHECK(w.Wait() == 2);
  }
  SECTION("a LOAD whose payload is truncated") {
    WorkerProcess w;
    w.Expect(MessageType::kHello);
    w.Send(MessageType::kLoad, 0, "\x05\x00");
    CHECK(w.Wait() == 2);
  }
}

TEST_CASE("flint-worker exits 0 when flintd closes the socket", "[worker]") {
  WorkerProcess w;
  w.Expect(MessageType::kHello);
  w.CloseSocket();
  CHECK(w.Wait() == 0);
}

}  // namespace
}  // namespace flint::runtime
