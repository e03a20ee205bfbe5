#include "scheduler/app/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "scheduler/meter/invocation_id.h"

namespace flint::scheduler {
namespace {

constexpr uint64_t kHousekeepingMs = 100;
constexpr uint32_t kMaxStartFailures = 3;
// Housekeeping passes in a row that may put off refilling the pre-warmed workers.
constexpr uint32_t kMaxRefillDeferrals = 5;
// How often Finish reads a worker's cgroup usage for the meter, at most.
constexpr uint64_t kCgroupUsageIntervalMs = 1000;
constexpr const char* kIsolationOffWarning =
    "isolation is off (flintd --no-isolation): this function runs without cgroup or sandbox";

// A time-ordered (version 7) UUID: ledger inserts stay at the right edge of its key's B-tree
// (scheduler/meter/invocation_id.h).
std::string NewRequestId() { return meter::NewInvocationId(); }

const char* LevelName(protocol::LogLevel level) {
  switch (level) {
    case protocol::LogLevel::kDebug:
      return "debug";
    case protocol::LogLevel::kInfo:
      return "info";
    case protocol::LogLevel::kWarn:
      return "warn";
    case protocol::LogLevel::kError:
      return "error";
  }
  return "info";
}

bool IsHopByHop(const std::string& name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
         name == "keep-alive" || name == "upgrade" || name == "date";
}

HttpResponse ErrorWithType(Code code, const std::string& type, const std::string& message) {
  HttpResponse response;
  response.status = CodeHttpStatus(code);
  nlohmann::json body = {{"error", {{"code", CodeName(code)}, {"message", message}}}};
  if (!type.empty()) body["error"]["type"] = type;
  response.headers.emplace_back("content-type", "application/json");
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

std::string Lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

HttpResponse ResponseFromResult(protocol::InvokeResult&& result) {
  switch (result.outcome) {
    case protocol::Outcome::kOk: {
      HttpResponse response;
      response.status = result.status;
      response.headers.reserve(result.headers.size() + 1);
      for (auto& [name, value] : result.headers) {
        std::string lower = Lowered(name);
        if (IsHopByHop(lower)) continue;
        response.headers.emplace_back(std::move(lower), std::move(value));
      }
      response.body = std::move(result.body);
      return response;
    }
    case protocol::Outcome::kError:
      return ErrorWithType(Code::kFunctionError, result.error_type, result.error_message);
    case protocol::Outcome::kTimeout:
      return ErrorWithType(Code::kFunctionTimeout, "", result.error_message);
    case protocol::Outcome::kOutOfMemory:
      return ErrorWithType(Code::kFunctionCrashed, "OutOfMemory", result.error_message);
  }
  return ErrorResponse(Internal("unknown outcome"));
}

}  // namespace

Dispatcher::Dispatcher(uv_loop_t* loop, DispatcherOptions options,
                       std::unique_ptr<WorkerSpawner> spawner, CodeDirFn code_dir)
    : loop_(loop),
      options_(std::move(options)),
      spawner_(std::move(spawner)),
      code_dir_(std::move(code_dir)),
      housekeeping_(loop),
      scale_timer_(loop),
      capacity_(options_.memory_budget_mb) {}

Dispatcher::~Dispatcher() {
  // Worker destructors SIGKILL anything still running: no orphan survives flintd.
  workers_.clear();
  dead_workers_.clear();
  // Best effort: what is still busy goes with the Cgroups subtree when flintd exits.
  if (options_.cgroups != nullptr) {
    for (WorkerId id : cgroups_to_remove_) (void)options_.cgroups->Remove(CgroupName(id));
  }
}

void Dispatcher::Start() {
  housekeeping_.Start(kHousekeepingMs, kHousekeepingMs, [this] { Housekeeping(); });
  scale_timer_.Unref();  // deadlines alone never keep flintd's loop running
  RefillGeneric();
}

std::string Dispatcher::KeyOf(const FunctionVersion& fn) {
  return fn.name + "@" + std::to_string(fn.version);
}

uint64_t Dispatcher::KeepAliveOf(const FunctionVersion& fn) const {
  return fn.config.keep_alive_ms != 0 ? fn.config.keep_alive_ms : options_.default_keep_alive_ms;
}

PoolPolicy Dispatcher::PolicyOf(const FunctionVersion& fn) const {
  PoolPolicy policy;
  policy.max_instances = fn.config.max_instances;
  policy.concurrency = fn.config.concurrency;
  policy.keep_alive_ms = KeepAliveOf(fn);
  policy.max_queue = options_.max_queue;
  policy.min_instances = fn.config.min_instances;
  policy.keep_alive_mode = fn.config.keep_alive_policy == "adaptive" ? KeepAliveMode::kAdaptive
                           : fn.config.keep_alive_policy == "fixed"
                               ? KeepAliveMode::kFixed
                               : options_.default_keep_alive_mode;
  return policy;
}

protocol::LoadRequest Dispatcher::MakeLoadRequest(const FunctionVersion& fn) const {
  protocol::LoadRequest load;
  load.function_name = fn.name;
  load.function_version = fn.version;
  load.runtime = fn.runtime;
  load.code_dir = code_dir_(fn);
  load.entry = fn.entry;
  load.memory_mb = fn.config.memory_mb;
  load.timeout_ms = fn.config.timeout_ms;
  load.env = fn.config.env;
  return load;
}

void Dispatcher::SetLive(std::shared_ptr<const FunctionVersion> fn) {
  auto it = live_.find(fn->name);
  if (it != live_.end() && it->second->version != fn->version) {
    auto old = pools_.find(KeyOf(*it->second));
    if (old != pools_.end()) old->second->draining = true;
  }
  capacity_.SetReservation(fn->name,
                           uint64_t{fn->config.reserved_concurrency} * fn->config.memory_mb);
  live_[fn->name] = std::move(fn);
}

void Dispatcher::Remove(const std::string& name) {
  auto it = live_.find(name);
  if (it == live_.end()) return;
  auto pool = pools_.find(KeyOf(*it->second));
  if (pool != pools_.end()) pool->second->draining = true;
  live_.erase(it);
  capacity_.SetReservation(name, 0);
  logs_.Forget(name);
}

std::shared_ptr<const FunctionVersion> Dispatcher::FindLive(const std::string& name) const {
  auto it = live_.find(name);
  return it == live_.end() ? nullptr : it->second;
}

Dispatcher::PoolEntry& Dispatcher::PoolFor(const std::shared_ptr<const FunctionVersion>& fn) {
  auto& slot = pools_[KeyOf(*fn)];
  if (!slot) slot.reset(new PoolEntry{fn, Pool(PolicyOf(*fn))});
  return *slot;
}

void Dispatcher::Invoke(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
                        std::string rest_path, HttpResponder responder) {
  // A request that never runs (shutting down, 429) is still metered, as throttled.
  auto never_ran = [&](HttpResponse response) {
    meter::InvocationRecord record;
    record.request_id = NewRequestId();
    record.function = fn->name;
    record.version = fn->version;
    record.start_ms = static_cast<int64_t>(request.received_at_ms);
    record.e2e_us = (uv_hrtime() - request.received_at_ns) / 1000;
    record.memory_mb = fn->config.memory_mb;
    record.outcome = meter::Outcome::kThrottled;
    response.headers.emplace_back("x-flint-request-id", record.request_id);
    if (options_.isolation_off) {
      response.headers.emplace_back("x-flint-warning", kIsolationOffWarning);
    }
    SendMetered(responder, std::move(response), record);
  };
  if (shutting_down_) return never_ran(ErrorResponse(Unavailable("flintd is shutting down")));
  PoolEntry& entry = PoolFor(fn);
  InvocationId id = next_invocation_id_++;
  entry.invocations++;
  auto admission = entry.pool.Admit(id, NowMs());
  ArmScaleTimer(entry);  // the arrival moved the adaptive windows
  if (admission.kind == Pool::Admission::Kind::kRejected) {
    entry.throttles++;
    HttpResponse response = ErrorResponse(
        Status(Code::kTooManyRequests, "function '" + fn->name + "' is at its concurrency limit (" +
                                           std::to_string(fn->config.max_instances) +
                                           " instances) and its queue is full"));
    response.headers.emplace_back("retry-after", "1");
    return never_ran(std::move(response));
  }
  Invocation& inv = invocations_[id];
  inv.responder = std::move(responder);
  inv.pool_key = KeyOf(*fn);
  inv.request_id = NewRequestId();
  inv.fn = fn;
  inv.received_ms = static_cast<int64_t>(request.received_at_ms);
  inv.received_ns = request.received_at_ns;
  inv.request = std::move(request);
  inv.rest_path = std::move(rest_path);
  if (admission.kind == Pool::Admission::Kind::kDispatch) {
    Dispatch(id, workers_.at(admission.worker).get(), /*cold=*/false);
    return;
  }
  inv.deadline_ms = NowMs() + options_.queue_timeout_ms;
  if (admission.start_worker) StartWorkerFor(inv.pool_key, entry);
}

Status Dispatcher::InvokeEvent(const std::shared_ptr<const FunctionVersion>& fn,
                               const std::string& event_id, std::string payload,
                               meter::Trigger trigger, EventDone done) {
  if (shutting_down_) return Unavailable("flintd is shutting down");
  PoolEntry& entry = PoolFor(fn);
  InvocationId id = next_invocation_id_++;
  auto admission = entry.pool.Admit(id, NowMs());
  if (admission.kind == Pool::Admission::Kind::kRejected) {
    return Status(Code::kTooManyRequests, "function '" + fn->name + "' has a full queue");
  }
  entry.invocations++;
  Invocation& inv = invocations_[id];
  inv.event_done = std::move(done);
  inv.trigger = trigger;
  inv.event_id = event_id;
  inv.pool_key = KeyOf(*fn);
  inv.request_id = NewRequestId();
  inv.fn = fn;
  inv.received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  inv.received_ns = uv_hrtime();
  inv.request.received_at_ms = static_cast<uint64_t>(inv.received_ms);
  inv.request.method = "POST";
  inv.request.body = std::move(payload);
  inv.rest_path = "/";
  if (admission.kind == Pool::Admission::Kind::kDispatch) {
    Dispatch(id, workers_.at(admission.worker).get(), /*cold=*/false);
    return Status::Ok();
  }
  inv.deadline_ms = NowMs() + options_.queue_timeout_ms;
  if (admission.start_worker) StartWorkerFor(inv.pool_key, entry);
  return Status::Ok();
}

void Dispatcher::Dispatch(InvocationId id, Worker* worker, bool cold) {
  Invocation& inv = invocations_.at(id);
  PoolEntry& entry = *pools_.at(inv.pool_key);
  const FunctionVersion& fn = *entry.fn;
  inv.worker = worker->id();
  inv.cold = cold;
  inv.dispatched_ns = uv_hrtime();
  if (cold) entry.cold_starts++;
  // JS is stopped inside the worker at its timeout; native code cannot be, so flintd kills the
  // worker as soon as the timeout passes (housekeeping runs every 100 ms).
  uint64_t grace = fn.runtime == "js" ? options_.timeout_grace_ms : 0;
  inv.deadline_ms = NowMs() + fn.config.timeout_ms + grace;

  protocol::InvokeRequest req;
  req.kind = protocol::InvokeKind::kHttp;
  req.timeout_ms = fn.config.timeout_ms;
  req.time_epoch_ms = inv.request.received_at_ms;
  req.request_id = inv.request_id;
  req.method = std::move(inv.request.method);
  req.raw_path = std::move(inv.rest_path);
  req.raw_query = std::move(inv.request.query);
  req.source_ip = std::move(inv.request.peer_ip);
  req.headers = std::move(inv.request.headers);
  req.body = std::move(inv.request.body);
  if (inv.event_done) {
    req.kind = protocol::InvokeKind::kEvent;
    req.headers.push_back({"x-flint-event-id", inv.event_id});
  }
  // TODO(perf): encode straight into the channel's write buffer to save one copy of the body.
  worker->Invoke(id, req.Encode());
}

void Dispatcher::Finish(InvocationId id, HttpResponse response, bool error,
                        std::optional<meter::Outcome> outcome,
                        std::optional<std::pair<uint64_t, uint64_t>> measured) {
  auto it = invocations_.find(id);
  if (it == invocations_.end()) return;
  Invocation inv = std::move(it->second);
  invocations_.erase(it);
  auto pool = pools_.find(inv.pool_key);
  if (pool != pools_.end() && error) pool->second->errors++;
  response.headers.emplace_back("x-flint-request-id", inv.request_id);
  if (inv.cold) {
    response.headers.emplace_back("x-flint-cold-start", "true");
    if (spdlog::should_log(spdlog::level::debug)) {
      // Where a cold start's time went, as flintd sees it (docs/benchmarks.md).
      auto w = workers_.find(inv.worker);
      uint64_t load_sent = w != workers_.end() ? w->second->load_sent_ns() : 0;
      uint64_t now = uv_hrtime();
      auto us = [](uint64_t from, uint64_t to) -> int64_t {
        return from == 0 || to == 0 ? -1 : static_cast<int64_t>(to - from) / 1000;
      };
      spdlog::debug(
          "cold start {} ({}): request -> LOAD sent {} us, -> LOADED {} us (worker init {} us), "
          "-> RESULT {} us",
          inv.request_id, inv.pool_key, us(inv.received_ns, load_sent),
          us(load_sent, inv.loaded_ns), inv.init_us, us(inv.loaded_ns, now));
    }
  }
  if (options_.isolation_off) {
    response.headers.emplace_back("x-flint-warning", kIsolationOffWarning);
  }
  EventResult event;
  if (inv.event_done) {
    event.ran = inv.worker != 0;
    event.ok = !error;
    event.outcome = outcome ? *outcome : !error ? meter::Outcome::kOk : meter::Outcome::kCrash;
    event.body = std::move(response.body);
    // Never ran: not an attempt and not metered (the event stays queued).
    if (options_.meter == nullptr || !event.ran) return inv.event_done(std::move(event));
  }
  if (options_.meter == nullptr || !inv.fn) return inv.responder.Send(std::move(response));

  uint64_t now_ns = uv_hrtime();
  meter::InvocationRecord record;
  record.request_id = std::move(inv.request_id);
  record.function = inv.fn->name;
  record.version = inv.fn->version;
  record.start_ms = inv.received_ms;
  record.e2e_us = (now_ns - inv.received_ns) / 1000;
  record.memory_mb = inv.fn->config.memory_mb;
  record.cold = inv.cold;
  record.init_us = inv.init_us;
  record.trigger = inv.trigger;
  bool ran = inv.worker != 0;
  record.outcome = outcome  ? *outcome
                   : !error ? meter::Outcome::kOk
                   : ran    ? meter::Outcome::kCrash
                            : meter::Outcome::kThrottled;
  if (measured) {
    record.duration_us = measured->first;
    record.cpu_us = measured->second;
  } else if (ran) {
    record.duration_us = (now_ns - inv.dispatched_ns) / 1000;
  }
  if (auto w = workers_.find(inv.worker); ran && w != workers_.end()) {
    if (w->second->last_heap_used() > 0) record.peak_memory_bytes = w->second->last_heap_used();
    // With cgroups, the kernel's figures: the worker's peak memory so far, and the CPU time of
    // every process in the cgroup. Reading them (open, read, close of several cgroup files)
    // cost the loop ~60 us per request (tools/bench/metering.py), so Finish reads them at most
    // once per kCgroupUsageIntervalMs per worker, and whenever the worker measured nothing
    // (crash, timeout). In between a record carries the handler's thread CPU as the worker
    // measured it; the record that reads the cgroup also carries the CPU the cgroup used
    // beyond what the records since the previous read carried (GC and other threads), so the
    // ledger's CPU total per worker still equals the cgroup's.
    if (options_.cgroups != nullptr) {
      CgroupUsageSample& sample = cgroup_cpu_us_[inv.worker];
      sample.metered_cpu_us += record.cpu_us;
      if (!measured || sample.read_ns == 0 ||
          now_ns - sample.read_ns >= kCgroupUsageIntervalMs * 1'000'000) {
        auto usage = options_.cgroups->ReadUsage(CgroupName(inv.worker));
        if (usage.ok()) {
          uint64_t carried = sample.cpu_us + sample.metered_cpu_us;
          if (usage->cpu_us > carried) record.cpu_us += usage->cpu_us - carried;
          sample = {now_ns, usage->cpu_us, 0, usage->peak_memory_bytes};
        }
      }
      if (sample.peak_memory_bytes > 0) record.peak_memory_bytes = sample.peak_memory_bytes;
    }
  }
  if (auto pool = pools_.find(inv.pool_key); pool != pools_.end()) {
    pool->second->cpu_us += record.cpu_us;
    pool->second->peak_memory_bytes =
        std::max<uint64_t>(pool->second->peak_memory_bytes, record.peak_memory_bytes.value_or(0));
  }
  if (inv.event_done) {
    if (options_.meter->TryAppend(record)) return inv.event_done(std::move(event));
    auto pending = std::make_shared<std::pair<EventDone, EventResult>>(std::move(inv.event_done),
                                                                       std::move(event));
    options_.meter->AppendThen(record, [pending] { pending->first(std::move(pending->second)); });
    return;
  }
  SendMetered(inv.responder, std::move(response), record);
}

void Dispatcher::SendMetered(HttpResponder& responder, HttpResponse response,
                             const meter::InvocationRecord& record) {
  meter::Meter* meter = options_.meter;
  if (meter == nullptr || meter->TryAppend(record)) return responder.Send(std::move(response));
  // The journal is full (SQLite stalled): the response waits until its record is durable.
  auto pending = std::make_shared<std::pair<HttpResponder, HttpResponse>>(std::move(responder),
                                                                          std::move(response));
  meter->AppendThen(record, [pending] { pending->first.Send(std::move(pending->second)); });
}

bool Dispatcher::StartWorkerFor(const std::string& key, PoolEntry& entry, bool for_request) {
  const FunctionVersion& fn = *entry.fn;
  std::vector<EvictionCandidate> idle;
  for (const auto& [other_key, other] : pools_) {
    for (const auto& [wid, since] : other->pool.Evictable()) {
      idle.push_back({wid, other->fn->name, other->fn->config.memory_mb, since});
    }
  }
  NodeCapacity::Plan plan = capacity_.PlanStart(fn.name, fn.config.memory_mb, std::move(idle));
  switch (plan.kind) {
    case NodeCapacity::Plan::Kind::kFits:
      break;
    case NodeCapacity::Plan::Kind::kEvict:
      for (WorkerId victim : plan.evict) EvictWorker(victim);
      break;
    case NodeCapacity::Plan::Kind::kWait:
      // The request stays queued; housekeeping retries (Pool::WantsWorker) until its queue
      // timeout answers 503 with this reason.
      if (entry.blocked.empty()) spdlog::warn("{}: {}", key, plan.reason);
      entry.blocked = plan.reason;
      return false;
    case NodeCapacity::Plan::Kind::kNever:
      entry.blocked = plan.reason;
      if (for_request) FailQueue(entry, Unavailable(plan.reason));
      return false;
  }
  entry.blocked.clear();
  auto worker = AcquireWorker(fn.runtime);
  if (!worker.ok()) {
    spdlog::error("cannot start a worker for {}: {}", key, worker.status().message());
    FailQueue(entry, Unavailable("could not start a worker: " + worker.status().message()));
    return false;
  }
  Worker* w = *worker;
  w->set_pool_key(key);
  capacity_.Charge(w->id(), fn.name, fn.config.memory_mb);
  entry.pool.AddStarting(w->id());
  entry.starts[w->id()] = {uv_hrtime(), for_request};
  if (w->state() == Worker::State::kGeneric) LoadWorker(w, fn);
  // else: LOAD follows its HELLO (OnWorkerHello).
  if (w->state() == Worker::State::kLoading) {
    // The waiting requests go right behind the LOAD: no round trip for LOADED.
    for (InvocationId id : entry.pool.Pipeline(w->id())) Dispatch(id, w, /*cold=*/true);
  }
  return true;
}

void Dispatcher::EvictWorker(WorkerId id) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Worker* w = it->second.get();
  auto pool = pools_.find(w->pool_key());
  if (pool == pools_.end() || !pool->second->pool.Evict(id, NowMs())) return;
  capacity_.Release(id);
  pool->second->evictions++;
  evictions_++;
  spdlog::debug("evicted idle worker {} of {} to make room", id, w->pool_key());
  w->Stop(1000);
}

Result<Worker*> Dispatcher::AcquireWorker(const std::string& runtime) {
  // A generic worker can load a function of any runtime (LOAD names it); one pre-warmed for
  // the function's runtime is best, another still beats spawning.
  for (GenericPool* generic :
       {&GenericFor(runtime), &GenericFor(runtime == "cpp" ? "js" : "cpp")}) {
    if (generic->ready.empty()) continue;
    Worker* w = workers_.at(generic->ready.front()).get();
    generic->ready.erase(generic->ready.begin());
    // Refilled by the next housekeeping pass, not here: spawning a process blocks the loop for
    // a millisecond or more, which this cold start would otherwise wait for.
    return w;
  }
  spdlog::debug("no pre-warmed {} worker is ready: spawning one", runtime);
  return SpawnWorker(runtime);
}

Result<Worker*> Dispatcher::SpawnWorker(const std::string& runtime) {
  WorkerId id = next_worker_id_++;
  SpawnRequest request;
  request.worker_path = options_.worker_path;
  request.runtime = runtime;
  if (options_.sandbox) request.extra_args = {"--sandbox", "on", "--code-root", options_.code_root};
  if (options_.cgroups != nullptr) {
    // Created here, while the worker is pre-warmed (off a request's path); the child joins it
    // before exec.
    auto procs = options_.cgroups->Create(CgroupName(id));
    if (!procs.ok()) return procs.status();
    request.cgroup_procs = std::move(procs).value();
  }
  auto spawned = spawner_->Spawn(request);
  if (!spawned.ok()) {
    RemoveCgroup(id);
    return spawned.status();
  }
  auto worker = std::make_unique<Worker>(loop_, id, runtime, *spawned, this);
  Worker* raw = worker.get();
  if (auto started = raw->Start(); !started.ok()) {
    worker.reset();  // kills and reaps the process
    RemoveCgroup(id);
    return started;
  }
  workers_.emplace(id, std::move(worker));
  return raw;
}

void Dispatcher::LoadWorker(Worker* worker, const protocol::LoadRequest& request, bool outbound) {
  if (options_.cgroups != nullptr) {
    Status limited = options_.cgroups->SetLimits(CgroupName(worker->id()),
                                                 isolation::LimitsForMemory(request.memory_mb));
    if (!limited.ok()) {
      spdlog::error("worker {}: cannot set its cgroup limits: {}; killing it", worker->id(),
                    limited.message());
      worker->Kill();
      return;
    }
  }
  // Without the sandbox (--no-isolation) a worker shares flintd's network namespace already.
  worker->Load(request, outbound && options_.sandbox);
}

void Dispatcher::LoadWorker(Worker* worker, const FunctionVersion& fn) {
  LoadWorker(worker, MakeLoadRequest(fn), fn.config.network == "outbound");
}

void Dispatcher::RemoveCgroup(WorkerId id) {
  cgroup_cpu_us_.erase(id);
  if (options_.cgroups == nullptr) return;
  Status removed = options_.cgroups->Remove(CgroupName(id));
  if (removed.ok()) return;
  if (removed.code() != Code::kUnavailable) {
    spdlog::warn("removing the cgroup of worker {}: {}", id, removed.message());
  }
  cgroups_to_remove_.push_back(id);
}

uint64_t Dispatcher::ReloadDelayMs() const {
  if (!generic_js_.ready.empty() || !generic_cpp_.ready.empty()) return 0;
  return kHousekeepingMs + generic_spawn_us_.Percentile(90) / 1000;
}

bool Dispatcher::GenericLow() const {
  return generic_js_.ready.size() + generic_js_.spawning < options_.prewarm_js / 2 ||
         generic_cpp_.ready.size() + generic_cpp_.spawning < options_.prewarm_cpp / 2;
}

void Dispatcher::RefillGeneric() {
  if (shutting_down_) return;
  for (const auto& [runtime, want] :
       {std::pair<std::string, uint32_t>{"js", options_.prewarm_js},
        std::pair<std::string, uint32_t>{"cpp", options_.prewarm_cpp}}) {
    GenericPool& generic = GenericFor(runtime);
    while (generic.ready.size() + generic.spawning < want) {
      auto worker = SpawnWorker(runtime);
      if (!worker.ok()) {
        // Retried by the next housekeeping pass; a missing binary must not spin the loop.
        spdlog::error("cannot start a pre-warmed {} worker: {}", runtime,
                      worker.status().message());
        return;
      }
      generic.spawning++;
    }
  }
}

void Dispatcher::CheckLoads(const FunctionVersion& fn, LoadDone done) {
  auto worker = AcquireWorker(fn.runtime);
  if (!worker.ok()) {
    done(Unavailable("could not start a worker to check the function: " +
                     worker.status().message()));
    return;
  }
  Worker* w = *worker;
  bool outbound = fn.config.network == "outbound";
  load_checks_[w->id()] =
      LoadCheck{std::move(done), NowMs() + options_.load_timeout_ms, MakeLoadRequest(fn), outbound};
  if (w->state() == Worker::State::kGeneric) {
    LoadWorker(w, load_checks_[w->id()].request, outbound);
  }
}

void Dispatcher::OnWorkerHello(Worker* worker) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    LoadWorker(worker, check->second.request, check->second.outbound);
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
      (void)options_.cgroups->PresetLimits(CgroupName(worker->id()),
                                           isolation::LimitsForMemory(kMinMemoryMb));
    }
    return;
  }
  auto pool = pools_.find(worker->pool_key());
  if (pool == pools_.end()) {
    worker->Stop(1000);
    return;
  }
  LoadWorker(worker, *pool->second->fn);
  if (worker->state() == Worker::State::kLoading) {
    for (InvocationId id : pool->second->pool.Pipeline(worker->id())) {
      Dispatch(id, worker, /*cold=*/true);
    }
  }
}

