// NativeHost in-process: loading test functions (built from the SDK by this folder's
// CMakeLists.txt), invoking them, and refusing what must be refused.
#include "runtime/native/native_host.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "sdk/include/flint/abi.h"

namespace flint::runtime {
namespace {

struct LogRecord {
  uint64_t id;
  protocol::LogLevel level;
  std::string text;
};

class Recorder : public NativeHost::Delegate {
 public:
  void OnLog(uint64_t id, protocol::LogLevel level, std::string_view text) override {
    logs.push_back({id, level, std::string(text)});
  }
  void OnResult(uint64_t id, protocol::InvokeResult result) override {
    ids.push_back(id);
    results.push_back(std::move(result));
  }
  std::vector<LogRecord> logs;
  std::vector<uint64_t> ids;
  std::vector<protocol::InvokeResult> results;
};

protocol::LoadRequest LoadOf(const std::string& so) {
  protocol::LoadRequest load;
  load.function_name = "native-test";
  load.function_version = 3;
  load.runtime = "cpp";
  load.code_dir = FLINT_TEST_SO_DIR;
  load.entry = so;
  load.memory_mb = 256;
  load.timeout_ms = 5000;
  load.env = {{"GREETING", "hi there"}};
  return load;
}

protocol::InvokeRequest Get(const std::string& path, const std::string& query = "") {
  protocol::InvokeRequest req;
  req.method = "GET";
  req.raw_path = path;
  req.raw_query = query;
  req.request_id = "req-1";
  req.timeout_ms = 5000;
  return req;
}

// Loads test_function.so into a fresh host.
std::unique_ptr<NativeHost> Loaded(Recorder* recorder) {
  auto host = NativeHost::Create(recorder);
  Result<uint64_t> loaded = host->Load(LoadOf("test_function.so"));
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  REQUIRE(host->loaded());
  return host;
}

protocol::InvokeResult InvokeOnce(NativeHost* host, Recorder* recorder, uint64_t id,
                                  const protocol::InvokeRequest& req) {
  size_t before = recorder->results.size();
  host->Invoke(id, req);
  // Native handlers are synchronous: the result is reported before Invoke returns.
  REQUIRE(recorder->results.size() == before + 1);
  REQUIRE(recorder->ids.back() == id);
  REQUIRE_FALSE(host->is_pending(id));
  return recorder->results.back();
}

TEST_CASE("The warm-up object loads and answers through a host of its own", "[native]") {
  Status warmed = NativeHost::WarmUp(FLINT_WARMUP_SO);
  INFO(warmed.ToString());
  CHECK(warmed.ok());
  CHECK_FALSE(NativeHost::WarmUp(std::string(FLINT_TEST_SO_DIR) + "/missing.so").ok());
}

TEST_CASE("NativeHost passes the request and context and returns the response", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  protocol::InvokeRequest req = Get("/echo", "a=1%202&b=x+y");
  req.method = "POST";
  req.headers = {{"x-test", "yes"}};
  req.body = "payload";
  protocol::InvokeResult r = InvokeOnce(host.get(), &recorder, 7, req);
  CHECK(r.outcome == protocol::Outcome::kOk);
  CHECK(r.status == 201);
  CHECK(r.body ==
        "method=POST\na=1 2\nb=x y\nx-test=yes\nbody=payload\nrequest_id=req-1\n"
        "function=native-test@3\nmemory=256\nremaining_positive=1\n");
  REQUIRE(r.headers.size() == 2);
  CHECK(r.headers[0] == protocol::Header{"content-type", "text/plain; charset=utf-8"});
  CHECK(r.headers[1] == protocol::Header{"x-extra", "1"});
}

// "init=N calls=M" from test_function's /count.
std::pair<int, int> Counts(const std::string& body) {
  int inits = -1;
  int calls = -1;
  REQUIRE(std::sscanf(body.c_str(), "init=%d calls=%d", &inits, &calls) == 2);
  return {inits, calls};
}

TEST_CASE("NativeHost runs the init hook once and keeps state across invocations", "[native]") {
  // Under ctest each TEST_CASE has its own process, so the counts start at zero; run together in
  // one process, the shared object (never unloaded) keeps its statics from earlier test cases,
  // so only differences are checked.
  Recorder recorder;
  auto host = Loaded(&recorder);
  REQUIRE(recorder.logs.size() == 1);
  CHECK(recorder.logs[0].id == 0);
  CHECK(recorder.logs[0].text == "init ran for native-test");
  auto [inits1, calls1] = Counts(InvokeOnce(host.get(), &recorder, 1, Get("/count")).body);
  auto [inits2, calls2] = Counts(InvokeOnce(host.get(), &recorder, 2, Get("/count")).body);
  CHECK(inits1 >= 1);
  CHECK(inits2 == inits1);      // no init between invocations
  CHECK(calls2 == calls1 + 1);  // state kept across invocations
  CHECK(recorder.logs.size() == 1);
}

TEST_CASE("NativeHost maps an escaping std::exception to kError with its type", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  protocol::InvokeResult r = InvokeOnce(host.get(), &recorder, 1, Get("/throw"));
  CHECK(r.outcome == protocol::Outcome::kError);
  CHECK(r.error_type == "std::out_of_range");
  CHECK(r.error_message == "index 7 is out of range");
  // The host stays usable.
  CHECK(InvokeOnce(host.get(), &recorder, 2, Get("/count")).outcome == protocol::Outcome::kOk);
}

TEST_CASE("NativeHost maps a thrown non-exception value to kError naming its type", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  protocol::InvokeResult r = InvokeOnce(host.get(), &recorder, 1, Get("/throw-int"));
  CHECK(r.outcome == protocol::Outcome::kError);
  CHECK(r.error_type == "int");
  CHECK(r.error_message == "a value that is not a std::exception was thrown");
}

TEST_CASE("NativeHost tags log lines with the invocation id", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  recorder.logs.clear();
  InvokeOnce(host.get(), &recorder, 42, Get("/log"));
  REQUIRE(recorder.logs.size() == 2);
  CHECK(recorder.logs[0].id == 42);
  CHECK(recorder.logs[0].level == protocol::LogLevel::kInfo);
  CHECK(recorder.logs[0].text == "hello from C++");
  CHECK(recorder.logs[1].level == protocol::LogLevel::kWarn);
}

TEST_CASE("NativeHost refuses an HTTP status outside 100-599", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  protocol::InvokeResult r = InvokeOnce(host.get(), &recorder, 1, Get("/bad-status"));
  CHECK(r.outcome == protocol::Outcome::kError);
  CHECK(r.error_message.find("999") != std::string::npos);
}

TEST_CASE("NativeHost returns binary bodies and event JSON unchanged", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  protocol::InvokeResult bin = InvokeOnce(host.get(), &recorder, 1, Get("/binary"));
  CHECK(bin.body == std::string("a\0b", 3));
  protocol::InvokeRequest event = Get("/event");
  event.kind = protocol::InvokeKind::kEvent;
  event.body = R"({"k":1})";
  CHECK(InvokeOnce(host.get(), &recorder, 2, event).body == R"({"k":1})");
}

TEST_CASE("NativeHost sets the function's environment before init", "[native]") {
  Recorder recorder;
  auto host = Loaded(&recorder);
  CHECK(InvokeOnce(host.get(), &recorder, 1, Get("/env")).body == "hi there");
}

TEST_CASE("NativeHost refuses a function built for another C ABI version", "[native][abi]") {
  Recorder recorder;
  auto host = NativeHost::Create(&recorder);
  Result<uint64_t> loaded = host->Load(LoadOf("abi_mismatch.so"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().rfind(
            "function built for Flint C ABI version 99, this worker supports " +
                std::to_string(FLINT_ABI_VERSION),
            0) == 0);
  CHECK_FALSE(host->loaded());
  CHECK(NativeHost::SupportedAbiVersion() == FLINT_ABI_VERSION);
}

TEST_CASE("NativeHost refuses a shared object that is not a Flint function", "[native][abi]") {
  Recorder recorder;
  auto host = NativeHost::Create(&recorder);
  Result<uint64_t> loaded = host->Load(LoadOf("no_abi.so"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().find("is not a Flint function") != std::string::npos);
}

TEST_CASE("NativeHost reports a missing or unloadable file", "[native]") {
  Recorder recorder;
  auto host = NativeHost::Create(&recorder);
  Result<uint64_t> loaded = host->Load(LoadOf("does_not_exist.so"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message().rfind("cannot load does_not_exist.so: ", 0) == 0);
}

TEST_CASE("NativeHost fails the load when the init hook throws", "[native]") {
  Recorder recorder;
  auto host = NativeHost::Create(&recorder);
  Result<uint64_t> loaded = host->Load(LoadOf("init_throws.so"));
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message() ==
        "the init hook failed: std::runtime_error: no configuration found");
  CHECK_FALSE(host->loaded());
}

}  // namespace
}  // namespace flint::runtime
