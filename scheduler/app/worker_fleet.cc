#include "scheduler/app/worker_fleet.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

namespace flint::scheduler {
namespace {

// How long a worker asked to exit has before it is SIGKILLed.
constexpr uint64_t kStopGraceMs = 1000;
// Spawns one refill asks for before it lets the loop turn (each creates a cgroup on the loop,
// a fraction of a millisecond); the rest follow on the next turns.
constexpr int kSpawnsPerRefill = 4;
// Generic workers starting at once (spawned, not yet HELLO), at most: starting a JavaScript
// worker costs ~40 ms of CPU, and on a busy node a storm of starts makes each one slower, the
// measured refill time longer and the pools' targets larger still. Refills resume as workers
// say HELLO.
constexpr size_t kMaxStarting = 4;
// How long takes count towards a generic pool's size.
constexpr uint64_t kGenericWindowMs = 30'000;

// What a ready or spawning generic worker is counted at against prewarm_memory_mb: its
// proportional memory (PSS), with the sandbox's init process, rounded up (measured: a JS worker
// 3.4 MB, a C++ one 1.1 MB; docs/autoscaling.md). A pre-warmed Node.js worker holds Node.js's
// own heap and the common built-ins: about 60 MB resident, part of it the node binary that the
// workers share; counted at 48 MB until tools/bench/node.py memory measures it.
uint64_t GenericWorkerMb(Runtime runtime) {
  switch (runtime) {
    case Runtime::kNode:
      return 48;
    case Runtime::kV8:
      return 8;
    case Runtime::kCpp:
      return 4;
  }
  return 8;
}

}  // namespace

WorkerFleet::WorkerFleet(uv_loop_t* loop, FleetOptions options,
                         std::unique_ptr<WorkerSpawner> spawner, CodeDirFn code_dir)
    : loop_(loop),
      options_(std::move(options)),
      spawner_(std::move(spawner)),
      code_dir_(std::move(code_dir)),
      capacity_(options_.memory_budget_mb),
      refill_timer_(loop) {
  if (options_.prewarm_memory_mb == 0) options_.prewarm_memory_mb = options_.memory_budget_mb / 8;
  for (Runtime runtime : kRuntimes) {
    GenericPoolTargetOptions target;
    target.floor = options_.prewarm[static_cast<size_t>(runtime)];
    target.ceiling = static_cast<uint32_t>(
        std::min<uint64_t>(options_.prewarm_memory_mb / GenericWorkerMb(runtime), 1000));
    target.window_ms = kGenericWindowMs;
    GenericFor(runtime).target = GenericPoolTarget(target);
  }
}

WorkerFleet::~WorkerFleet() {
  *alive_ = false;  // spawns still running on the thread pool kill what they start
  // Worker destructors SIGKILL anything still running: no orphan survives flintd.
  workers_.clear();
  dead_workers_.clear();
  // Best effort: what is still busy goes with the Cgroups subtree when flintd exits.
  if (options_.cgroups != nullptr) {
    for (WorkerId id : cgroups_to_remove_) (void)options_.cgroups->Remove(CgroupName(id));
  }
}

void WorkerFleet::Start() { RefillGeneric(); }

Worker* WorkerFleet::Find(WorkerId id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : it->second.get();
}

// ---- periodic work ---------------------------------------------------------------------------

void WorkerFleet::Tick() {
  dead_workers_.clear();
  if (!cgroups_to_remove_.empty()) {
    std::vector<WorkerId> retry;
    retry.swap(cgroups_to_remove_);
    for (WorkerId id : retry) RemoveCgroup(id);
  }
  uint64_t now = uv_now(loop_);
  for (auto it = load_checks_.begin(); it != load_checks_.end();) {
    if (now < it->second.deadline_ms) {
      ++it;
      continue;
    }
    auto done = std::move(it->second.done);
    WorkerId wid = it->first;
    it = load_checks_.erase(it);
    if (Worker* w = Find(wid)) w->Kill();
    done(Status(Code::kFunctionTimeout, "loading the function took longer than " +
                                            std::to_string(options_.load_timeout_ms) + " ms"));
  }
  // A worker that never finished starting or loading is killed; its exit frees its pool slot.
  for (auto& [wid, w] : workers_) {
    bool starting = w->state() == Worker::State::kStarting || w->state() == Worker::State::kLoading;
    // A pre-warmed worker's LOAD is timed from when it was sent, not from the spawn.
    uint64_t since = w->load_sent_ns() != 0 ? w->load_sent_ns() : w->spawned_at_ns();
    if (starting && (uv_hrtime() - since) / 1'000'000 > options_.load_timeout_ms) {
      spdlog::warn("worker {} (pid {}) did not start within {} ms; killing it", wid, w->pid(),
                   options_.load_timeout_ms);
      w->Kill();
    }
  }
}

void WorkerFleet::Refill(bool /*cold_start_in_flight*/) {
  // Spawns no longer block the loop (they run on the thread pool), so a cold start in flight
  // no longer puts the refill off.
  TrimGeneric();
  RefillGeneric();
}

void WorkerFleet::StopAll() {
  stopping_ = true;
  for (GenericPool& generic : generic_) {
    for (WorkerId wid : generic.ready) workers_.at(wid)->Stop(kStopGraceMs);
    generic.ready.clear();
  }
  for (auto& [wid, w] : workers_) {
    if (w->state() != Worker::State::kDead) w->Stop(kStopGraceMs);
  }
}

// ---- generic workers -------------------------------------------------------------------------

uint64_t WorkerFleet::GenericMemoryMb() const {
  uint64_t mb = 0;
  for (Runtime runtime : kRuntimes) {
    const GenericPool& generic = generic_[static_cast<size_t>(runtime)];
    mb += (generic.ready.size() + generic.spawning.size()) * GenericWorkerMb(runtime);
  }
  return mb;
}

void WorkerFleet::RefillSoon() {
  if (refill_due_ || stopping_) return;
  refill_due_ = true;
  refill_timer_.Start(0, 0, [this] {
    refill_due_ = false;
    RefillGeneric();
  });
}

void WorkerFleet::RefillGeneric() {
  if (stopping_) return;
  uint64_t now = uv_now(loop_);
  int spawns = 0;
  size_t starting = 0;
  for (const GenericPool& generic : generic_) starting += generic.spawning.size();
  for (Runtime runtime : kRuntimes) {
    GenericPool& generic = GenericFor(runtime);
    uint32_t want = generic.target.Target(now);
    while (generic.ready.size() + generic.spawning.size() < want) {
      // Below its floor a pool always refills; above it, a few starts at a time (HELLO or the
      // next Refill resumes).
      bool below_floor =
          generic.ready.size() + generic.spawning.size() < generic.target.options().floor;
      if (!below_floor && starting >= kMaxStarting) break;
      // Above its floor a pool grows only within the memory for generic workers.
      if (!below_floor &&
          GenericMemoryMb() + GenericWorkerMb(runtime) > options_.prewarm_memory_mb) {
        break;
      }
      if (spawns == kSpawnsPerRefill) return RefillSoon();
      auto worker = SpawnWorker(runtime);
      if (!worker.ok()) {
        // Retried by the next Refill; a missing binary must not spin the loop.
        spdlog::error("cannot start a pre-warmed {} worker: {}", RuntimeName(runtime),
                      worker.status().message());
        return;
      }
      generic.spawning.push_back((*worker)->id());
      spawns++;
      starting++;
    }
  }
}

void WorkerFleet::TrimGeneric() {
  uint64_t now = uv_now(loop_);
  for (Runtime runtime : kRuntimes) {
    GenericPool& generic = GenericFor(runtime);
    uint32_t want = generic.target.Target(now);
    if (generic.ready.empty() || generic.ready.size() + generic.spawning.size() <= want) continue;
    WorkerId oldest = generic.ready.front();
    generic.ready.erase(generic.ready.begin());
    if (Worker* w = Find(oldest)) w->Stop(kStopGraceMs);
  }
}

namespace {

// True when a generic worker pre-warmed for `worker` can load a function of `function`: a
// flint-worker loads a lean JavaScript or a C++ function (LOAD names it); a Node.js worker is
// Node.js, and only it runs Node.js functions.
bool CanLoad(Runtime worker, Runtime function) {
  if (worker == function) return true;
  return worker != Runtime::kNode && function != Runtime::kNode;
}

}  // namespace

uint64_t WorkerFleet::ReloadDelayMs(Runtime runtime) const {
  for (Runtime from : kRuntimes) {
    if (CanLoad(from, runtime) && !generic_[static_cast<size_t>(from)].ready.empty()) return 0;
  }
  return kHousekeepingMs + generic_spawn_us_.Percentile(90) / 1000;
}

Result<Worker*> WorkerFleet::AcquireWorker(Runtime runtime) {
  GenericFor(runtime).target.Took(uv_now(loop_));
  RefillSoon();  // on the loop's next turn, after this cold start's LOAD has gone out
  // One pre-warmed for the function's runtime is best; another that can load it (LOAD names
  // the runtime) still beats waiting for a spawn.
  std::vector<Runtime> order = {runtime};
  for (Runtime other : kRuntimes) {
    if (other != runtime && CanLoad(other, runtime)) order.push_back(other);
  }
  for (Runtime from : order) {
    GenericPool& generic = GenericFor(from);
    if (generic.ready.empty()) continue;
    Worker* w = workers_.at(generic.ready.front()).get();
    generic.ready.erase(generic.ready.begin());
    return w;
  }
  spawn_waits_++;
  // None ready: the spawn nearest to ready (its runtime's first), which the refill replaces.
  for (Runtime from : order) {
    GenericPool& generic = GenericFor(from);
    if (generic.spawning.empty()) continue;
    Worker* w = workers_.at(generic.spawning.front()).get();
    generic.spawning.erase(generic.spawning.begin());
    spdlog::debug("no pre-warmed {} worker is ready: taking worker {}, still starting",
                  RuntimeName(runtime), w->id());
    return w;
  }
  spdlog::debug("no pre-warmed {} worker is ready or starting: spawning one", RuntimeName(runtime));
  return SpawnWorker(runtime);
}

Result<Worker*> WorkerFleet::SpawnWorker(Runtime runtime) {
  WorkerId id = next_worker_id_++;
  SpawnRequest request;
  request.worker_path = options_.worker_path;
  request.runtime = runtime;
  if (options_.sandbox) request.extra_args = {"--sandbox", "on", "--code-root", options_.code_root};
  if (options_.cgroups != nullptr) {
    // Created here, on the loop (Cgroups is loop-thread only); the child joins it before exec.
    auto procs = options_.cgroups->Create(CgroupName(id));
    if (!procs.ok()) {
      if (options_.on_spawn) options_.on_spawn(procs.status());
      return procs.status();
    }
    request.cgroup_procs = std::move(procs).value();
  }
  auto worker = std::make_unique<Worker>(loop_, id, runtime, static_cast<Worker::Observer*>(this));
  Worker* raw = worker.get();
  if (!options_.spawn_off_loop) {
    auto spawned = spawner_->Spawn(request);
    Status started = spawned.ok() ? raw->Attach(*spawned) : spawned.status();
    if (options_.on_spawn) options_.on_spawn(started);
    if (!started.ok()) {
      worker.reset();  // kills and reaps the process, if there is one
      RemoveCgroup(id);
      return started;
    }
    workers_.emplace(id, std::move(worker));
    return raw;
  }
  workers_.emplace(id, std::move(worker));
  // The spawn runs on the thread pool: the parent waits there until the child has joined its
  // cgroups and exec'd. (Its parent-death signal follows the spawning thread, a thread-pool
  // thread, which lives as long as flintd.)
  auto result = std::make_shared<std::optional<Result<SpawnedProcess>>>();
  loop::RunBlocking(
      loop_,
      [spawner = spawner_, request = std::move(request), result] {
        *result = spawner->Spawn(request);
      },
      [this, alive = alive_, id, result] {
        if (!*alive) {
          // The fleet is gone (flintd is exiting): nothing may run unowned.
          if (result->has_value() && (*result)->ok()) {
            const SpawnedProcess& p = ***result;
            ::kill(-p.pid, SIGKILL);
            ::kill(p.pid, SIGKILL);
            ::close(p.pidfd);
            ::close(p.socket_fd);
          }
          return;
        }
        OnSpawned(id, std::move(**result));
      });
  return raw;
}

void WorkerFleet::OnSpawned(WorkerId id, Result<SpawnedProcess> spawned) {
  Worker* w = Find(id);
  FLINT_CHECK(w != nullptr && !w->attached());
  Status started = spawned.ok() ? w->Attach(*spawned) : spawned.status();
  if (options_.on_spawn) options_.on_spawn(started);
  if (started.ok()) return;
  if (w->attached()) {
    // Attached but could not start watching it: kill it; its exit is reported as usual.
    spdlog::error("worker {}: {}; killing it", id, started.message());
    w->Kill();
    return;
  }
  if (options_.on_spawn) {
    spdlog::debug("cannot start worker {}: {}", id, started.message());
  } else {
    spdlog::error("cannot start worker {}: {}", id, started.message());
  }
  w->SpawnFailed("could not start: " + started.message());  // reported as its exit
}

// ---- workers for functions -------------------------------------------------------------------

void WorkerFleet::SetReservation(const std::string& function, uint64_t reserved_mb) {
  capacity_.SetReservation(function, reserved_mb);
}

Fleet::Placement WorkerFleet::StartWorker(const FunctionVersion& fn, const std::string& pool_key) {
  Placement placement;
  std::vector<EvictionCandidate> idle;
  if (observer_ != nullptr) idle = observer_->EvictionCandidates();
  NodeCapacity::Plan plan = capacity_.PlanStart(fn.name, fn.config.memory_mb, std::move(idle));
  switch (plan.kind) {
    case NodeCapacity::Plan::Kind::kFits:
      break;
    case NodeCapacity::Plan::Kind::kEvict:
      EvictForStart(plan.evict);
      break;
    case NodeCapacity::Plan::Kind::kWait:
      placement.kind = Placement::Kind::kWait;
      placement.reason = std::move(plan.reason);
      return placement;
    case NodeCapacity::Plan::Kind::kNever:
      placement.kind = Placement::Kind::kNever;
      placement.reason = std::move(plan.reason);
      return placement;
  }
  auto worker = AcquireWorker(fn.runtime);
  if (!worker.ok()) {
    placement.kind = Placement::Kind::kFailed;
    placement.reason = worker.status().message();
    return placement;
  }
  Worker* w = *worker;
  w->set_pool_key(pool_key);
  capacity_.Charge(w->id(), fn.name, fn.config.memory_mb);
  placement.worker = w->id();
  // A generic worker is loaded now; a spawned one after its HELLO (Observer::OnWorkerHello).
  placement.loadable = w->state() == Worker::State::kGeneric;
  return placement;
}

void WorkerFleet::EvictForStart(const std::vector<WorkerId>& victims) {
  for (WorkerId id : victims) {
    Worker* w = Find(id);
    if (w == nullptr || observer_ == nullptr || !observer_->Evict(id, w->pool_key())) continue;
    capacity_.Release(id);
    evictions_++;
    spdlog::debug("evicted idle worker {} of {} to make room", id, w->pool_key());
    w->Stop(kStopGraceMs);
  }
}

protocol::LoadRequest WorkerFleet::MakeLoadRequest(const FunctionVersion& fn,
                                                   const Worker* worker) const {
  protocol::LoadRequest load;
  if (worker != nullptr && !worker->runtime_version().empty()) {
    auto cache = code_caches_.find(fn.name + "@" + std::to_string(fn.version));
    if (cache != code_caches_.end() && cache->second.runtime_version == worker->runtime_version()) {
      load.code_cache = cache->second.payload;
    }
  }
  load.function_name = fn.name;
  load.function_version = fn.version;
  load.runtime = std::string(RuntimeName(fn.runtime));
  load.code_dir = code_dir_(fn);
  load.entry = fn.entry;
  load.memory_mb = fn.config.memory_mb;
  load.timeout_ms = fn.config.timeout_ms;
  load.env = fn.config.env;
  // Secrets last: a secret overrides a configuration variable of the same name.
  for (const EnvVar& secret : fn.secrets) {
    std::erase_if(load.env, [&](const auto& h) { return h.first == secret.first; });
    load.env.push_back(secret);
  }
  return load;
}

isolation::Limits WorkerFleet::LimitsFor(uint32_t memory_mb, uint32_t cpu_millis) const {
  return isolation::LimitsFor(memory_mb, cpu_millis, options_.cpu_mode);
}

bool WorkerFleet::Load(WorkerId worker, const FunctionVersion& fn) {
  Worker* w = Find(worker);
  if (w == nullptr) return false;
  return LoadWorker(w, MakeLoadRequest(fn, w), fn.config.cpu_millis,
                    fn.config.network == "outbound");
}

bool WorkerFleet::LoadWorker(Worker* worker, const protocol::LoadRequest& request,
                             uint32_t cpu_millis, bool outbound) {
  if (options_.cgroups != nullptr) {
    Status limited = options_.cgroups->SetLimits(CgroupName(worker->id()),
                                                 LimitsFor(request.memory_mb, cpu_millis));
    if (!limited.ok()) {
      spdlog::error("worker {}: cannot set its cgroup limits: {}; killing it", worker->id(),
                    limited.message());
      worker->Kill();
      return false;
    }
  }
  // Without the sandbox (--no-isolation) a worker shares flintd's network namespace already.
  worker->Load(request, outbound && options_.sandbox);
  return true;
}

void WorkerFleet::Invoke(WorkerId worker, InvocationId id, const std::string& payload) {
  workers_.at(worker)->Invoke(id, payload);
}

void WorkerFleet::Stop(WorkerId worker) {
  capacity_.Release(worker);
  if (Worker* w = Find(worker)) w->Stop(kStopGraceMs);
}

void WorkerFleet::Kill(WorkerId worker) {
  if (Worker* w = Find(worker)) w->Kill();
}

std::vector<InvocationId> WorkerFleet::InFlight(WorkerId worker) const {
  Worker* w = Find(worker);
  if (w == nullptr) return {};
  return {w->in_flight().begin(), w->in_flight().end()};
}

std::vector<InvocationId> WorkerFleet::TakeInFlight(WorkerId worker) {
  Worker* w = Find(worker);
  if (w == nullptr) return {};
  std::vector<InvocationId> out(w->in_flight().begin(), w->in_flight().end());
  w->in_flight().clear();
  return out;
}

uint64_t WorkerFleet::HeapUsed(WorkerId worker) const {
  Worker* w = Find(worker);
  return w == nullptr ? 0 : w->last_heap_used();
}

std::optional<isolation::Usage> WorkerFleet::ReadUsage(WorkerId worker) {
  if (options_.cgroups == nullptr) return std::nullopt;
  auto usage = options_.cgroups->ReadUsage(CgroupName(worker));
  if (!usage.ok()) return std::nullopt;
  return *usage;
}

uint64_t WorkerFleet::LoadSentNs(WorkerId worker) const {
  Worker* w = Find(worker);
  return w == nullptr ? 0 : w->load_sent_ns();
}

FleetStats WorkerFleet::stats() const {
  FleetStats stats;
  stats.workers = workers_.size();
  for (const GenericPool& generic : generic_) {
    stats.generic_ready += generic.ready.size();
    stats.generic_spawning += generic.spawning.size();
  }
  for (const GenericPool& generic : generic_)
    stats.generic_target += generic.target.Target(uv_now(loop_));
  stats.spawn_waits = spawn_waits_;
  stats.memory_budget_mb = capacity_.budget_mb();
  stats.memory_used_mb = capacity_.used_mb();
  stats.memory_reserved_mb = capacity_.reserved_mb();
  stats.evictions = evictions_;
  return stats;
}

void WorkerFleet::RemoveCgroup(WorkerId id) {
  if (options_.cgroups == nullptr) return;
  Status removed = options_.cgroups->Remove(CgroupName(id));
  if (removed.ok()) return;
  if (removed.code() != Code::kUnavailable) {
    spdlog::warn("removing the cgroup of worker {}: {}", id, removed.message());
  }
  cgroups_to_remove_.push_back(id);
}

// ---- load checks -----------------------------------------------------------------------------

void WorkerFleet::CheckLoads(const FunctionVersion& fn, std::function<void(Status)> done) {
  auto worker = AcquireWorker(fn.runtime);
  if (!worker.ok()) {
    done(Unavailable("could not start a worker to check the function: " +
                     worker.status().message()));
    return;
  }
  Worker* w = *worker;
  bool outbound = fn.config.network == "outbound";
  LoadCheck& check = load_checks_[w->id()];
  check = LoadCheck{std::move(done), uv_now(loop_) + options_.load_timeout_ms, MakeLoadRequest(fn),
                    fn.config.cpu_millis, outbound};
  if (w->state() == Worker::State::kGeneric) {
    (void)LoadWorker(w, check.request, check.cpu_millis, outbound);
  }
}

// ---- Worker::Observer ------------------------------------------------------------------------

void WorkerFleet::OnWorkerHello(Worker* worker) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    (void)LoadWorker(worker, check->second.request, check->second.cpu_millis,
                     check->second.outbound);
    return;
  }
  if (worker->pool_key().empty()) {
    GenericPool& generic = GenericFor(worker->runtime());
    std::erase(generic.spawning, worker->id());
    generic.ready.push_back(worker->id());
    uint64_t took_us = (uv_hrtime() - worker->spawned_at_ns()) / 1000;
    generic_spawn_us_.Add(took_us);
    generic.target.Refilled(took_us);
    RefillSoon();  // a start slot is free
    if (options_.cgroups != nullptr) {
      // The smallest function size's limits, the most common: LoadWorker then writes nothing
      // for such a function (two cgroup writes, ~30 us, off the cold start). Best effort:
      // SetLimits at LOAD writes whatever this could not.
      (void)options_.cgroups->PresetLimits(CgroupName(worker->id()), LimitsFor(kMinMemoryMb, 0));
    }
    return;
  }
  if (observer_ != nullptr) observer_->OnWorkerHello(worker->id(), worker->pool_key());
}