void Dispatcher::OnWorkerLoaded(Worker* worker, const protocol::Loaded& loaded) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    LoadDone done = std::move(check->second.done);
    load_checks_.erase(check);
    worker->Stop(1000);
    done(Status::Ok());
    return;
  }
  auto pool = pools_.find(worker->pool_key());
  if (pool == pools_.end()) {
    worker->Stop(1000);
    return;
  }
  PoolEntry& entry = *pool->second;
  entry.start_failures = 0;
  if (auto start = entry.starts.find(worker->id()); start != entry.starts.end()) {
    uint64_t took_us = (uv_hrtime() - start->second.ns) / 1000;
    if (start->second.for_request) {
      entry.cold_latency.Add(took_us);
    } else {
      prewarm_lead_.Add(took_us);
    }
    entry.starts.erase(start);
  }
  spdlog::debug("worker {} loaded {} in {} us ({} us since spawn)", worker->id(),
                worker->pool_key(), loaded.init_duration_us,
                (uv_hrtime() - worker->spawned_at_ns()) / 1000);
  // Invocations pipelined behind the LOAD (StartWorkerFor) start now: their deadlines too.
  for (InvocationId id : worker->in_flight()) {
    auto inv = invocations_.find(id);
    if (inv == invocations_.end() || !inv->second.cold || inv->second.init_us != 0) continue;
    inv->second.init_us = loaded.init_duration_us;
    inv->second.loaded_ns = uv_hrtime();
    uint64_t grace = entry.fn->runtime == "js" ? options_.timeout_grace_ms : 0;
    inv->second.deadline_ms = NowMs() + entry.fn->config.timeout_ms + grace;
  }
  for (InvocationId id : entry.pool.WorkerReady(worker->id(), NowMs())) {
    Dispatch(id, worker, /*cold=*/true);
    if (auto inv = invocations_.find(id); inv != invocations_.end()) {
      inv->second.init_us = loaded.init_duration_us;
    }
  }
  ArmScaleTimer(entry);  // a pre-warmed worker is idle until its window ends
}

