#include "scheduler/app/event_service.h"

#include <spdlog/spdlog.h>
#include <sys/random.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "scheduler/app/api_json.h"
#include "scheduler/meter/invocation_id.h"
#include "sdk/core/clock.h"

namespace flint::scheduler {
namespace {

using nlohmann::json;

constexpr uint64_t kTickMs = 20;
constexpr uint64_t kScheduleCheckMs = 1000;
constexpr int64_t kRequeueDelayMs = 200;  // an event its pool could not take waits this long
constexpr size_t kMaxStoredResult = 64 * 1024;

std::mt19937_64& Rng() {
  static std::mt19937_64 rng = [] {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = uv_hrtime();
    return std::mt19937_64(seed);
  }();
  return rng;
}

// The event's id: a time-ordered UUID like an invocation id, so the queue's primary-key index
// grows at its right edge and a batch of accepted events dirties a few pages, not one random
// page per event (tools/bench/events.py).
std::string NewEventId() { return meter::NewInvocationId(); }

double Jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(Rng()); }

meter::Trigger TriggerOf(const std::string& text) {
  if (text == "cron") return meter::Trigger::kCron;
  if (text == "topic") return meter::Trigger::kTopic;
  return meter::Trigger::kAsync;
}

}  // namespace

EventService::EventService(uv_loop_t* loop, std::shared_ptr<EventQueue> queue,
                           Dispatcher* dispatcher, EventOptions options)
    : loop_(loop),
      queue_(std::move(queue)),
      dispatcher_(dispatcher),
      options_(options),
      timer_(loop) {}

Result<std::unique_ptr<EventService>> EventService::Start(uv_loop_t* loop,
                                                          std::shared_ptr<EventQueue> queue,
                                                          Dispatcher* dispatcher,
                                                          EventOptions options) {
  FLINT_ASSIGN_OR_RETURN(auto queued, queue->LoadQueued());
  FLINT_ASSIGN_OR_RETURN(auto schedules, queue->Schedules(""));
  std::unique_ptr<EventService> service(
      new EventService(loop, std::move(queue), dispatcher, options));
  for (const EventRow& row : queued) service->Enqueue(row);
  for (const ScheduleRow& row : schedules) {
    auto cron = events::CronSchedule::Parse(row.cron);
    if (!cron.ok()) {
      spdlog::error("schedule {} of {}: {}", row.id, row.function, cron.status().message());
      continue;
    }
    service->schedules_.push_back({row, *cron});
  }
  if (!queued.empty() || !schedules.empty()) {
    spdlog::info("events: {} queued event(s) recovered, {} schedule(s)", queued.size(),
                 schedules.size());
  }
  EventService* self = service.get();
  service->async_ = std::make_unique<loop::Async>(loop, [self] { self->OnAsync(); });
  service->writer_ = std::thread([self] { self->WriterMain(); });
  service->timer_.Start(kTickMs, kTickMs, [self] {
    self->Pump();
    uint64_t now = uv_now(self->loop_);
    if (now - self->last_schedule_check_ms_ >= kScheduleCheckMs) {
      self->last_schedule_check_ms_ = now;
      self->CheckSchedules();
    }
  });
  service->timer_.Unref();
  return service;
}