void WorkerFleet::OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    auto done = std::move(check->second.done);
    load_checks_.erase(check);
    worker->Stop(kStopGraceMs);
    done(Status::Ok());
    return;
  }
  spdlog::debug("worker {} loaded {} in {} us ({} us since spawn)", worker->id(),
                worker->pool_key(), loaded.init_duration_us,
                (uv_hrtime() - worker->spawned_at_ns()) / 1000);
  if (observer_ != nullptr) observer_->OnWorkerLoaded(worker->id(), worker->pool_key(), loaded);
}

void WorkerFleet::OnWorkerLoadFailed(Worker* worker, const std::string& message) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    auto done = std::move(check->second.done);
    load_checks_.erase(check);
    done(InvalidArgument(message));
    return;
  }
  std::vector<InvocationId> pipelined = TakeInFlight(worker->id());
  if (observer_ != nullptr) {
    observer_->OnWorkerLoadFailed(worker->id(), worker->pool_key(), message, std::move(pipelined));
  }
  capacity_.Release(worker->id());
}

void WorkerFleet::OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) {
  if (observer_ != nullptr) {
    observer_->OnWorkerResult(worker->id(), worker->pool_key(), id, std::move(result));
  }
}

void WorkerFleet::OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) {
  if (observer_ != nullptr) {
    observer_->OnWorkerLog(worker->id(), worker->pool_key(), id, std::move(line));
  }
}

