// WorkerFleet with FakeCgroups and a fake spawner: each "worker" is a real child process that
// only sleeps (so pidfds, reaping and SIGKILL are real), and the test speaks the worker
// protocol on the other end of its socketpair. What it checks: the generic pools per runtime,
// cgroups (created before the spawn, limits preset and written at LOAD, removed after the exit),
// the memory budget with eviction, load checks, and what the observer hears.
#include "scheduler/app/worker_fleet.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/isolation/fake_cgroups.h"
#include "tests/unit/scheduler/app/fake_spawner.h"
#include "tests/unit/scheduler/app/test_http.h"

namespace flint::scheduler {
namespace {

using testing::FakeSpawner;
using testing::RunUntil;
using testing::WorkerEnd;

// Records what the fleet reports; pools hand over `evictable` workers on request.
struct Recorder final : Fleet::Observer {
  void OnWorkerHello(WorkerId worker, const std::string& pool_key) override {
    hellos.push_back({worker, pool_key});
  }
  void OnWorkerLoaded(WorkerId worker, const std::string&, const protocol::Loaded&) override {
    loaded.push_back(worker);
  }
  void OnWorkerLoadFailed(WorkerId worker, const std::string&, const std::string& message,
                          std::vector<InvocationId>) override {
    load_failures.push_back({worker, message});
  }
  void OnWorkerResult(WorkerId worker, const std::string&, InvocationId id,
                      protocol::InvokeResult result) override {
    results.push_back({worker, id, result.body});
  }
  void OnWorkerLog(WorkerId, const std::string&, InvocationId, protocol::LogLine) override {}
  void OnWorkerChannelClosed(WorkerId, const std::string&) override {}
  void OnWorkerExit(WorkerId worker, const std::string& pool_key, WorkerExit exit) override {
    exits.push_back({worker, pool_key, std::move(exit)});
    if (on_exit) on_exit();
  }
  std::vector<EvictionCandidate> EvictionCandidates() const override { return evictable; }
  bool Evict(WorkerId worker, const std::string&) override {
    evicted.push_back(worker);
    return true;
  }
  struct Hello {
    WorkerId worker;
    std::string pool_key;
  };
  struct Failure {
    WorkerId worker;
    std::string message;
  };
  struct ResultSeen {
    WorkerId worker;
    InvocationId id;
    std::string body;
  };
  struct Exit {
    WorkerId worker;
    std::string pool_key;
    WorkerExit exit;
  };
  std::vector<Hello> hellos;
  std::vector<WorkerId> loaded;
  std::vector<Failure> load_failures;
  std::vector<ResultSeen> results;
  std::vector<Exit> exits;
  std::vector<EvictionCandidate> evictable;
  std::vector<WorkerId> evicted;
  std::function<void()> on_exit;
};

struct Fixture {
  // `off_loop`: spawns run on the thread pool, as in flintd.
  explicit Fixture(uint32_t prewarm_each = 1, uint64_t budget_mb = 1024, bool off_loop = false,
                   isolation::CpuMode cpu_mode = isolation::CpuMode::kWeight)
      : off_loop(off_loop) {
    uv_loop_init(&loop);
    auto owned = std::make_unique<FakeSpawner>(&loop, off_loop);
    spawner = owned.get();
    FleetOptions options;
    options.worker_path = "/nonexistent/flint-worker";
    options.prewarm = FleetOptions::MakePrewarm(prewarm_each);
    options.memory_budget_mb = budget_mb;
    options.cgroups = &cgroups;
    options.cpu_mode = cpu_mode;
    options.spawn_off_loop = off_loop;
    fleet =
        std::make_unique<WorkerFleet>(&loop, options, std::move(owned),
                                      [](const FunctionVersion& fn) { return "/code/" + fn.name; });
    fleet->SetObserver(&observer);
  }
  ~Fixture() {
    fleet.reset();  // kills and reaps every child still running
    spawner = nullptr;
    // Spawns still on the thread pool finish (and kill what they started) before the loop goes.
    if (off_loop) RunUntil(&loop, [&] { return !uv_loop_alive(&loop); });
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
  }
  FunctionVersion Function(const std::string& name, Runtime runtime, uint32_t memory_mb = 128) {
    FunctionVersion fn;
    fn.name = name;
    fn.version = 1;
    fn.runtime = runtime;
    fn.entry = runtime == Runtime::kCpp ? "function.so" : "index.mjs";
    fn.config.memory_mb = memory_mb;
    return fn;
  }
  // Starts the generic pools and has every worker say HELLO.
  void PreWarm() {
    fleet->Start();
    for (size_t i = 0; i < spawner->requests.size(); ++i) {
      spawner->end(i).Hello(spawner->requests[i].runtime);
    }
    REQUIRE(RunUntil(&loop, [&] { return fleet->stats().generic_ready == spawner->ends.size(); }));
  }
  bool Run(const std::function<bool()>& done) { return RunUntil(&loop, done); }