EventService::~EventService() {
  {
    std::lock_guard lock(mu_);
    stop_writer_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  async_.reset();  // after the writer, which may Send until it ends
}

void EventService::Stop() {
  stopped_ = true;
  timer_.Stop();
}

// ---- the writer thread -------------------------------------------------------------------

void EventService::Write(std::function<Status(EventWrites&)> write,
                         std::function<void(Status)> done) {
  bool wake;
  {
    std::lock_guard lock(mu_);
    writes_.push_back({std::move(write), std::move(done)});
    // Only a waiting writer needs a wake-up; a busy one takes everything queued meanwhile as
    // its next batch (group commit without a futex call per event).
    wake = writer_waiting_;
  }
  if (wake) cv_.notify_one();
}

void EventService::WriterMain() {
  std::vector<WriteOp> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      writer_waiting_ = true;
      cv_.wait(lock, [this] { return stop_writer_ || !writes_.empty(); });
      writer_waiting_ = false;
      if (writes_.empty()) return;  // stopping, and everything is written
      batch.swap(writes_);
    }
    // Every write of the batch runs in one transaction; one that fails (e.g. a constraint)
    // fails alone, a failed commit fails them all.
    std::vector<Status> results(batch.size());
    Status committed = queue_->WriteBatch([&](EventWrites& w) {
      for (size_t i = 0; i < batch.size(); ++i) results[i] = batch[i].write(w);
      return Status::Ok();
    });
    if (options_.on_commit) {
      options_.on_commit(committed);
    } else if (!committed.ok()) {
      spdlog::error("events: committing {} write(s) failed: {}", batch.size(), committed.message());
    }
    std::vector<std::function<void()>> tasks;
    tasks.reserve(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].done) continue;
      Status s = committed.ok() ? std::move(results[i]) : committed;
      tasks.push_back([done = std::move(batch[i].done), s = std::move(s)] { done(s); });
    }
    batch.clear();
    {
      std::lock_guard lock(mu_);
      for (auto& t : tasks) loop_tasks_.push_back(std::move(t));
    }
    if (async_ != nullptr) async_->Send();
  }
}

void EventService::OnAsync() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(loop_tasks_);
  }
  for (auto& task : tasks) task();
  Pump();
}

// ---- delivery ------------------------------------------------------------------------------

uint32_t EventService::LimitOf(const std::string& function) const {
  auto fn = dispatcher_->FindLive(function);
  if (!fn) return 1;  // lets the event through, to be dead-lettered
  // Events may fill the function's slots once over and queue as many again in its pool (so a
  // worker never idles between two events), no more: the pool's queue is first come, first
  // served, so a synchronous request waits behind at most one round of events, never behind
  // the whole backlog, and the backlog never fills the pool's queue (no 429 for HTTP callers).
  uint64_t slots = uint64_t{fn->config.max_instances} * fn->config.concurrency;
  // TODO(cleanup): take the pool's queue limit from the Dispatcher instead of assuming 100.
  return static_cast<uint32_t>(std::max<uint64_t>(1, slots + std::min<uint64_t>(slots, 50)));
}

size_t EventService::DepthOf(const std::string& function) const {
  auto it = uncommitted_.find(function);
  return backlog_.depth(function) + (it == uncommitted_.end() ? 0 : it->second);
}

std::map<std::string, EventService::QueueGauge> EventService::QueueGauges() const {
  std::map<std::string, QueueGauge> out;
  for (const auto& [key, p] : pending_) {
    QueueGauge& g = out[p.function];
    if (g.oldest_created_ms == 0 || p.created_ms < g.oldest_created_ms) {
      g.oldest_created_ms = p.created_ms;
    }
  }
  for (const auto& [function, n] : uncommitted_) out[function];
  for (auto& [function, g] : out) g.depth = DepthOf(function);
  return out;
}

void EventService::Enqueue(const EventRow& row) {
  if (by_id_.count(row.id) > 0) return;  // already queued (e.g. a redrive raced a recovery)
  events::EventKey key = next_key_++;
  Pending& p = pending_[key];
  p.id = row.id;
  p.function = row.function;
  p.trigger = TriggerOf(row.trigger);
  p.payload = row.payload;
  p.attempts = row.attempts;
  p.created_ms = row.created_ms;
  by_id_[row.id] = key;
  backlog_.Push(row.function, key, row.due_ms);
}