void WorkerFleet::OnWorkerCodeCache(Worker* worker, std::string payload) {
  const std::string& key = worker->pool_key();
  if (key.empty() || worker->runtime_version().empty()) return;
  auto& slot = code_caches_[key];
  code_cache_bytes_ -= slot.payload.size();
  // Past the budget, others go first (a version without a cache costs its next cold start a
  // compilation, nothing more).
  for (auto it = code_caches_.begin();
       code_cache_bytes_ + payload.size() > kCodeCacheBudgetBytes && it != code_caches_.end();) {
    if (it->first == key) {
      ++it;
      continue;
    }
    code_cache_bytes_ -= it->second.payload.size();
    it = code_caches_.erase(it);
  }
  code_cache_bytes_ += payload.size();
  slot.runtime_version = worker->runtime_version();
  slot.payload = std::move(payload);
  spdlog::info("kept a code cache of {} bytes for {}", slot.payload.size(), key);
}

void WorkerFleet::OnWorkerChannelClosed(Worker* worker) {
  // A worker killed from outside, or crashing, closes its channel a moment before its process
  // (and its sandbox's waiting parents) can be reaped: take it out of its pool now, so no
  // request is sent to it in between (it would fail with a crash it had nothing to do with).
  if (worker->pool_key().empty()) {
    GenericPool& generic = GenericFor(worker->runtime());
    auto it = std::find(generic.ready.begin(), generic.ready.end(), worker->id());
    if (it != generic.ready.end()) generic.ready.erase(it);
    return;
  }
  if (observer_ != nullptr) observer_->OnWorkerChannelClosed(worker->id(), worker->pool_key());
}

