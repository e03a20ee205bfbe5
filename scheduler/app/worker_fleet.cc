#include "scheduler/app/worker_fleet.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace flint::scheduler {
namespace {

// Refill passes in a row that may put off refilling the pre-warmed workers.
constexpr uint32_t kMaxRefillDeferrals = 5;
// How long a worker asked to exit has before it is SIGKILLed.
constexpr uint64_t kStopGraceMs = 1000;

}  // namespace

WorkerFleet::WorkerFleet(uv_loop_t* loop, FleetOptions options,
                         std::unique_ptr<WorkerSpawner> spawner, CodeDirFn code_dir)
    : loop_(loop),
      options_(std::move(options)),
      spawner_(std::move(spawner)),
      code_dir_(std::move(code_dir)),
      capacity_(options_.memory_budget_mb) {}

WorkerFleet::~WorkerFleet() {
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

void WorkerFleet::Refill(bool cold_start_in_flight) {
  // Spawning blocks the loop until the child has joined its cgroups and exec'd (milliseconds,
  // far more under load): not while a cold start is being answered, which would wait for it
  // (tools/bench/coldstart.py's p99). Deferred for at most kMaxRefillDeferrals passes, and
  // not at all once fewer than half the pre-warmed workers are left: cold starts and adaptive
  // pre-warms (several a second on a busy node) would soon find none and spawn on their own,
  // each later than a LOAD and the next one slower still.
  if (!cold_start_in_flight || GenericLow() || ++refill_deferrals_ > kMaxRefillDeferrals) {
    refill_deferrals_ = 0;
    RefillGeneric();
  }
}

void WorkerFleet::StopAll() {
  for (GenericPool& generic : generic_) {
    for (WorkerId wid : generic.ready) workers_.at(wid)->Stop(kStopGraceMs);
    generic.ready.clear();
  }
  for (auto& [wid, w] : workers_) {
    if (w->state() != Worker::State::kDead) w->Stop(kStopGraceMs);
  }
}

// ---- generic workers -------------------------------------------------------------------------

uint64_t WorkerFleet::ReloadDelayMs() const {
  for (const GenericPool& generic : generic_) {
    if (!generic.ready.empty()) return 0;
  }
  return kHousekeepingMs + generic_spawn_us_.Percentile(90) / 1000;
}

bool WorkerFleet::GenericLow() const {
  for (Runtime runtime : kRuntimes) {
    const GenericPool& generic = generic_[static_cast<size_t>(runtime)];
    if (generic.ready.size() + generic.spawning <
        options_.prewarm[static_cast<size_t>(runtime)] / 2) {
      return true;
    }
  }
  return false;
}

void WorkerFleet::RefillGeneric() {
  for (Runtime runtime : kRuntimes) {
    GenericPool& generic = GenericFor(runtime);
    while (generic.ready.size() + generic.spawning <
           options_.prewarm[static_cast<size_t>(runtime)]) {
      auto worker = SpawnWorker(runtime);
      if (!worker.ok()) {
        // Retried by the next Refill; a missing binary must not spin the loop.
        spdlog::error("cannot start a pre-warmed {} worker: {}", RuntimeName(runtime),
                      worker.status().message());
        return;
      }
      generic.spawning++;
    }
  }
}

Result<Worker*> WorkerFleet::AcquireWorker(Runtime runtime) {
  // A generic worker can load a function of any runtime (LOAD names it); one pre-warmed for
  // the function's runtime is best, another still beats spawning.
  std::vector<Runtime> order = {runtime};
  for (Runtime other : kRuntimes) {
    if (other != runtime) order.push_back(other);
  }
  for (Runtime from : order) {
    GenericPool& generic = GenericFor(from);
    if (generic.ready.empty()) continue;
    Worker* w = workers_.at(generic.ready.front()).get();
    generic.ready.erase(generic.ready.begin());
    // Refilled by the next housekeeping pass, not here: spawning a process blocks the loop for
    // a millisecond or more, which this cold start would otherwise wait for.
    return w;
  }
  spdlog::debug("no pre-warmed {} worker is ready: spawning one", RuntimeName(runtime));
  return SpawnWorker(runtime);
}

Result<Worker*> WorkerFleet::SpawnWorker(Runtime runtime) {
  WorkerId id = next_worker_id_++;
  SpawnRequest request;
  request.worker_path = options_.worker_path;
  request.runtime = runtime;
  if (options_.sandbox) request.extra_args = {"--sandbox", "on", "--code-root", options_.code_root};
  if (options_.cgroups != nullptr) {
    // Created here, while the worker is pre-warmed (off a request's path); the child joins it
    // before exec.
    FLINT_ASSIGN_OR_RETURN(request.cgroup_procs, options_.cgroups->Create(CgroupName(id)));
  }
  auto spawned = spawner_->Spawn(request);
  if (!spawned.ok()) {
    RemoveCgroup(id);
    return spawned.status();
  }
  auto worker =
      std::make_unique<Worker>(loop_, id, runtime, *spawned, static_cast<Worker::Observer*>(this));
  Worker* raw = worker.get();
  if (auto started = raw->Start(); !started.ok()) {
    worker.reset();  // kills and reaps the process
    RemoveCgroup(id);
    return started;
  }
  workers_.emplace(id, std::move(worker));
  return raw;
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

protocol::LoadRequest WorkerFleet::MakeLoadRequest(const FunctionVersion& fn) const {
  protocol::LoadRequest load;
  load.function_name = fn.name;
  load.function_version = fn.version;
  load.runtime = std::string(RuntimeName(fn.runtime));
  load.code_dir = code_dir_(fn);
  load.entry = fn.entry;
  load.memory_mb = fn.config.memory_mb;
  load.timeout_ms = fn.config.timeout_ms;
  load.env = fn.config.env;
  return load;
}

isolation::Limits WorkerFleet::LimitsFor(uint32_t memory_mb, uint32_t cpu_millis) const {
  return isolation::LimitsFor(memory_mb, cpu_millis, options_.cpu_mode);
}

bool WorkerFleet::Load(WorkerId worker, const FunctionVersion& fn) {
  Worker* w = Find(worker);
  if (w == nullptr) return false;
  return LoadWorker(w, MakeLoadRequest(fn), fn.config.cpu_millis, fn.config.network == "outbound");
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
  for (const GenericPool& generic : generic_) stats.generic_ready += generic.ready.size();
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
    generic.spawning--;
    generic.ready.push_back(worker->id());
    generic_spawn_us_.Add((uv_hrtime() - worker->spawned_at_ns()) / 1000);
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
    auto it = std::find(generic.ready.begin(), generic.ready.end(), id);
    if (it != generic.ready.end()) {
      generic.ready.erase(it);
    } else if (worker->state() == Worker::State::kStarting) {
      // TODO(cleanup): the state is already kDead here (Worker reports its exit after setting
      // it), so a generic worker that dies before HELLO stays counted as spawning.
      generic.spawning--;
    }
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