void EventService::Pump() {
  if (stopped_) return;
  int64_t now = WallClockMs();
  auto due = backlog_.TakeDue(now, [this](const std::string& f) { return LimitOf(f); });
  for (auto& [function, key] : due) {
    auto it = pending_.find(key);
    FLINT_CHECK(it != pending_.end());
    Pending& p = it->second;
    auto fn = dispatcher_->FindLive(function);
    if (!fn) {
      Kill(key, "function '" + function + "' does not exist");
      continue;
    }
    events::RetryPolicy policy = RetryPolicyOf(fn.get());
    if (events::Expired(policy, p.created_ms, now)) {
      Kill(key, "event expired: older than the maximum event age of " +
                    std::to_string(policy.max_event_age_ms / 1000) + " s");
      continue;
    }
    p.running = true;
    Status started =
        dispatcher_->InvokeEvent(fn, p.id, p.payload, p.trigger,
                                 [this, key](Dispatcher::EventResult r) { OnResult(key, r); });
    if (!started.ok()) {
      // The pool's queue is full or flintd is stopping: not an attempt; try again shortly.
      p.running = false;
      backlog_.Done(function);
      backlog_.Push(function, key, now + kRequeueDelayMs);
    }
  }
}

events::RetryPolicy EventService::RetryPolicyOf(const FunctionVersion* fn) const {
  events::RetryPolicy policy = options_.retry;
  if (fn == nullptr) return policy;
  if (fn->config.max_retries >= 0)
    policy.max_retries = static_cast<uint32_t>(fn->config.max_retries);
  if (fn->config.max_event_age_ms > 0) policy.max_event_age_ms = fn->config.max_event_age_ms;
  return policy;
}

void EventService::Kill(events::EventKey key, const std::string& why) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  by_id_.erase(p.id);
  backlog_.Done(p.function);
  stats_.dead++;
  json error = {{"error", {{"code", "event_expired"}, {"message", why}}}};
  spdlog::warn("event {} of {} dead-lettered: {}", p.id, p.function, why);
  Write([id = p.id, attempts = p.attempts, e = error.dump(),
         now = WallClockMs()](EventWrites& w) { return w.MarkDead(id, attempts, e, now); },
        nullptr);
}

void EventService::OnResult(events::EventKey key, Dispatcher::EventResult r) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  p.running = false;
  backlog_.Done(p.function);
  int64_t now = WallClockMs();
  if (!r.ran) {
    backlog_.Push(p.function, key, now + kRequeueDelayMs);
    return;
  }
  p.attempts++;
  if (r.ok) {
    stats_.succeeded++;
    if (r.body.size() > kMaxStoredResult) r.body.resize(kMaxStoredResult);
    Write([id = p.id, attempts = p.attempts, body = std::move(r.body),
           now](EventWrites& w) { return w.MarkSucceeded(id, attempts, body, now); },
          nullptr);
    by_id_.erase(p.id);
    pending_.erase(it);
    return;
  }
  if (r.body.size() > kMaxStoredResult) r.body.resize(kMaxStoredResult);
  auto decision = events::DecideAfterFailure(RetryPolicyOf(dispatcher_->FindLive(p.function).get()),
                                             p.attempts, p.created_ms, now, Jitter());
  if (decision.kind == events::RetryDecision::Kind::kRetry) {
    stats_.retried++;
    backlog_.Push(p.function, key, decision.retry_at_ms);
    Write([id = p.id, attempts = p.attempts, at = decision.retry_at_ms, body = std::move(r.body),
           now](EventWrites& w) { return w.MarkRetry(id, attempts, at, body, now); },
          nullptr);
    return;
  }
  stats_.dead++;
  json error = AsJson(r.body);
  if (error.is_object()) error["dead_letter_reason"] = decision.reason;
  spdlog::info("event {} of {} dead-lettered: {}", p.id, p.function, decision.reason);
  Write([id = p.id, attempts = p.attempts, e = error.dump(),
         now](EventWrites& w) { return w.MarkDead(id, attempts, e, now); },
        nullptr);
  by_id_.erase(p.id);
  pending_.erase(it);
}

