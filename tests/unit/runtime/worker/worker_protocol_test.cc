// The real flint-worker binary, driven over a socketpair on fd 3 as flintd drives it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sdk/protocol/frame.h"
#include "sdk/protocol/messages.h"
#include "tests/support/worker_process.h"

namespace flint::runtime {
namespace {

using protocol::MessageType;
using protocol::Outcome;
using testing::CodeDir;
using testing::Frame;
using testing::ReadProc;
using testing::ResultOf;

// The lean runtime's worker (--runtime v8).
class WorkerProcess : public testing::WorkerProcess {
 public:
  WorkerProcess() : testing::WorkerProcess(FLINT_WORKER_PATH, "v8") {}
};

std::string LoadPayload(const CodeDir& dir, uint32_t timeout_ms = 3000, uint32_t memory_mb = 128) {
  protocol::LoadRequest load;
  load.function_name = "hello";
  load.function_version = 3;
  load.runtime = "v8";
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
  CHECK(h->runtime == "v8");

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
