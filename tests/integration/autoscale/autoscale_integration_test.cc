// Autoscaling with real flintd and flint-worker processes: min_instances started without
// traffic and kept past the keep-alive, eviction of another function's idle worker under a
// small --memory-budget, and 503 with a reason when nothing can be evicted. State is polled
// with generous bounds; nothing asserts on latency.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kHello =
    "export const handler = async () => ({statusCode: 200, body: 'hi'});\n";

// Deploys kHello as `name`. These tests are about pools, not runtimes: on the lean runtime,
// whose workers start quickest.
void DeployHello(const FlintdProcess& flintd, const std::string& name,
                 std::vector<std::string> flags = {}) {
  flags.insert(flags.begin(), {"--runtime", "v8"});
  DeployJsOrFail(flintd, name, kHello, std::move(flags));
}

HttpResponse Invoke(const FlintdProcess& flintd, const std::string& name) {
  auto r = flintd.HttpGet("/fn/" + name);
  INFO("GET /fn/" << name << ": " << r.status().ToString() << "\n" << flintd.LogTail());
  REQUIRE(r.ok());
  return std::move(r).value();
}

// GET /v1/pools as JSON.
json Pools(const FlintdProcess& flintd) {
  auto r = flintd.HttpGet("/v1/pools", {{"Authorization", "Bearer " + flintd.token()}});
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
  return json::parse(r->body);
}

// The pool of `name` in GET /v1/pools, or null.
json PoolOf(const FlintdProcess& flintd, const std::string& name) {
  json all = Pools(flintd);  // kept alive for the loop: ["pools"] is a reference into it
  for (const auto& p : all["pools"]) {
    if (p["name"] == name) return p;
  }
  return nullptr;
}

uint64_t Idle(const FlintdProcess& flintd, const std::string& name) {
  json p = PoolOf(flintd, name);
  return p.is_null() ? 0 : p["workers"]["idle"].get<uint64_t>();
}

}  // namespace

TEST_CASE("min_instances workers start without traffic and outlive the keep-alive",
          "[integration][autoscale]") {
  FlintdProcess flintd({"--keep-alive", "200ms"});
  StartOrFail(flintd);
  DeployHello(flintd, "warm", {"--min-instances", "2", "--max-instances", "4"});
  bool warmed = WaitUntil([&] { return Idle(flintd, "warm") == 2; }, 20s);
  INFO(Pools(flintd).dump() << "\n" << flintd.LogTail());
  REQUIRE(warmed);
  // A worker names itself after its function just after it answers LOAD: wait for the names.
  CHECK(WaitUntil([&] { return flintd.FindWorkers("warm@").size() == 2; }, 5s));
  // Five keep-alives later, both are still there.
  std::this_thread::sleep_for(1s);
  CHECK(Idle(flintd, "warm") == 2);
  // The first request finds a warm worker: no cold start.
  HttpResponse r = Invoke(flintd, "warm");
  CHECK(r.status == 200);
  CHECK(r.FindHeader("x-flint-cold-start") == nullptr);
  // describe shows the setting and the pool.
  CliResult d = flintd.RunCli({"describe", "warm"});
  INFO(d.Describe());
  REQUIRE(d.exit_code == 0);
  CHECK(d.out.find("min instances:") != std::string::npos);
  CHECK(d.out.find("2 idle") != std::string::npos);
  // A function without min_instances scales to zero after its keep-alive.
  DeployHello(flintd, "cold");
  CHECK(Invoke(flintd, "cold").status == 200);
  CHECK(WaitUntil([&] { return flintd.FindWorkers("cold@").empty(); }, 20s));
  CHECK(Idle(flintd, "warm") == 2);
}

TEST_CASE("A full memory budget evicts the least recently used idle worker of another function",
          "[integration][autoscale]") {
  FlintdProcess flintd({"--memory-budget", "256"});
  StartOrFail(flintd);
  for (const char* name : {"a", "b", "c"}) DeployHello(flintd, name, {"--memory", "128"});
  CHECK(Invoke(flintd, "a").status == 200);
  CHECK(Invoke(flintd, "b").status == 200);
  REQUIRE(WaitUntil([&] { return Idle(flintd, "a") == 1 && Idle(flintd, "b") == 1; }));
  CHECK(Pools(flintd)["node"]["memory_used_mb"] == 256);
  // c needs 128 MB: a's worker is the least recently used.
  HttpResponse r = Invoke(flintd, "c");
  CHECK(r.status == 200);
  json a = PoolOf(flintd, "a");
  CHECK(a["evictions"] == 1);
  CHECK(Idle(flintd, "a") == 0);
  CHECK(Idle(flintd, "b") == 1);
  CHECK(Pools(flintd)["node"]["evictions"] == 1);
  CHECK(WaitUntil([&] { return flintd.FindWorkers("a@").empty(); }));
  // flint top shows the pools once and exits.
  CliResult top = flintd.RunCli({"top", "-n", "1"});
  INFO(top.Describe());
  REQUIRE(top.exit_code == 0);
  CHECK(top.out.find("EVICT") != std::string::npos);
  CHECK(top.out.find("memory 256/256 MB") != std::string::npos);
}