  bool off_loop;
  uv_loop_t loop;
  isolation::FakeCgroups cgroups;
  Recorder observer;
  FakeSpawner* spawner = nullptr;
  std::unique_ptr<WorkerFleet> fleet;
};

}  // namespace

TEST_CASE("WorkerFleet pre-warms a generic worker per runtime, each in its own cgroup", "[fleet]") {
  Fixture f;
  f.PreWarm();
  REQUIRE(f.spawner->requests.size() == kRuntimeCount);
  for (size_t i = 0; i < kRuntimeCount; ++i) {
    const SpawnRequest& request = f.spawner->requests[i];
    CHECK(request.runtime == kRuntimes[i]);
    CHECK(request.worker_path == "/nonexistent/flint-worker");
    std::string cgroup = WorkerFleet::CgroupName(i + 1);
    // Created before the spawn; the child joins it before exec.
    CHECK(request.cgroup_procs ==
          std::vector<std::string>{"/nonexistent/" + cgroup + "/cgroup.procs"});
    // The smallest function size's limits, preset at HELLO.
    REQUIRE(f.cgroups.presets.count(cgroup) == 1);
    CHECK(f.cgroups.presets[cgroup].memory_bytes ==
          isolation::LimitsFor(kMinMemoryMb, 0, isolation::CpuMode::kWeight).memory_bytes);
  }
  CHECK(f.fleet->stats().workers == kRuntimeCount);
  for (Runtime runtime : kRuntimes) CHECK(f.fleet->ReloadDelayMs(runtime) == 0);
  CHECK(f.observer.hellos.empty());  // generic workers are the fleet's own
}

TEST_CASE("WorkerFleet gives workers CPU weights, and quotas only where asked for", "[fleet]") {
  for (auto mode : {isolation::CpuMode::kWeight, isolation::CpuMode::kProportionalQuota}) {
    Fixture f(1, 4096, /*off_loop=*/false, mode);
    f.PreWarm();
    bool quotas = mode == isolation::CpuMode::kProportionalQuota;
    // A pre-warmed worker holds the smallest function's limits, in the node's mode.
    const isolation::Limits& preset = f.cgroups.presets[WorkerFleet::CgroupName(1)];
    CHECK(preset.cpu_shares == 74);
    CHECK(preset.cpu_quota_us == (quotas ? 7235 : 0));
    // 1769 MB: one vCPU's weight; a quota of one CPU only in proportional-quota mode.
    FunctionVersion full = f.Function("full", Runtime::kV8, 1769);
    Fleet::Placement p = f.fleet->StartWorker(full, "full@1");
    REQUIRE(p.kind == Fleet::Placement::Kind::kStarted);
    REQUIRE(f.fleet->Load(p.worker, full));
    const isolation::Limits& written = f.cgroups.limits[WorkerFleet::CgroupName(p.worker)];
    CHECK(written.cpu_shares == isolation::kCpuSharesPerVcpu);
    CHECK(written.cpu_quota_us == (quotas ? isolation::kCpuPeriodUs : 0));
    // A function's own `cpu` is a hard quota in either mode, and sets its weight.
    FunctionVersion capped = f.Function("capped", Runtime::kCpp, 128);
    capped.config.cpu_millis = 1500;
    p = f.fleet->StartWorker(capped, "capped@1");
    REQUIRE(p.kind == Fleet::Placement::Kind::kStarted);
    REQUIRE(f.fleet->Load(p.worker, capped));
    const isolation::Limits& own = f.cgroups.limits[WorkerFleet::CgroupName(p.worker)];
    CHECK(own.cpu_quota_us == 150'000);
    CHECK(own.cpu_period_us == isolation::kCpuPeriodUs);
    CHECK(own.cpu_shares == 1536);
  }
}

TEST_CASE(
    "WorkerFleet gives a function the generic worker of its runtime and writes its limits at LOAD",
    "[fleet]") {
  Fixture f;
  f.PreWarm();
  FunctionVersion fn = f.Function("native", Runtime::kCpp, 512);
  Fleet::Placement p = f.fleet->StartWorker(fn, "native@1");
  REQUIRE(p.kind == Fleet::Placement::Kind::kStarted);
  CHECK(p.loadable);
  size_t cpp = static_cast<size_t>(Runtime::kCpp);
  CHECK(p.worker == cpp + 1);  // the C++ generic worker
  CHECK(f.fleet->stats().generic_ready == kRuntimeCount - 1);
  CHECK(f.fleet->stats().memory_used_mb == 512);
  REQUIRE(f.fleet->Load(p.worker, fn));
  CHECK(f.cgroups.limits[WorkerFleet::CgroupName(p.worker)].memory_bytes ==
        isolation::LimitsFor(512, 0, isolation::CpuMode::kWeight).memory_bytes);
  WorkerEnd& end = f.spawner->end(cpp);
  REQUIRE(f.Run([&] { return !end.loads.empty(); }));
  CHECK(end.loads[0].runtime == "cpp");
  CHECK(end.loads[0].function_name == "native");
  CHECK(end.loads[0].code_dir == "/code/native");
  CHECK(end.loads[0].memory_mb == 512);
  // Pipelined right behind the LOAD, reported once answered.
  f.fleet->Invoke(p.worker, 7, protocol::InvokeRequest{}.Encode());
  CHECK(f.fleet->InFlight(p.worker) == std::vector<InvocationId>{7});
  end.Loaded();
  end.Result(7, "done");
  REQUIRE(f.Run([&] { return !f.observer.results.empty(); }));
  CHECK(f.observer.loaded == std::vector<WorkerId>{p.worker});
  CHECK(f.observer.results[0].body == "done");
  CHECK(f.fleet->InFlight(p.worker).empty());
}

TEST_CASE("WorkerFleet takes a generic worker of another runtime before it spawns", "[fleet]") {
  Fixture f;
  f.PreWarm();
  Fleet::Placement first = f.fleet->StartWorker(f.Function("a", Runtime::kV8), "a@1");
  Fleet::Placement second = f.fleet->StartWorker(f.Function("b", Runtime::kV8), "b@1");
  REQUIRE(second.kind == Fleet::Placement::Kind::kStarted);
  CHECK(second.loadable);
  CHECK(second.worker != first.worker);
  CHECK(f.spawner->requests.size() == kRuntimeCount);  // no spawn yet
  // None left: the next one is spawned, and loaded after its HELLO.
  Fleet::Placement third = f.fleet->StartWorker(f.Function("c", Runtime::kV8), "c@1");
  REQUIRE(third.kind == Fleet::Placement::Kind::kStarted);
  CHECK_FALSE(third.loadable);
  REQUIRE(f.spawner->requests.size() == kRuntimeCount + 1);
  CHECK(f.spawner->requests.back().runtime == Runtime::kV8);
  CHECK(f.fleet->ReloadDelayMs(Runtime::kV8) > 0);
  CHECK(f.fleet->ReloadDelayMs(Runtime::kNode) == 0);  // its own generic worker is still ready
  f.spawner->ends.back()->Hello(Runtime::kV8);
  REQUIRE(f.Run([&] { return !f.observer.hellos.empty(); }));
  CHECK(f.observer.hellos[0].worker == third.worker);
  CHECK(f.observer.hellos[0].pool_key == "c@1");
  // Refill tops the generic pools up again, the lean JavaScript one beyond its floor: three cold
  // starts came within one refill time, so it holds four now (and the C++ and Node.js ones
  // their floors; the Node.js worker was never taken).
  f.fleet->Refill(/*cold_start_in_flight=*/false);
  CHECK(f.fleet->stats().generic_target == 4 + 1 + 1);
  CHECK(f.fleet->stats().generic_spawning == 4 + 1);
  CHECK(f.spawner->requests.size() == kRuntimeCount + 1 + 4 + 1);
}

TEST_CASE("WorkerFleet kills a worker whose limits cannot be set instead of loading it",
          "[fleet]") {
  Fixture f;
  f.PreWarm();
  Fleet::Placement p = f.fleet->StartWorker(f.Function("a", Runtime::kV8), "a@1");
  f.cgroups.live.erase(WorkerFleet::CgroupName(p.worker));  // SetLimits fails
  CHECK_FALSE(f.fleet->Load(p.worker, f.Function("a", Runtime::kV8)));
  REQUIRE(f.Run([&] { return !f.observer.exits.empty(); }));
  CHECK(f.observer.exits[0].worker == p.worker);
  CHECK(f.observer.exits[0].exit.reason == "signal SIGKILL (9)");
  CHECK(f.spawner->end(0).loads.empty());
}

TEST_CASE(
    "WorkerFleet reports an exit with its invocations and memory kill, then removes the cgroup",
    "[fleet]") {
  Fixture f;
  f.PreWarm();
  FunctionVersion fn = f.Function("a", Runtime::kV8, 256);
  Fleet::Placement p = f.fleet->StartWorker(fn, "a@1");
  REQUIRE(f.fleet->Load(p.worker, fn));
  f.fleet->Invoke(p.worker, 1, protocol::InvokeRequest{}.Encode());
  f.fleet->Invoke(p.worker, 2, protocol::InvokeRequest{}.Encode());
  std::string cgroup = WorkerFleet::CgroupName(p.worker);
  f.cgroups.usage[cgroup].oom_kills = 1;
  f.cgroups.busy.insert(cgroup);  // a process lingers: removal is retried
  // While the observer hears of the exit, the memory is released and the cgroup still there.
  uint64_t used_at_exit = 999;
  bool cgroup_at_exit = false;
  f.observer.on_exit = [&] {
    used_at_exit = f.fleet->stats().memory_used_mb;
    cgroup_at_exit = f.cgroups.live.count(cgroup) > 0;
  };
  f.spawner->end(static_cast<size_t>(p.worker - 1)).Crash();
  REQUIRE(f.Run([&] { return !f.observer.exits.empty(); }));
  const WorkerExit& exit = f.observer.exits[0].exit;
  CHECK(exit.oom);
  CHECK(exit.in_flight == std::vector<InvocationId>{1, 2});
  CHECK(used_at_exit == 0);
  CHECK(cgroup_at_exit);
  CHECK_FALSE(f.fleet->Has(p.worker));
  f.cgroups.busy.clear();
  f.fleet->Tick();
  CHECK(f.cgroups.live.count(cgroup) == 0);
}

TEST_CASE("WorkerFleet evicts an idle worker of another function when memory is short", "[fleet]") {
  Fixture f(/*prewarm_each=*/1, /*budget_mb=*/256);
  f.PreWarm();
  FunctionVersion a = f.Function("a", Runtime::kV8, 256);
  Fleet::Placement pa = f.fleet->StartWorker(a, "a@1");
  REQUIRE(pa.kind == Fleet::Placement::Kind::kStarted);
  // No idle worker to give up: wait.
  FunctionVersion b = f.Function("b", Runtime::kV8, 128);
  Fleet::Placement waiting = f.fleet->StartWorker(b, "b@1");
  CHECK(waiting.kind == Fleet::Placement::Kind::kWait);
  CHECK_FALSE(waiting.reason.empty());
  // a's worker is idle: it goes (SHUTDOWN), b starts.
  f.observer.evictable = {{pa.worker, "a", 256, 0}};
  Fleet::Placement pb = f.fleet->StartWorker(b, "b@1");
  REQUIRE(pb.kind == Fleet::Placement::Kind::kStarted);
  CHECK(f.observer.evicted == std::vector<WorkerId>{pa.worker});
  CHECK(f.fleet->stats().evictions == 1);
  CHECK(f.fleet->stats().memory_used_mb == 128);
  WorkerEnd& a_end = f.spawner->end(static_cast<size_t>(pa.worker - 1));
  REQUIRE(f.Run([&] { return a_end.Got(protocol::MessageType::kShutdown); }));
  // Larger than the whole budget: never.
  Fleet::Placement never = f.fleet->StartWorker(f.Function("c", Runtime::kV8, 512), "c@1");
  CHECK(never.kind == Fleet::Placement::Kind::kNever);
}

TEST_CASE("WorkerFleet checks a deploy in a worker of its own and stops it", "[fleet]") {
  Fixture f;
  f.PreWarm();
  std::vector<Status> done;
  // A Node.js function: only the Node.js generic worker, the first, can load it.
  f.fleet->CheckLoads(f.Function("good", Runtime::kNode), [&](Status s) { done.push_back(s); });
  WorkerEnd& end = f.spawner->end(0);
  REQUIRE(f.Run([&] { return !end.loads.empty(); }));
  CHECK(done.empty());
  end.Loaded();
  REQUIRE(f.Run([&] { return !done.empty(); }));
  CHECK(done[0].ok());
  REQUIRE(f.Run([&] { return end.Got(protocol::MessageType::kShutdown); }));
  CHECK(f.observer.loaded.empty());  // not a pool's worker

  f.fleet->CheckLoads(f.Function("bad", Runtime::kCpp), [&](Status s) { done.push_back(s); });
  WorkerEnd& cpp = f.spawner->end(2);  // the C++ generic worker (node, v8, cpp)
  REQUIRE(f.Run([&] { return !cpp.loads.empty(); }));
  cpp.LoadFailed("function.so: undefined symbol");
  REQUIRE(f.Run([&] { return done.size() == 2; }));
  CHECK(done[1].code() == Code::kInvalidArgument);
  CHECK(done[1].message() == "function.so: undefined symbol");
  CHECK(f.observer.load_failures.empty());
}

TEST_CASE("WorkerFleet removes the cgroup of a worker it could not spawn", "[fleet]") {
  Fixture f;
  f.spawner->fail = true;
  f.fleet->Start();
  CHECK(f.fleet->size() == 0);
  REQUIRE(f.cgroups.removed.size() == 1);  // the first spawn failed; the refill stopped there
  CHECK(f.cgroups.live.empty());
  std::vector<Status> done;
  f.fleet->CheckLoads(f.Function("x", Runtime::kV8), [&](Status s) { done.push_back(s); });
  REQUIRE(done.size() == 1);  // at once: no worker could start
  CHECK(done[0].code() == Code::kUnavailable);
}

TEST_CASE("WorkerFleet spawns off the loop thread; a cold start takes a worker still starting",
          "[fleet][generic]") {
  Fixture f(/*prewarm_each=*/1, /*budget_mb=*/1024, /*off_loop=*/true);
  f.fleet->Start();
  // Start returns before any process exists: the workers are there, starting.
  CHECK(f.fleet->stats().generic_spawning == kRuntimeCount);
  REQUIRE(f.Run([&] { return f.spawner->spawned() == kRuntimeCount; }));
  for (size_t i = 0; i < kRuntimeCount; ++i)
    f.spawner->end(i).Hello(f.spawner->requests[i].runtime);
  REQUIRE(f.Run([&] { return f.fleet->stats().generic_ready == kRuntimeCount; }));
  // Two cold starts take the ready workers; the third finds none ready and none starting: it
  // spawns its own, loaded at its HELLO.
  Fleet::Placement a = f.fleet->StartWorker(f.Function("a", Runtime::kV8), "a@1");
  Fleet::Placement b = f.fleet->StartWorker(f.Function("b", Runtime::kV8), "b@1");
  CHECK(a.loadable);
  CHECK(b.loadable);
  Fleet::Placement c = f.fleet->StartWorker(f.Function("c", Runtime::kV8), "c@1");
  REQUIRE(c.kind == Fleet::Placement::Kind::kStarted);
  CHECK_FALSE(c.loadable);
  CHECK(f.fleet->stats().spawn_waits == 1);
  // The takes grew the JavaScript pool's target beyond its floor; the refill (the loop's next
  // turn) spawns towards it, and the next cold start takes one of those, still starting,
  // rather than spawning a process of its own.
  CHECK(f.fleet->stats().generic_target > kRuntimeCount);
  REQUIRE(f.Run([&] { return f.fleet->stats().generic_spawning > 0; }));
  size_t workers = f.fleet->size();
  Fleet::Placement d = f.fleet->StartWorker(f.Function("d", Runtime::kV8), "d@1");
  CHECK_FALSE(d.loadable);
  CHECK(f.fleet->size() == workers);  // no process of its own
  CHECK(f.fleet->stats().spawn_waits == 2);
  // Every process started says HELLO: c's and d's reach their pools, the others the pool.
  REQUIRE(f.Run([&] { return f.spawner->spawned() == f.fleet->size(); }));
  for (size_t i = 0; i < f.spawner->spawned(); ++i) f.spawner->end(i).Hello(Runtime::kV8);
  REQUIRE(f.Run([&] { return f.observer.hellos.size() == 2; }));
  std::map<WorkerId, std::string> hellos;
  for (const auto& h : f.observer.hellos) hellos[h.worker] = h.pool_key;
  CHECK(hellos[c.worker] == "c@1");
  CHECK(hellos[d.worker] == "d@1");
}

TEST_CASE("WorkerFleet kills a worker stopped before its process existed", "[fleet][generic]") {
  Fixture f(/*prewarm_each=*/0, /*budget_mb=*/1024, /*off_loop=*/true);
  Fleet::Placement p = f.fleet->StartWorker(f.Function("a", Runtime::kV8), "a@1");
  REQUIRE(p.kind == Fleet::Placement::Kind::kStarted);
  f.fleet->Stop(p.worker);  // before the spawn finished
  REQUIRE(f.Run([&] { return !f.observer.exits.empty(); }));
  CHECK(f.observer.exits[0].worker == p.worker);
  CHECK(f.observer.exits[0].exit.reason == "signal SIGKILL (9)");
  CHECK(f.fleet->stats().memory_used_mb == 0);
}

TEST_CASE("WorkerFleet reports a spawn that failed off the loop as the worker's exit",
          "[fleet][generic]") {
  Fixture f(/*prewarm_each=*/0, /*budget_mb=*/1024, /*off_loop=*/true);
  f.spawner->fail = true;
  Fleet::Placement p = f.fleet->StartWorker(f.Function("a", Runtime::kV8), "a@1");
  REQUIRE(p.kind == Fleet::Placement::Kind::kStarted);
  CHECK(f.observer.exits.empty());  // never from inside StartWorker
  REQUIRE(f.Run([&] { return !f.observer.exits.empty(); }));
  CHECK(f.observer.exits[0].worker == p.worker);
  CHECK(f.observer.exits[0].pool_key == "a@1");
  CHECK(f.observer.exits[0].exit.reason.find("fake: spawning fails") != std::string::npos);
  CHECK(f.fleet->size() == 0);
  CHECK(f.cgroups.live.empty());
}

TEST_CASE("WorkerFleet with --prewarm 0 keeps no generic worker however many cold starts come",
          "[fleet][generic]") {
  Fixture f(/*prewarm_each=*/0);
  f.fleet->Start();
  for (int i = 0; i < 5; ++i) {
    (void)f.fleet->StartWorker(f.Function("f" + std::to_string(i), Runtime::kV8), "f@1");
  }
  f.fleet->Refill(false);
  CHECK(f.fleet->stats().generic_target == 0);
  CHECK(f.fleet->stats().generic_spawning == 0);
  CHECK(f.spawner->requests.size() == 5);  // one spawn per cold start, none for a pool
}

}  // namespace flint::scheduler