void EventService::CheckSchedules() {
  if (stopped_) return;
  int64_t now = WallClockMs();
  for (Schedule& s : schedules_) {
    events::CatchUp c = events::CheckSchedule(s.cron, s.row.next_due_ms, now);
    if (!c.fire) {
      if (c.next_due_ms && *c.next_due_ms != s.row.next_due_ms) {
        // The clock stepped back: moved in memory; the next run's write stores it.
        spdlog::info("schedule {} of {}: the clock stepped back; next run in {} ms", s.row.id,
                     s.row.function, *c.next_due_ms - now);
        s.row.next_due_ms = *c.next_due_ms;
      }
      continue;
    }
    int64_t next = c.next_due_ms.value_or(std::numeric_limits<int64_t>::max());
    int64_t was_due = s.row.next_due_ms;
    s.row.next_due_ms = next;  // at once: the write below is in flight
    EventRow row;
    row.id = NewEventId();
    row.function = s.row.function;
    row.trigger = "cron";
    row.source = s.row.id;
    row.payload = s.row.payload;
    row.created_ms = row.due_ms = row.updated_ms = now;
    // The run and the schedule's next due time commit together: a crash neither loses the
    // run nor runs it twice.
    Write(
        [row, schedule = s.row.id, next](EventWrites& w) {
          FLINT_RETURN_IF_ERROR(w.Insert(row).status());
          return w.SetScheduleDue(schedule, next);
        },
        [this, row, was_due, next](Status s) {
          if (s.ok()) return Enqueue(row);
          // Not written (a full disk, a locked database): the run is still due, and the next
          // check tries again. The health monitor logs the fault once; this is per attempt.
          for (Schedule& again : schedules_) {
            if (again.row.id == row.source && again.row.next_due_ms == next) {
              again.row.next_due_ms = was_due;
            }
          }
          if (options_.on_commit) {
            spdlog::debug("schedule run of {}: {}", row.function, s.message());
          } else {
            spdlog::error("schedule run of {}: {}", row.function, s.message());
          }
        });
  }
  if (now - last_prune_ms_ > 600'000) {
    last_prune_ms_ = now;
    int64_t before = now - static_cast<int64_t>(options_.succeeded_retention_ms);
    Write([before](EventWrites& w) { return w.PruneSucceeded(before).status(); }, nullptr);
  }
}

// ---- accepting -------------------------------------------------------------------------------

void EventService::Accept(const std::string& function, std::string payload,
                          std::string idempotency_key, std::function<void(Result<Accepted>)> done) {
  EventRow row;
  row.id = NewEventId();
  row.function = function;
  row.trigger = "async";
  row.payload = std::move(payload);
  row.idempotency_key = std::move(idempotency_key);
  row.created_ms = row.due_ms = row.updated_ms = WallClockMs();
  uncommitted_[row.function]++;
  auto stored = std::make_shared<std::string>();
  auto shared = std::make_shared<EventRow>(std::move(row));
  Write(
      [shared, stored](EventWrites& w) {
        FLINT_ASSIGN_OR_RETURN(*stored, w.Insert(*shared));
        return Status::Ok();
      },
      [this, shared, stored, done = std::move(done)](Status s) {
        if (auto u = uncommitted_.find(shared->function); u != uncommitted_.end()) {
          if (--u->second == 0) uncommitted_.erase(u);
        }
        if (!s.ok()) return done(s);
        bool duplicate = *stored != shared->id;
        if (!duplicate) {
          stats_.accepted++;
          Enqueue(*shared);
        }
        done(Accepted{*stored, duplicate});
      });
}