TEST_CASE("A request gets 503 with the reason when nothing can be evicted",
          "[integration][autoscale]") {
  FlintdProcess flintd({"--memory-budget", "256", "--queue-timeout", "1s"});
  StartOrFail(flintd);
  // The whole budget is held by a min_instances worker, which is never evicted.
  DeployHello(flintd, "big", {"--memory", "256", "--min-instances", "1"});
  REQUIRE(WaitUntil([&] { return Idle(flintd, "big") == 1; }, 20s));
  DeployHello(flintd, "small", {"--memory", "128"});
  HttpResponse r = Invoke(flintd, "small");
  CHECK(r.status == 503);
  CHECK(r.body.find("memory budget") != std::string::npos);
  CHECK(Idle(flintd, "big") == 1);
  // A function larger than the whole budget is refused at once, with its reason.
  DeployHello(flintd, "huge", {"--memory", "512"});
  HttpResponse h = Invoke(flintd, "huge");
  CHECK(h.status == 503);
  CHECK(h.body.find("needs 512 MB") != std::string::npos);
}

TEST_CASE("Reserved concurrency keeps memory for its function only", "[integration][autoscale]") {
  FlintdProcess flintd({"--memory-budget", "384", "--queue-timeout", "1s"});
  StartOrFail(flintd);
  DeployHello(flintd, "vip", {"--memory", "128", "--reserved-concurrency", "2"});
  DeployHello(flintd, "other", {"--memory", "256"});
  // 384 - 256 reserved for vip leaves 128: other's 256 MB worker never fits.
  HttpResponse r = Invoke(flintd, "other");
  CHECK(r.status == 503);
  CHECK(r.body.find("reserved for other functions") != std::string::npos);
  CHECK(Invoke(flintd, "vip").status == 200);
  CHECK(Pools(flintd)["node"]["memory_reserved_mb"] == 256);
}

TEST_CASE("Generic workers are pre-warmed per runtime and either serves both runtimes",
          "[integration][autoscale]") {
  // Only a C++ generic worker (no V8): a C++ function loads into it, and so does a JavaScript
  // function when no JavaScript one is ready (it starts V8 at LOAD).
  FlintdProcess flintd(
      {"--prewarm", "0", "--prewarm-cpp", "1", "--prewarm-node", "0", "--keep-alive", "100ms"});
  StartOrFail(flintd);
  auto generic_ready = [&] { return Pools(flintd)["node"]["generic_ready"].get<uint64_t>(); };
  REQUIRE(WaitUntil([&] { return generic_ready() == 1; }, 20s));
  CHECK(flintd.FindWorkers("--runtime v8").empty());  // --prewarm 0: no lean JavaScript pool
  CHECK_FALSE(flintd.FindWorkers("--runtime cpp").empty());

  TempDir dir("flint-fn");
  std::string cc = dir.Write("hi/index.cc", R"cc(
#include <flint/flint.h>
    flint::Response Hi(const flint::Request&, flint::Context&) {
      return flint::Response::Text("hi");
    }
    FLINT_HANDLER(Hi)
  )cc");
  CliResult built = flintd.RunCli({"deploy", "hi-cpp", cc}, {}, 180s);
  INFO(built.Describe() << "\n" << flintd.LogTail());
  REQUIRE(built.exit_code == 0);
  // (The deploy's load check took a C++ worker: the pool may have grown for a while.)
  REQUIRE(WaitUntil([&] { return generic_ready() >= 1; }, 20s));
  DeployHello(flintd, "hi-js");  // its load check runs in the C++ generic worker
  for (const char* name : {"hi-cpp", "hi-js"}) {
    REQUIRE(WaitUntil([&] { return generic_ready() >= 1; }, 20s));
    HttpResponse r = Invoke(flintd, name);
    INFO(name << ": " << r.body);
    CHECK(r.status == 200);
    CHECK(r.body == "hi");
    CHECK(r.FindHeader("x-flint-cold-start") != nullptr);
  }
}
