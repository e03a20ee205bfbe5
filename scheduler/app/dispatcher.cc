#include "scheduler/app/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "scheduler/app/result_response.h"
#include "scheduler/meter/invocation_id.h"
#include "sdk/core/check.h"
#include "sdk/core/clock.h"

namespace flint::scheduler {
namespace {

constexpr uint32_t kMaxStartFailures = 3;
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

// Counts an answered invocation in its series: the metrics' outcome index is meter::Outcome's.
void Count(metrics::FunctionMetrics& series, const meter::InvocationRecord& record) {
  bool ran = record.outcome != meter::Outcome::kThrottled;
  uint64_t billed_mb_ms = ran ? meter::BilledMs(record.duration_us) * record.memory_mb : 0;
  series.Record(static_cast<size_t>(record.outcome), ran, record.cold, record.duration_us,
                billed_mb_ms);
}

}  // namespace

std::unique_ptr<metrics::Registry> NewInvocationMetrics() {
  std::vector<std::string> outcomes;
  for (auto outcome : {meter::Outcome::kOk, meter::Outcome::kError, meter::Outcome::kTimeout,
                       meter::Outcome::kCrash, meter::Outcome::kOom, meter::Outcome::kThrottled}) {
    FLINT_CHECK(static_cast<size_t>(outcome) == outcomes.size());
    outcomes.emplace_back(meter::OutcomeName(outcome));
  }
  return std::make_unique<metrics::Registry>(std::move(outcomes),
                                             static_cast<size_t>(meter::Outcome::kThrottled));
}

Dispatcher::Dispatcher(uv_loop_t* loop, DispatcherOptions options, Fleet* fleet)
    : loop_(loop),
      options_(std::move(options)),
      fleet_(fleet),
      housekeeping_(loop),
      scale_timer_(loop) {
  fleet_->SetObserver(this);
}

Dispatcher::~Dispatcher() { fleet_->SetObserver(nullptr); }

void Dispatcher::Start() {
  housekeeping_.Start(kHousekeepingMs, kHousekeepingMs, [this] { Housekeeping(); });
  scale_timer_.Unref();  // deadlines alone never keep flintd's loop running
  fleet_->Start();
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

uint64_t Dispatcher::RunDeadlineMs(const FunctionVersion& fn) const {
  uint64_t grace = 0;
  switch (fn.runtime) {
    case Runtime::kNode:  // both JS runtimes stop the handler at its timeout; the worker answers
    case Runtime::kV8:
      grace = options_.timeout_grace_ms;
      break;
    case Runtime::kCpp:  // native code cannot be stopped: the worker is killed
      grace = 0;
      break;
  }
  return NowMs() + fn.config.timeout_ms + grace;
}

// ---- functions -------------------------------------------------------------------------------

void Dispatcher::SetLive(std::shared_ptr<const FunctionVersion> fn) {
  auto it = live_.find(fn->name);
  if (it != live_.end() && it->second->version != fn->version) {
    auto old = pools_.find(KeyOf(*it->second));
    if (old != pools_.end()) old->second->draining = true;
  }
  fleet_->SetReservation(fn->name,
                         uint64_t{fn->config.reserved_concurrency} * fn->config.memory_mb);
  live_[fn->name] = std::move(fn);
}

void Dispatcher::Remove(const std::string& name) {
  auto it = live_.find(name);
  if (it == live_.end()) return;
  auto pool = pools_.find(KeyOf(*it->second));
  if (pool != pools_.end()) pool->second->draining = true;
  live_.erase(it);
  fleet_->SetReservation(name, 0);
  logs_.Forget(name);
  if (options_.metrics != nullptr) options_.metrics->Forget(name);
}

std::shared_ptr<const FunctionVersion> Dispatcher::FindLive(const std::string& name) const {
  auto it = live_.find(name);
  return it == live_.end() ? nullptr : it->second;
}

Dispatcher::PoolEntry& Dispatcher::PoolFor(const std::shared_ptr<const FunctionVersion>& fn) {
  auto& slot = pools_[KeyOf(*fn)];
  if (!slot) {
    slot.reset(new PoolEntry{fn, Pool(PolicyOf(*fn))});
    if (options_.metrics != nullptr) slot->metrics = options_.metrics->For(fn->name, fn->version);
  }
  return *slot;
}

// ---- invocations -----------------------------------------------------------------------------

void Dispatcher::Invoke(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
                        std::string rest_path, HttpResponder responder) {
  // A request that never runs (shutting down, 429) is still metered, as throttled.
  auto never_ran = [&](HttpResponse response) {
    meter::InvocationFacts facts;
    facts.request_id = NewRequestId();
    facts.function = fn->name;
    facts.version = fn->version;
    facts.memory_mb = fn->config.memory_mb;
    facts.received_ms = static_cast<int64_t>(request.received_at_ms);
    facts.received_ns = request.received_at_ns;
    response.headers.emplace_back("x-flint-request-id", facts.request_id);
    response.headers.emplace_back(
        "traceparent", InvocationTrace(request.FindHeader("traceparent"), trace_bits_).Header());
    if (options_.isolation_off) {
      response.headers.emplace_back("x-flint-warning", kIsolationOffWarning);
    }
    meter::InvocationRecord record =
        meter::BuildRecord(std::move(facts), meter::Outcome::kThrottled, uv_hrtime(), std::nullopt);
    if (options_.metrics != nullptr) Count(*options_.metrics->For(fn->name, fn->version), record);
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
    SetRetryAfter(response, 1);
    return never_ran(std::move(response));
  }
  Invocation& inv = invocations_[id];
  inv.responder = std::move(responder);
  inv.pool_key = KeyOf(*fn);
  inv.request_id = NewRequestId();
  inv.fn = fn;
  inv.received_ms = static_cast<int64_t>(request.received_at_ms);
  inv.received_ns = request.received_at_ns;
  inv.trace = InvocationTrace(request.FindHeader("traceparent"), trace_bits_);
  inv.request = std::move(request);
  inv.rest_path = std::move(rest_path);
  if (admission.kind == Pool::Admission::Kind::kDispatch) {
    Dispatch(id, admission.worker, /*cold=*/false);
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
  inv.received_ms = WallClockMs();
  inv.received_ns = uv_hrtime();
  inv.request.received_at_ms = static_cast<uint64_t>(inv.received_ms);
  inv.request.method = "POST";
  inv.request.body = std::move(payload);
  inv.rest_path = "/";
  inv.trace = NewTrace(trace_bits_);  // each attempt of an event is a trace of its own
  if (admission.kind == Pool::Admission::Kind::kDispatch) {
    Dispatch(id, admission.worker, /*cold=*/false);
    return Status::Ok();
  }
  inv.deadline_ms = NowMs() + options_.queue_timeout_ms;
  if (admission.start_worker) StartWorkerFor(inv.pool_key, entry);
  return Status::Ok();
}

void Dispatcher::Dispatch(InvocationId id, WorkerId worker, bool cold) {
  Invocation& inv = invocations_.at(id);
  PoolEntry& entry = *pools_.at(inv.pool_key);
  const FunctionVersion& fn = *entry.fn;
  inv.worker = worker;
  inv.cold = cold;
  inv.dispatched_ns = uv_hrtime();
  if (cold) entry.cold_starts++;
  inv.deadline_ms = RunDeadlineMs(fn);
  if (fn.runtime == Runtime::kCpp) {
    // Behind another invocation on this worker: its run deadline starts when that one answers.
    NativeQueue& queue = native_queues_[worker];
    if (queue.running) {
      queue.waiting.push_back(id);
      inv.deadline_ms = 0;
    } else {
      queue.running = true;
    }
  }

  protocol::InvokeRequest req;
  req.kind = protocol::InvokeKind::kHttp;
  req.timeout_ms = fn.config.timeout_ms;
  req.time_epoch_ms = inv.request.received_at_ms;
  // An event keeps its invocation id across attempts (as Lambda's retries keep the request id);
  // the ledger still keys each attempt by its own request id.
  req.request_id = inv.event_done ? inv.event_id : inv.request_id;
  req.method = std::move(inv.request.method);
  req.raw_path = std::move(inv.rest_path);
  req.raw_query = std::move(inv.request.query);
  req.source_ip = std::move(inv.request.peer_ip);
  req.headers = std::move(inv.request.headers);
  req.body = std::move(inv.request.body);
  // The function sees flintd's span of the caller's trace, not the caller's own.
  std::erase_if(req.headers, [](const auto& h) { return h.first == "traceparent"; });
  req.headers.push_back({"traceparent", inv.trace.Header()});
  if (inv.event_done) {
    req.kind = protocol::InvokeKind::kEvent;
    req.headers.push_back({"x-flint-event-id", inv.event_id});
  }
  // TODO(perf): encode straight into the channel's write buffer to save one copy of the body.
  fleet_->Invoke(worker, id, req.Encode());
}

void Dispatcher::Finish(InvocationId id, HttpResponse response, bool error,
                        std::optional<meter::Outcome> outcome,
                        std::optional<meter::Measured> measured) {
  auto it = invocations_.find(id);
  if (it == invocations_.end()) return;
  Invocation inv = std::move(it->second);
  invocations_.erase(it);
  auto pool = pools_.find(inv.pool_key);
  if (pool != pools_.end() && error) pool->second->errors++;
  response.headers.emplace_back("x-flint-request-id", inv.request_id);
  response.headers.emplace_back("traceparent", inv.trace.Header());
  if (inv.cold) {
    response.headers.emplace_back("x-flint-cold-start", "true");
    if (spdlog::should_log(spdlog::level::debug)) {
      // Where a cold start's time went, as flintd sees it (docs/benchmarks.md).
      uint64_t load_sent = fleet_->LoadSentNs(inv.worker);
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
  bool ran = inv.worker != 0;
  meter::Outcome final_outcome = outcome ? *outcome : meter::OutcomeWithoutResult(error, ran);
  EventResult event;
  if (inv.event_done) {
    event.ran = ran;
    event.ok = !error;
    event.outcome = outcome ? *outcome : !error ? meter::Outcome::kOk : meter::Outcome::kCrash;
    event.body = std::move(response.body);
    // Never ran: not an attempt and not metered (the event stays queued).
    if (!event.ran) return inv.event_done(std::move(event));
  }
  if ((options_.meter == nullptr && options_.metrics == nullptr) || !inv.fn) {
    if (inv.event_done) return inv.event_done(std::move(event));
    return inv.responder.Send(std::move(response));
  }

  uint64_t now_ns = uv_hrtime();
  meter::InvocationFacts facts;
  facts.request_id = std::move(inv.request_id);
  facts.function = inv.fn->name;
  facts.version = inv.fn->version;
  facts.memory_mb = inv.fn->config.memory_mb;
  facts.trigger = inv.trigger;
  facts.received_ms = inv.received_ms;
  facts.received_ns = inv.received_ns;
  facts.dispatched_ns = ran ? inv.dispatched_ns : 0;
  facts.cold = inv.cold;
  facts.init_us = inv.init_us;
  meter::InvocationRecord record =
      meter::BuildRecord(std::move(facts), final_outcome, now_ns, measured);
  if (ran && fleet_->Has(inv.worker)) {
    if (uint64_t heap = fleet_->HeapUsed(inv.worker); heap > 0) record.peak_memory_bytes = heap;
    if (fleet_->has_cgroups()) {
      usage_.Complete(inv.worker, now_ns, measured.has_value(), record,
                      [&]() -> std::optional<meter::CgroupReading> {
                        auto usage = fleet_->ReadUsage(inv.worker);
                        if (!usage) return std::nullopt;
                        return meter::CgroupReading{usage->cpu_us, usage->peak_memory_bytes};
                      });
    }
  }
  if (pool != pools_.end()) {
    if (pool->second->metrics) Count(*pool->second->metrics, record);
    pool->second->cpu_us += record.cpu_us;
    pool->second->peak_memory_bytes =
        std::max<uint64_t>(pool->second->peak_memory_bytes, record.peak_memory_bytes.value_or(0));
  }
  if (inv.event_done) {
    if (options_.meter == nullptr || options_.meter->TryAppend(record)) {
      return inv.event_done(std::move(event));
    }
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

void Dispatcher::FailQueue(PoolEntry& entry, const flint::Status& why) {
  for (InvocationId id : entry.pool.TakeQueue()) {
    Finish(id, ErrorResponse(why), /*error=*/true);
  }
}

// ---- workers ---------------------------------------------------------------------------------

bool Dispatcher::StartWorkerFor(const std::string& key, PoolEntry& entry, bool for_request) {
  Fleet::Placement placement = fleet_->StartWorker(*entry.fn, key);
  switch (placement.kind) {
    case Fleet::Placement::Kind::kStarted:
      break;
    case Fleet::Placement::Kind::kWait:
      // The request stays queued; housekeeping retries (Pool::WantsWorker) until its queue
      // timeout answers 503 with this reason.
      if (entry.blocked.empty()) spdlog::warn("{}: {}", key, placement.reason);
      entry.blocked = placement.reason;
      return false;
    case Fleet::Placement::Kind::kNever:
      entry.blocked = placement.reason;
      if (for_request) FailQueue(entry, Unavailable(placement.reason));
      return false;
    case Fleet::Placement::Kind::kFailed:
      entry.blocked.clear();
      spdlog::error("cannot start a worker for {}: {}", key, placement.reason);
      FailQueue(entry, Unavailable("could not start a worker: " + placement.reason));
      return false;
  }
  entry.blocked.clear();
  entry.pool.AddStarting(placement.worker);
  entry.starts[placement.worker] = {uv_hrtime(), for_request};
  // else: LOAD follows its HELLO (OnWorkerHello).
  if (placement.loadable) LoadAndPipeline(placement.worker, entry);
  return true;
}

void Dispatcher::LoadAndPipeline(WorkerId worker, PoolEntry& entry) {
  if (!fleet_->Load(worker, *entry.fn)) return;
  // The waiting requests go right behind the LOAD: no round trip for LOADED.
  for (InvocationId id : entry.pool.Pipeline(worker)) Dispatch(id, worker, /*cold=*/true);
}

std::vector<EvictionCandidate> Dispatcher::EvictionCandidates() const {
  std::vector<EvictionCandidate> idle;
  for (const auto& [key, entry] : pools_) {
    for (const auto& [wid, since] : entry->pool.Evictable()) {
      idle.push_back({wid, entry->fn->name, entry->fn->config.memory_mb, since});
    }
  }
  return idle;
}

bool Dispatcher::Evict(WorkerId worker, const std::string& pool_key) {
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end() || !pool->second->pool.Evict(worker, NowMs())) return false;
  pool->second->evictions++;
  return true;
}

void Dispatcher::OnWorkerHello(WorkerId worker, const std::string& pool_key) {
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end()) {
    fleet_->Stop(worker);
    return;
  }
  LoadAndPipeline(worker, *pool->second);
}

void Dispatcher::OnWorkerLoaded(WorkerId worker, const std::string& pool_key,
                                const protocol::Loaded& loaded) {
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end()) {
    fleet_->Stop(worker);
    return;
  }
  PoolEntry& entry = *pool->second;
  entry.start_failures = 0;
  if (auto start = entry.starts.find(worker); start != entry.starts.end()) {
    uint64_t took_us = (uv_hrtime() - start->second.ns) / 1000;
    if (start->second.for_request) {
      entry.cold_latency.Add(took_us);
      if (entry.metrics) entry.metrics->RecordColdStartLatency(took_us);
    } else {
      prewarm_lead_.Add(took_us);
    }
    entry.starts.erase(start);
  }
  // Invocations pipelined behind the LOAD (StartWorkerFor) start now: their deadlines too.
  for (InvocationId id : fleet_->InFlight(worker)) {
    auto inv = invocations_.find(id);
    if (inv == invocations_.end() || !inv->second.cold || inv->second.init_us != 0) continue;
    inv->second.init_us = loaded.init_duration_us;
    inv->second.loaded_ns = uv_hrtime();
    // (One queued behind another on a C++ worker gets its deadline when it starts.)
    if (inv->second.deadline_ms != 0) inv->second.deadline_ms = RunDeadlineMs(*entry.fn);
  }
  for (InvocationId id : entry.pool.WorkerReady(worker, NowMs())) {
    Dispatch(id, worker, /*cold=*/true);
    if (auto inv = invocations_.find(id); inv != invocations_.end()) {
      inv->second.init_us = loaded.init_duration_us;
    }
  }
  ArmScaleTimer(entry);  // a pre-warmed worker is idle until its window ends
}

void Dispatcher::OnWorkerLoadFailed(WorkerId worker, const std::string& pool_key,
                                    const std::string& message,
                                    std::vector<InvocationId> pipelined) {
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end()) return;
  spdlog::error("{} failed to load: {}", pool_key, message);
  // A deployed version that no longer loads: fail what waits rather than retry forever, and
  // what was pipelined behind the LOAD (it never ran).
  Status why(Code::kFunctionError, "function failed to load: " + message);
  for (InvocationId id : pipelined) {
    if (auto inv = invocations_.find(id); inv != invocations_.end()) inv->second.worker = 0;
    Finish(id, ErrorResponse(why), /*error=*/true);
  }
  FailQueue(*pool->second, why);
  pool->second->pool.WorkerGone(worker, NowMs());
  pool->second->starts.erase(worker);
}

void Dispatcher::OnWorkerResult(WorkerId worker, const std::string& pool_key, InvocationId id,
                                protocol::InvokeResult result) {
  bool error = result.outcome != protocol::Outcome::kOk;
  meter::Outcome outcome = MeterOutcome(result.outcome);
  meter::Measured measured{result.duration_us, result.cpu_us};
  bool exiting = result.worker_exiting;
  Finish(id, ResponseFromResult(std::move(result)), error, outcome, measured);
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end()) return;
  PoolEntry& entry = *pool->second;
  const FunctionVersion& fn = *entry.fn;
  if (exiting) {
    // The worker said it exits now (out of memory, process.exit): the pool must not hand it
    // another request meanwhile. Its other invocations, if any, fail when it is reaped.
    spdlog::debug("worker {} of {} is exiting", worker, pool_key);
    if (entry.pool.WorkerGone(worker, NowMs())) StartWorkerFor(pool->first, entry);
    return;
  }
  if (fn.runtime == Runtime::kCpp) {
    StartNextNative(worker, fn);
  } else if (fn.config.concurrency > 1) {
    last_result_ms_[worker] = NowMs();
  }
  for (InvocationId next : entry.pool.InvocationDone(worker, NowMs())) {
    Dispatch(next, worker, /*cold=*/false);
  }
  ArmScaleTimer(entry);
}

void Dispatcher::OnWorkerLog(WorkerId /*worker*/, const std::string& pool_key, InvocationId id,
                             protocol::LogLine line) {
  auto pool = pools_.find(pool_key);
  if (pool == pools_.end()) return;
  LogRecord record;
  record.time_ms = static_cast<uint64_t>(WallClockMs());
  if (auto inv = invocations_.find(id); inv != invocations_.end()) {
    record.request_id = inv->second.event_done ? inv->second.event_id : inv->second.request_id;
    record.trace_id = inv->second.trace.trace_id;
  }
  record.level = LevelName(line.level);
  record.message = std::move(line.text);
  // A secret the function prints is not shown in its logs.
  for (const EnvVar& secret : pool->second->fn->secrets) {
    if (secret.second.size() < 4) continue;
    for (size_t at; (at = record.message.find(secret.second)) != std::string::npos;) {
      record.message.replace(at, secret.second.size(), "[secret " + secret.first + "]");
    }
  }
  spdlog::debug("[{}] {} {}", pool_key, record.request_id, record.message);
  logs_.Append(pool->second->fn->name, std::move(record));
}

void Dispatcher::OnWorkerExit(WorkerId worker, const std::string& pool_key, WorkerExit exit) {
  auto pool = pools_.find(pool_key);
  for (InvocationId inv : exit.in_flight) {
    // The kernel killed a process of the worker for its memory limit, or V8 ran out of memory:
    // say so, by the limit.
    if (exit.oom && pool != pools_.end()) {
      Finish(inv,
             ErrorWithType(Code::kFunctionCrashed, "OutOfMemory",
                           "function exceeded its memory limit of " +
                               std::to_string(pool->second->fn->config.memory_mb) + " MB"),
             /*error=*/true, meter::Outcome::kOom);
      continue;
    }
    Finish(inv,
           ErrorWithType(Code::kFunctionCrashed, "",
                         "function crashed: its worker exited with " + exit.reason),
           /*error=*/true);
  }
  usage_.Forget(worker);
  native_queues_.erase(worker);
  last_result_ms_.erase(worker);
  if (pool == pools_.end()) return;
  PoolEntry& entry = *pool->second;
  entry.starts.erase(worker);
  // Every exit counts toward start_failures; a LOADED resets them.
  if (entry.pool.WorkerGone(worker, NowMs())) {
    if (++entry.start_failures >= kMaxStartFailures) {
      FailQueue(entry, Status(Code::kFunctionCrashed, "function crashed while starting, " +
                                                          std::to_string(kMaxStartFailures) +
                                                          " times in a row (" + exit.reason + ")"));
    } else {
      StartWorkerFor(pool->first, entry);
    }
  }
}

void Dispatcher::OnWorkerChannelClosed(WorkerId worker, const std::string& pool_key) {
  // A worker killed from outside, or crashing, closes its channel a moment before it can be
  // reaped: take it out of its pool now (if idle), so no request is sent to it in between.
  // Busy or loading workers keep their place: their invocations fail at OnWorkerExit.
  auto pool = pools_.find(pool_key);
  if (pool != pools_.end() && pool->second->pool.Evict(worker, NowMs())) {
    spdlog::debug("worker {} of {} closed its channel while idle", worker, pool_key);
  }
}

// ---- scaling ---------------------------------------------------------------------------------

void Dispatcher::Housekeeping() {
  fleet_->Tick();
  uint64_t now = NowMs();
  ExpireDeadlines(now);

  // Keep-alive: stop idle workers past their keep-alive; drain old versions; drop empty pools.
  for (auto it = pools_.begin(); it != pools_.end();) {
    PoolEntry& entry = *it->second;
    std::vector<WorkerId> stop =
        entry.draining || shutting_down_
            ? entry.pool.TakeIdle(now)
            : entry.pool.TakeExpired(now, fleet_->ReloadDelayMs(entry.fn->runtime));
    for (WorkerId wid : stop) fleet_->Stop(wid);
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
    bool cold_in_flight = std::any_of(invocations_.begin(), invocations_.end(), [](const auto& i) {
      return i.second.cold && i.second.worker != 0;
    });
    fleet_->Refill(cold_in_flight);
    return;
  }
  if (invocations_.empty()) fleet_->StopAll();
  if (invocations_.empty() && fleet_->size() == 0 && shutdown_done_) {
    housekeeping_.Stop();
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

void Dispatcher::ExpireDeadlines(uint64_t now) {
  std::vector<InvocationId> expired_queue;
  std::vector<std::pair<WorkerId, uint32_t>> wedged;  // and its function's timeout
  for (auto& [id, inv] : invocations_) {
    if (inv.deadline_ms == 0 || now < inv.deadline_ms) continue;
    if (inv.worker == 0) {
      expired_queue.push_back(id);
    } else if (!Progressing(inv, now)) {
      wedged.emplace_back(inv.worker, inv.fn->config.timeout_ms);
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
  for (auto [wid, timeout_ms] : wedged) {
    if (!fleet_->Has(wid)) continue;
    // On a C++ worker only the running invocation timed out; those queued behind it never
    // started and run elsewhere.
    std::vector<InvocationId> never_started;
    if (auto queue = native_queues_.find(wid); queue != native_queues_.end()) {
      never_started.assign(queue->second.waiting.begin(), queue->second.waiting.end());
      native_queues_.erase(queue);
    }
    std::vector<InvocationId> in_flight = fleet_->TakeInFlight(wid);
    for (InvocationId inv : in_flight) {
      if (std::find(never_started.begin(), never_started.end(), inv) != never_started.end()) {
        continue;
      }
      Finish(inv,
             ErrorResponse(Status(Code::kFunctionTimeout, "function timed out after " +
                                                              std::to_string(timeout_ms) + " ms")),
             true, meter::Outcome::kTimeout);
    }
    fleet_->Kill(wid);
    if (!never_started.empty()) Requeue(wid, never_started);
  }
}

bool Dispatcher::Progressing(const Invocation& inv, uint64_t now_ms) const {
  // A JS worker with several invocations runs their synchronous parts one after another and
  // stops each at its own deadline itself; the backstop (timeout + grace from dispatch) only
  // catches a worker that stopped answering. One still answering within a timeout + grace may
  // be working through the invocations ahead of this one: it gets up to a timeout per
  // invocation the worker may hold, measured from dispatch.
  if (!IsJavaScript(inv.fn->runtime) || inv.fn->config.concurrency <= 1) return false;
  auto last = last_result_ms_.find(inv.worker);
  if (last == last_result_ms_.end()) return false;
  uint64_t per_run = uint64_t{inv.fn->config.timeout_ms} + options_.timeout_grace_ms;
  uint64_t dispatched_ms = inv.dispatched_ns / 1'000'000;
  uint64_t bound = dispatched_ms +
                   uint64_t{inv.fn->config.timeout_ms} * inv.fn->config.concurrency +
                   options_.timeout_grace_ms;
  return now_ms < last->second + per_run && now_ms < bound;
}

void Dispatcher::StartNextNative(WorkerId worker, const FunctionVersion& fn) {
  auto queue = native_queues_.find(worker);
  if (queue == native_queues_.end()) return;
  queue->second.running = false;
  while (!queue->second.waiting.empty()) {
    InvocationId next = queue->second.waiting.front();
    queue->second.waiting.pop_front();
    auto inv = invocations_.find(next);
    if (inv == invocations_.end() || inv->second.worker != worker) continue;
    queue->second.running = true;
    inv->second.deadline_ms = RunDeadlineMs(fn);
    return;
  }
}

void Dispatcher::Requeue(WorkerId worker, const std::vector<InvocationId>& ids) {
  auto first = invocations_.find(ids.front());
  if (first == invocations_.end()) return;
  auto pool = pools_.find(first->second.pool_key);
  if (pool == pools_.end()) return;
  PoolEntry& entry = *pool->second;
  uint64_t now = NowMs();
  (void)entry.pool.WorkerGone(worker, now);  // the stopped worker takes nothing more
  std::vector<InvocationId> queued;
  for (InvocationId id : ids) {
    auto inv = invocations_.find(id);
    if (inv == invocations_.end()) continue;
    inv->second.worker = 0;
    inv->second.cold = false;
    inv->second.dispatched_ns = 0;
    inv->second.deadline_ms = now + options_.queue_timeout_ms;
    queued.push_back(id);
  }
  entry.pool.Requeue(queued);
  if (entry.pool.WantsWorker()) (void)StartWorkerFor(pool->first, entry);
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
  std::optional<uint64_t> next;
  for (auto& [key, entry] : pools_) {
    if (entry->draining) continue;
    uint64_t reload_delay = fleet_->ReloadDelayMs(entry->fn->runtime);
    for (WorkerId wid : entry->pool.TakeExpired(now, reload_delay)) fleet_->Stop(wid);
    for (uint32_t n = entry->pool.TakePrewarm(now); n > 0; --n) {
      spdlog::debug("{}: pre-warming a worker for the predicted next call", key);
      if (!StartWorkerFor(key, *entry, /*for_request=*/false)) break;
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
    for (uint32_t n = entry->pool.TakePrewarm(now); n > 0; --n) {
      spdlog::debug("{}: pre-warming a worker for the predicted next call", key);
      if (!StartWorkerFor(key, *entry, /*for_request=*/false)) break;
    }
    // Requests that could not get a worker (memory was full) retry as memory frees up.
    if (entry->pool.WantsWorker()) (void)StartWorkerFor(key, *entry, /*for_request=*/true);
  }
}

// ---- status ----------------------------------------------------------------------------------

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
  FleetStats fleet = fleet_->stats();
  NodeStatus node;
  node.memory_budget_mb = fleet.memory_budget_mb;
  node.memory_used_mb = fleet.memory_used_mb;
  node.memory_reserved_mb = fleet.memory_reserved_mb;
  node.workers = fleet.workers;
  node.generic_ready = fleet.generic_ready;
  node.generic_spawning = fleet.generic_spawning;
  node.generic_target = fleet.generic_target;
  node.spawn_waits = fleet.spawn_waits;
  node.idle_worker_ms = retired_idle_ms_;
  node.evictions = fleet.evictions;
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