void Dispatcher::OnWorkerLoadFailed(Worker* worker, const std::string& message) {
  if (auto check = load_checks_.find(worker->id()); check != load_checks_.end()) {
    LoadDone done = std::move(check->second.done);
    load_checks_.erase(check);
    done(InvalidArgument(message));
    return;
  }
  auto pool = pools_.find(worker->pool_key());
  if (pool == pools_.end()) return;
  spdlog::error("{} failed to load: {}", worker->pool_key(), message);
  // A deployed version that no longer loads: fail what waits rather than retry forever, and
  // what was pipelined behind the LOAD (it never ran).
  Status why(Code::kFunctionError, "function failed to load: " + message);
  for (InvocationId id : worker->in_flight()) {
    if (auto inv = invocations_.find(id); inv != invocations_.end()) inv->second.worker = 0;
    Finish(id, ErrorResponse(why), /*error=*/true);
  }
  worker->in_flight().clear();
  FailQueue(*pool->second, why);
  pool->second->pool.WorkerGone(worker->id(), NowMs());
  pool->second->starts.erase(worker->id());
  capacity_.Release(worker->id());
}

void Dispatcher::OnWorkerResult(Worker* worker, InvocationId id, protocol::InvokeResult result) {
  bool error = result.outcome != protocol::Outcome::kOk;
  meter::Outcome outcome =
      result.outcome == protocol::Outcome::kOk            ? meter::Outcome::kOk
      : result.outcome == protocol::Outcome::kTimeout     ? meter::Outcome::kTimeout
      : result.outcome == protocol::Outcome::kOutOfMemory ? meter::Outcome::kOom
                                                          : meter::Outcome::kError;
  std::pair<uint64_t, uint64_t> measured{result.duration_us, result.cpu_us};
  Finish(id, ResponseFromResult(std::move(result)), error, outcome, measured);
  auto pool = pools_.find(worker->pool_key());
  if (pool == pools_.end()) return;
  for (InvocationId next : pool->second->pool.InvocationDone(worker->id(), NowMs())) {
    Dispatch(next, worker, /*cold=*/false);
  }
  ArmScaleTimer(*pool->second);
}