void WorkerFleet::OnWorkerExit(Worker* worker, const std::string& reason) {
  WorkerId id = worker->id();
  spdlog::debug("worker {} (pid {}, {}) exited: {}", id, worker->pid(),
                worker->pool_key().empty() ? "generic" : worker->pool_key(), reason);
  if (auto check = load_checks_.find(id); check != load_checks_.end()) {
    auto done = std::move(check->second.done);
    load_checks_.erase(check);
    done(Status(Code::kFunctionCrashed,
                "the worker exited while loading the function (" + reason + ")"));
  } else if (worker->pool_key().empty()) {
    GenericPool& generic = GenericFor(worker->runtime());
    std::erase(generic.ready, id);
    std::erase(generic.spawning, id);
  }
  // The kernel killed a process of the worker for its memory limit, or the worker exited
  // because V8 ran out of memory: its observer says so.
  bool oom = worker->exited_out_of_memory();
  if (!oom && options_.cgroups != nullptr) {
    auto usage = options_.cgroups->ReadUsage(CgroupName(id));
    oom = usage.ok() && usage->oom_kills > 0;
  }
  WorkerExit exit{reason, oom, TakeInFlight(id)};
  capacity_.Release(id);
  if (!worker->pool_key().empty() && observer_ != nullptr) {
    observer_->OnWorkerExit(id, worker->pool_key(), std::move(exit));
  }
  RemoveCgroup(id);
  auto owned = workers_.find(id);
  if (owned != workers_.end()) {
    dead_workers_.push_back(std::move(owned->second));
    workers_.erase(owned);
  }
}

}  // namespace flint::scheduler