void EventService::Publish(const std::string& topic, std::string payload,
                           std::function<void(Result<std::vector<EventRow>>)> done) {
  auto rows = std::make_shared<std::vector<EventRow>>();
  int64_t now = WallClockMs();
  // Subscribers whose queue is full: the publish is refused as a whole (429, nothing stored)
  // rather than delivered to some subscribers only; the publisher retries it later.
  std::set<std::string> full;
  for (std::string& f : backlog_.FunctionsWithDepthAtLeast(1)) {
    if (DepthOf(f) >= options_.max_queue_depth) full.insert(std::move(f));
  }
  for (const auto& [f, n] : uncommitted_) {
    if (DepthOf(f) >= options_.max_queue_depth) full.insert(f);
  }
  // The subscribers are read and every event inserted in one transaction: the fan-out is
  // committed atomically with the publish.
  Write(
      [topic, rows, now, full = std::move(full), max_depth = options_.max_queue_depth,
       payload = std::move(payload)](EventWrites& w) {
        FLINT_ASSIGN_OR_RETURN(auto subs, w.Subscribers(topic));
        for (const std::string& function : subs) {
          if (full.count(function) > 0) {
            return Status(Code::kTooManyRequests,
                          "topic '" + topic + "': subscriber '" + function + "' has " +
                              std::to_string(max_depth) +
                              " events queued, its limit; nothing was published");
          }
        }
        for (const std::string& function : subs) {
          EventRow row;
          row.id = NewEventId();
          row.function = function;
          row.trigger = "topic";
          row.source = topic;
          row.payload = payload;
          row.created_ms = row.due_ms = row.updated_ms = now;
          FLINT_RETURN_IF_ERROR(w.Insert(row).status());
          rows->push_back(std::move(row));
        }
        return Status::Ok();
      },
      [this, rows, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        for (const EventRow& row : *rows) {
          Enqueue(row);
          stats_.accepted++;
        }
        done(std::move(*rows));
      });
}

void EventService::Redrive(const std::string& function, std::function<void(Result<size_t>)> done) {
  auto rows = std::make_shared<std::vector<EventRow>>();
  Write(
      [function, rows](EventWrites& w) {
        FLINT_ASSIGN_OR_RETURN(*rows, w.Redrive(function, WallClockMs()));
        return Status::Ok();
      },
      [this, rows, function, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        for (const EventRow& row : *rows) Enqueue(row);
        spdlog::info("redrove {} dead letter(s) of {}", rows->size(), function);
        done(rows->size());
      });
}

// ---- schedules -------------------------------------------------------------------------------

std::vector<ScheduleRow> EventService::Schedules(const std::string& function) const {
  std::vector<ScheduleRow> out;
  for (const Schedule& s : schedules_) {
    if (function.empty() || s.row.function == function) out.push_back(s.row);
  }
  return out;
}

void EventService::AddSchedule(const std::string& function, events::CronSchedule cron,
                               std::string payload, std::function<void(Result<ScheduleRow>)> done) {
  int64_t now = WallClockMs();
  ScheduleRow row;
  row.id = "sch-" + NewEventId();  // the whole id: its first characters change once a minute
  row.function = function;
  row.cron = cron.text();
  row.payload = std::move(payload);
  row.next_due_ms = cron.NextAfter(now).value_or(std::numeric_limits<int64_t>::max());
  row.created_ms = now;
  Write([row](EventWrites& w) { return w.PutSchedule(row); },
        [this, row, cron = std::move(cron), done = std::move(done)](Status s) {
          if (!s.ok()) return done(s);
          schedules_.push_back({row, cron});
          spdlog::info("schedule {}: {} at '{}' (UTC)", row.id, row.function, row.cron);
          done(row);
        });
}

void EventService::RemoveSchedule(const std::string& id, std::function<void(Result<bool>)> done) {
  auto found = std::make_shared<bool>(false);
  Write(
      [id, found](EventWrites& w) {
        FLINT_ASSIGN_OR_RETURN(*found, w.DeleteSchedule(id));
        return Status::Ok();
      },
      [this, id, found, done = std::move(done)](Status s) {
        if (!s.ok()) return done(s);
        if (*found) std::erase_if(schedules_, [&](const Schedule& x) { return x.row.id == id; });
        done(*found);
      });
}

bool EventService::running(const std::string& id) const {
  auto k = by_id_.find(id);
  if (k == by_id_.end()) return false;
  auto p = pending_.find(k->second);
  return p != pending_.end() && p->second.running;
}

}  // namespace flint::scheduler