void Dispatcher::OnWorkerLog(Worker* worker, InvocationId id, protocol::LogLine line) {
  auto pool = pools_.find(worker->pool_key());
  if (pool == pools_.end()) return;
  LogRecord record;
  record.time_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  if (auto inv = invocations_.find(id); inv != invocations_.end()) {
    record.request_id = inv->second.request_id;
  }
  record.level = LevelName(line.level);
  record.message = std::move(line.text);
  spdlog::debug("[{}] {} {}", worker->pool_key(), record.request_id, record.message);
  logs_.Append(pool->second->fn->name, std::move(record));
}

void Dispatcher::OnWorkerExit(Worker* worker, const std::string& reason) {
  WorkerId id = worker->id();
  spdlog::debug("worker {} (pid {}, {}) exited: {}", id, worker->pid(),
                worker->pool_key().empty() ? "generic" : worker->pool_key(), reason);
  if (auto check = load_checks_.find(id); check != load_checks_.end()) {
    LoadDone done = std::move(check->second.done);
    load_checks_.erase(check);
    done(Status(Code::kFunctionCrashed,
                "the worker exited while loading the function (" + reason + ")"));
  } else if (worker->pool_key().empty()) {
    GenericPool& generic = GenericFor(worker->runtime());
    auto it = std::find(generic.ready.begin(), generic.ready.end(), id);
    if (it != generic.ready.end()) {
      generic.ready.erase(it);
    } else if (worker->state() == Worker::State::kStarting) {
      generic.spawning--;
    }
  }
  auto pool = pools_.find(worker->pool_key());
  // The kernel killed a process of the worker for its memory limit: say so, by the limit.
  bool oom = false;
  if (options_.cgroups != nullptr) {
    auto usage = options_.cgroups->ReadUsage(CgroupName(id));
    oom = usage.ok() && usage->oom_kills > 0;
  }
  for (InvocationId inv : worker->in_flight()) {
    if (oom && pool != pools_.end()) {
      Finish(inv,
             ErrorWithType(Code::kFunctionCrashed, "OutOfMemory",
                           "function exceeded its memory limit of " +
                               std::to_string(pool->second->fn->config.memory_mb) + " MB"),
             /*error=*/true, meter::Outcome::kOom);
      continue;
    }
    Finish(inv,
           ErrorWithType(Code::kFunctionCrashed, "",
                         "function crashed: its worker exited with " + reason),
           /*error=*/true);
  }
  worker->in_flight().clear();
  capacity_.Release(id);
  RemoveCgroup(id);
  if (pool != pools_.end()) {
    PoolEntry& entry = *pool->second;
    entry.starts.erase(id);
    bool was_loading = worker->state() != Worker::State::kReady;
    if (entry.pool.WorkerGone(id, NowMs())) {
      if (was_loading && ++entry.start_failures >= kMaxStartFailures) {
        FailQueue(entry, Status(Code::kFunctionCrashed, "function crashed while starting, " +
                                                            std::to_string(kMaxStartFailures) +
                                                            " times in a row (" + reason + ")"));
      } else {
        StartWorkerFor(pool->first, entry);
      }
    }
  }
  auto owned = workers_.find(id);
  if (owned != workers_.end()) {
    dead_workers_.push_back(std::move(owned->second));
    workers_.erase(owned);
  }
}

