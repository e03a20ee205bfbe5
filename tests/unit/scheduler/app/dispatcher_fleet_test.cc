// The Dispatcher with the real WorkerFleet, FakeCgroups, fake worker processes and a real
// Meter: a request's way from HTTP through LOAD and INVOKE to the response, with the cgroup's
// figures in the pool's status.
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>

#include "scheduler/app/dispatcher.h"
#include "scheduler/app/worker_fleet.h"
#include "scheduler/isolation/fake_cgroups.h"
#include "scheduler/meter/meter.h"
#include "scheduler/store/ledger.h"
#include "scheduler/store/store.h"
#include "tests/unit/scheduler/app/fake_spawner.h"
#include "tests/unit/scheduler/app/test_http.h"
#include "tests/unit/scheduler/store/temp_dir.h"

namespace flint::scheduler {

using testing::FakeSpawner;
using testing::RunUntil;
using testing::TempDir;
using testing::TestHttp;

TEST_CASE("With cgroups, an invocation is loaded under its limits and metered from its cgroup",
          "[dispatcher][fleet]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  {
    auto store = Store::Open(dir.path());
    REQUIRE(store.ok());
    auto ledger = Ledger::Open((*store)->path());
    REQUIRE(ledger.ok());
    meter::MeterOptions metering;
    metering.journal_path = dir.Sub("ledger.journal");
    auto meter = meter::Meter::Start(&loop, std::move(ledger).value(), metering);
    REQUIRE(meter.ok());

    isolation::FakeCgroups cgroups;
    auto spawner = std::make_unique<FakeSpawner>(&loop);
    FakeSpawner& workers = *spawner;
    FleetOptions fleet_options;
    fleet_options.cgroups = &cgroups;
    fleet_options.spawn_off_loop = false;  // FakeSpawner is loop-thread only
    WorkerFleet fleet(&loop, fleet_options, std::move(spawner),
                      [](const FunctionVersion&) { return std::string("/code"); });
    DispatcherOptions options;
    options.meter = meter->get();
    Dispatcher dispatcher(&loop, options, &fleet);
    FunctionVersion fn;
    fn.name = "hello";
    fn.version = 1;
    fn.config.memory_mb = 256;
    dispatcher.SetLive(std::make_shared<const FunctionVersion>(fn));
    TestHttp http(&loop, [&](HttpRequest&& request, HttpResponder responder) {
      dispatcher.Invoke(dispatcher.FindLive("hello"), std::move(request), "/",
                        std::move(responder));
    });

    dispatcher.Start();
    REQUIRE(workers.requests.size() == kRuntimeCount);
    for (size_t i = 0; i < kRuntimeCount; ++i) workers.end(i).Hello(kRuntimes[i]);
    REQUIRE(RunUntil(&loop, [&] { return dispatcher.Node().generic_ready == kRuntimeCount; }));

    // The cold start takes the JS generic worker, w1: LOAD and INVOKE arrive together.
    testing::WorkerEnd& w1 = workers.end(0);
    cgroups.usage["w1"] = {5000, 32 << 20, 0};
    int call = http.Send("GET", "/fn/hello");
    REQUIRE(RunUntil(&loop, [&] { return !w1.invokes.empty(); }));
    REQUIRE(w1.loads.size() == 1);
    CHECK(cgroups.limits["w1"].memory_bytes ==
          isolation::LimitsFor(256, 0, isolation::CpuMode::kWeight).memory_bytes);
    w1.Loaded();
    w1.Result(w1.invokes[0], "hi", /*cpu_us=*/1000);
    auto r = http.Wait(call);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hi");
    CHECK(r->FindHeader("x-flint-cold-start") != nullptr);
    // The handler measured 1000 us; its cgroup says 5000 (GC and other threads): the record
    // carries the cgroup's figure, and its peak memory.
    auto pool = dispatcher.PoolStatuses("hello");
    REQUIRE(pool.size() == 1);
    CHECK(pool[0].cpu_us == 5000);
    CHECK(pool[0].peak_memory_bytes == 32u << 20);

    // The kernel kills the worker at its memory limit: the caller is told so, and the worker's
    // cgroup goes with it.
    cgroups.usage["w1"].oom_kills = 1;
    call = http.Send("GET", "/fn/hello");
    REQUIRE(RunUntil(&loop, [&] { return w1.invokes.size() == 2; }));
    w1.Crash();
    r = http.Wait(call);
    REQUIRE(r);
    CHECK(r->status == 502);
    auto error = nlohmann::json::parse(r->body)["error"];
    CHECK(error["type"] == "OutOfMemory");
    CHECK(error["message"] == "function exceeded its memory limit of 256 MB");
    CHECK(cgroups.live.count("w1") == 0);
  }
  uv_run(&loop, UV_RUN_NOWAIT);
  uv_loop_close(&loop);
}

}  // namespace flint::scheduler