void Dispatcher::OnWorkerChannelClosed(Worker* worker) {
  // A worker killed from outside, or crashing, closes its channel a moment before its process
  // (and its sandbox's waiting parents) can be reaped: take it out of its pool now, so no
  // request is sent to it in between (it would fail with a crash it had nothing to do with).
  // Busy or loading workers keep their place: their invocations fail at OnWorkerExit.
  if (worker->pool_key().empty()) {
    GenericPool& generic = GenericFor(worker->runtime());
    auto it = std::find(generic.ready.begin(), generic.ready.end(), worker->id());
    if (it != generic.ready.end()) generic.ready.erase(it);
    return;
  }
  auto pool = pools_.find(worker->pool_key());
  if (pool != pools_.end() && pool->second->pool.Evict(worker->id(), NowMs())) {
    spdlog::debug("worker {} of {} closed its channel while idle", worker->id(),
                  worker->pool_key());
  }
}

void Dispatcher::FailQueue(PoolEntry& entry, const flint::Status& why) {
  for (InvocationId id : entry.pool.TakeQueue()) {
    Finish(id, ErrorResponse(why), /*error=*/true);
  }
}

void Dispatcher::Housekeeping() {
  dead_workers_.clear();
  if (!cgroups_to_remove_.empty()) {
    std::vector<WorkerId> retry;
    retry.swap(cgroups_to_remove_);
    for (WorkerId id : retry) RemoveCgroup(id);
  }
  uint64_t now = NowMs();

  // Deadlines: a request that waited too long for a worker, or a worker that outlived its
  // function's timeout by the grace period (the worker enforces the timeout itself; this is the
  // backstop for one that cannot, e.g. native code or a wedged process).
  std::vector<InvocationId> expired_queue;
  std::vector<WorkerId> wedged;
  for (auto& [id, inv] : invocations_) {
    if (inv.deadline_ms == 0 || now < inv.deadline_ms) continue;
    if (inv.worker == 0) {
      expired_queue.push_back(id);
    } else {
      wedged.push_back(inv.worker);
    }
  }
  for (InvocationId id : expired_queue) {
    auto& inv = invocations_.at(id);
    std::string why;
    if (auto pool = pools_.find(inv.pool_key); pool != pools_.end()) {
      pool->second->pool.Cancel(id);
      if (!pool->second->blocked.empty()) why = ": " + pool->second->blocked;
    }
    Finish(id,
           ErrorResponse(Unavailable("no worker became available within " +
                                     std::to_string(options_.queue_timeout_ms) + " ms" + why)),
           true);
  }
  for (WorkerId wid : wedged) {
    auto it = workers_.find(wid);
    if (it == workers_.end()) continue;
    Worker* w = it->second.get();
    auto pool = pools_.find(w->pool_key());
    uint32_t timeout_ms = pool != pools_.end() ? pool->second->fn->config.timeout_ms : 0;
    for (InvocationId inv : w->in_flight()) {
      Finish(inv,
             ErrorResponse(Status(Code::kFunctionTimeout, "function timed out after " +
                                                              std::to_string(timeout_ms) + " ms")),
             true, meter::Outcome::kTimeout);
    }
    w->in_flight().clear();
    w->Kill();
  }

  for (auto it = load_checks_.begin(); it != load_checks_.end();) {
    if (now < it->second.deadline_ms) {
      ++it;
      continue;
    }
    LoadDone done = std::move(it->second.done);
    WorkerId wid = it->first;
    it = load_checks_.erase(it);
    if (auto w = workers_.find(wid); w != workers_.end()) w->second->Kill();
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

  // Keep-alive: stop idle workers past their keep-alive; drain old versions; drop empty pools.
  uint64_t reload_delay = ReloadDelayMs();
  for (auto it = pools_.begin(); it != pools_.end();) {
    PoolEntry& entry = *it->second;
    std::vector<WorkerId> stop = entry.draining || shutting_down_
                                     ? entry.pool.TakeIdle(now)
                                     : entry.pool.TakeExpired(now, reload_delay);
    for (WorkerId wid : stop) {
      capacity_.Release(wid);
      if (auto w = workers_.find(wid); w != workers_.end()) w->second->Stop(1000);
    }
    if (entry.draining && entry.pool.empty()) {
      retired_idle_ms_ += entry.pool.IdleWorkerMs(now);
      retired_cold_starts_ += entry.cold_starts;
      retired_invocations_ += entry.invocations;
      it = pools_.erase(it);
    } else {
      ++it;
    }
  }

  if (!shutting_down_) {
    // Adaptive pre-warms start early enough for how long they take to load on this node now.
    for (auto& [key, entry] : pools_) {
      if (entry->draining || entry->pool.policy().keep_alive_mode != KeepAliveMode::kAdaptive) {
        continue;
      }
      uint64_t lead = prewarm_lead_.LeadMs(entry->pool.cold_start_cost_ms());
      if (lead == entry->pool.prewarm_lead_ms()) continue;
      entry->pool.set_prewarm_lead_ms(lead);
      ArmScaleTimer(*entry);
    }
    ScalePools();
    // Spawning blocks the loop until the child has joined its cgroups and exec'd (milliseconds,
    // far more under load): not while a cold start is being answered, which would wait for it
    // (tools/bench/coldstart.py's p99). Deferred for at most kMaxRefillDeferrals passes, and
    // not at all once fewer than half the pre-warmed workers are left: cold starts and adaptive
    // pre-warms (several a second on a busy node) would soon find none and spawn on their own,
    // each later than a LOAD and the next one slower still.
    bool cold_in_flight = std::any_of(invocations_.begin(), invocations_.end(), [](const auto& i) {
      return i.second.cold && i.second.worker != 0;
    });
    if (!cold_in_flight || GenericLow() || ++refill_deferrals_ > kMaxRefillDeferrals) {
      refill_deferrals_ = 0;
      RefillGeneric();
    }
    return;
  }
  if (invocations_.empty()) {
    for (GenericPool* generic : {&generic_js_, &generic_cpp_}) {
      for (WorkerId wid : generic->ready) workers_.at(wid)->Stop(1000);
      generic->ready.clear();
    }
    for (auto& [wid, w] : workers_) {
      if (w->state() != Worker::State::kDead) w->Stop(1000);
    }
  }
  if (invocations_.empty() && workers_.empty() && shutdown_done_) {
    housekeeping_.Stop();
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

void Dispatcher::ArmScaleTimer(const PoolEntry& entry) {
  if (entry.draining || shutting_down_) return;
  uint64_t now = NowMs();
  std::optional<uint64_t> due = entry.pool.NextExpiry();
  if (auto prewarm = entry.pool.NextPrewarm(now); prewarm && (!due || *prewarm < *due)) {
    due = prewarm;
  }
  if (!due) return;
  uint64_t at = std::max(*due, now);
  if (scale_due_ms_ != 0 && scale_due_ms_ <= at) return;
  scale_due_ms_ = at;
  scale_timer_.Start(at - now, 0, [this] { OnScaleTimer(); });
}

void Dispatcher::OnScaleTimer() {
  scale_due_ms_ = 0;
  if (shutting_down_) return;
  uint64_t now = NowMs();
  uint64_t reload_delay = ReloadDelayMs();
  std::optional<uint64_t> next;
  for (auto& [key, entry] : pools_) {
    if (entry->draining) continue;
    for (WorkerId wid : entry->pool.TakeExpired(now, reload_delay)) {
      capacity_.Release(wid);
      if (auto w = workers_.find(wid); w != workers_.end()) w->second->Stop(1000);
    }
    if (entry->pool.TakePrewarm(now)) {
      spdlog::debug("{}: pre-warming a worker for the predicted next call", key);
      (void)StartWorkerFor(key, *entry, /*for_request=*/false);
    }
    // Deadlines still due now could not be acted on (min_instances, no memory): housekeeping
    // retries those; the timer waits only for future ones.
    for (auto due : {entry->pool.NextExpiry(), entry->pool.NextPrewarm(now)}) {
      if (due && *due > now && (!next || *due < *next)) next = due;
    }
  }
  if (next && (scale_due_ms_ == 0 || *next < scale_due_ms_)) {
    scale_due_ms_ = *next;
    scale_timer_.Start(*next - now, 0, [this] { OnScaleTimer(); });
  }
}

void Dispatcher::ScalePools() {
  uint64_t now = NowMs();
  // min_instances: a live function gets its pool (and workers) without waiting for traffic.
  for (const auto& [name, fn] : live_) {
    if (fn->config.min_instances > 0) PoolFor(fn);
  }
  for (auto& [key, entry] : pools_) {
    if (entry->draining) continue;
    for (uint32_t n = entry->pool.WorkersToStart(); n > 0; --n) {
      if (!StartWorkerFor(key, *entry, /*for_request=*/false)) break;
    }
    if (entry->pool.TakePrewarm(now)) {
      spdlog::debug("{}: pre-warming a worker for the predicted next call", key);
      (void)StartWorkerFor(key, *entry, /*for_request=*/false);
    }
    // Requests that could not get a worker (memory was full) retry as memory frees up.
    if (entry->pool.WantsWorker()) (void)StartWorkerFor(key, *entry, /*for_request=*/true);
  }
}

PoolStatus Dispatcher::StatusOf(const PoolEntry& entry) const {
  PoolStatus status;
  status.name = entry.fn->name;
  status.version = entry.fn->version;
  status.counts = entry.pool.counts();
  status.invocations = entry.invocations;
  status.cold_starts = entry.cold_starts;
  status.errors = entry.errors;
  status.throttles = entry.throttles;
  status.evictions = entry.evictions;
  status.idle_worker_ms = entry.pool.IdleWorkerMs(NowMs());
  status.cold_start_p50_us = entry.cold_latency.Percentile(50);
  status.cold_start_p99_us = entry.cold_latency.Percentile(99);
  status.cpu_us = entry.cpu_us;
  status.peak_memory_bytes = entry.peak_memory_bytes;
  status.memory_mb = entry.fn->config.memory_mb;
  status.min_instances = entry.pool.policy().min_instances;
  status.adaptive = entry.pool.policy().keep_alive_mode == KeepAliveMode::kAdaptive;
  status.keep_alive_ms = entry.pool.policy().keep_alive_ms;
  status.windows = entry.pool.windows();
  status.blocked = entry.pool.WantsWorker() ? entry.blocked : "";
  return status;
}

std::vector<PoolStatus> Dispatcher::AllPoolStatuses() const {
  std::vector<PoolStatus> out;
  for (const auto& [key, entry] : pools_) out.push_back(StatusOf(*entry));
  std::sort(out.begin(), out.end(), [](const PoolStatus& a, const PoolStatus& b) {
    return a.name != b.name ? a.name < b.name : a.version > b.version;
  });
  return out;
}

NodeStatus Dispatcher::Node() const {
  NodeStatus node;
  node.memory_budget_mb = capacity_.budget_mb();
  node.memory_used_mb = capacity_.used_mb();
  node.memory_reserved_mb = capacity_.reserved_mb();
  node.workers = workers_.size();
  node.generic_ready = generic_js_.ready.size() + generic_cpp_.ready.size();
  node.idle_worker_ms = retired_idle_ms_;
  node.evictions = evictions_;
  node.cold_starts = retired_cold_starts_;
  node.invocations = retired_invocations_;
  uint64_t now = NowMs();
  for (const auto& [key, entry] : pools_) {
    node.idle_worker_ms += entry->pool.IdleWorkerMs(now);
    node.cold_starts += entry->cold_starts;
    node.invocations += entry->invocations;
  }
  return node;
}

std::vector<PoolStatus> Dispatcher::PoolStatuses(const std::string& name) const {
  std::vector<PoolStatus> out;
  for (const auto& [key, entry] : pools_) {
    if (entry->fn->name != name) continue;
    out.push_back(StatusOf(*entry));
  }
  std::sort(out.begin(), out.end(),
            [](const PoolStatus& a, const PoolStatus& b) { return a.version > b.version; });
  return out;
}

void Dispatcher::Shutdown(std::function<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  scale_timer_.Stop();
  scale_due_ms_ = 0;
  for (auto& [key, entry] : pools_) {
    FailQueue(*entry, Unavailable("flintd is shutting down"));
  }
  Housekeeping();
}

}  // namespace flint::scheduler
