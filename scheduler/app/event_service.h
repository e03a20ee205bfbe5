// EventService: the delivery engine of flintd's event triggers (docs/triggers.md): the durable
// queue with retries and dead letters, cron schedules and topics. Its HTTP API is EventApi's
// (event_api.h); this class accepts, stores and delivers.
//
// Accepting: an event is answered only after its row is committed. Writes go to a writer
// thread that commits everything waiting in one SQLite transaction (group commit), then their
// callbacks run on the loop; the loop never touches SQLite. Delivery: committed events wait in
// an EventBacklog (scheduler/events) and start through the Dispatcher's pools, at most twice a
// function's slots at once (running plus queued in its pool), so a synchronous request waits
// behind at most one round of events, never behind the backlog; each attempt's result is
// written back through the same writer. A failed attempt is retried per RetryPolicy, then
// dead-lettered. A running attempt is not recorded: after a crash every queued event runs again
// (at-least-once). Schedules are checked every second (UTC); a run missed while flintd was down
// fires once at start.
//
// Threads: every public method on the loop thread, and every callback runs there. The writer
// thread only runs EventQueue batches. The Dispatcher must outlive this service; the destructor
// commits writes already queued and joins the writer.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "scheduler/app/dispatcher.h"
#include "scheduler/events/backlog.h"
#include "scheduler/events/cron.h"
#include "scheduler/events/retry_policy.h"
#include "scheduler/store/event_queue.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct EventOptions {
  size_t max_payload_bytes = 256 * 1024;  // larger events answer 413
  size_t max_queue_depth = 100'000;       // queued + running events per function; beyond: 429
  events::RetryPolicy retry;
  uint64_t succeeded_retention_ms = 24 * 3600'000ull;  // succeeded events are pruned after this
  // Called on the writer thread with each batch's commit status (null: failures are logged
  // per batch instead). flintd's HealthMonitor turns these into one log line per change.
  std::function<void(const Status&)> on_commit;
};

struct EventStats {
  uint64_t accepted = 0;
  uint64_t succeeded = 0;
  uint64_t retried = 0;
  uint64_t dead = 0;
};

class EventService {
 public:
  // Loads the queued events and the schedules, and starts the writer thread and the timer.
  static Result<std::unique_ptr<EventService>> Start(uv_loop_t* loop,
                                                     std::shared_ptr<EventQueue> queue,
                                                     Dispatcher* dispatcher, EventOptions options);
  ~EventService();
  EventService(const EventService&) = delete;
  EventService& operator=(const EventService&) = delete;

  // Queues a durable write for the writer thread: `write` runs there inside a batch's
  // transaction; `done` (may be null) runs on the loop once the batch is committed, with the
  // write's own status (or the commit's failure).
  void Write(std::function<Status(EventWrites&)> write, std::function<void(Status)> done);

  // An async invocation of `function` with `payload` (JSON): stored as a new event (trigger
  // "async") and queued once committed. `idempotency_key` (may be empty): a key an earlier event
  // of the function was stored with makes this one its duplicate, and nothing new is queued.
  struct Accepted {
    std::string id;  // the new event's, or the earlier one's for a duplicate
    bool duplicate = false;
  };
  void Accept(const std::string& function, std::string payload, std::string idempotency_key,
              std::function<void(Result<Accepted>)> done);
  // A topic message: one event per subscriber of `topic`, inserted in one transaction with the
  // read of the subscribers, and queued once committed; `done` gets them. Refused whole
  // (TooManyRequests, nothing stored) when a subscriber's queue is at its depth limit.
  void Publish(const std::string& topic, std::string payload,
               std::function<void(Result<std::vector<EventRow>>)> done);
  // Queues `function`'s dead letters again; `done` gets how many.
  void Redrive(const std::string& function, std::function<void(Result<size_t>)> done);

  // Cron schedules, in the order they were added; `function` "" for all.
  std::vector<ScheduleRow> Schedules(const std::string& function) const;
  // Stores a schedule of `function` at `cron` (UTC) with `payload` (JSON) and runs it from now
  // on; `done` gets it as stored (its id and next due time).
  void AddSchedule(const std::string& function, events::CronSchedule cron, std::string payload,
                   std::function<void(Result<ScheduleRow>)> done);
  // Deletes schedule `id`; `done` gets whether it existed.
  void RemoveSchedule(const std::string& id, std::function<void(Result<bool>)> done);

  // True while event `id` is running.
  bool running(const std::string& id) const;
  // Events of `function` queued, running, or accepted and not yet committed.
  size_t DepthOf(const std::string& function) const;

  // Per function with events queued, running or not yet committed: how many, and when the
  // oldest queued or running one was created (wall ms; 0 when all are uncommitted). For
  // /metrics: walks every queued event, so it is for a scrape, not for a request.
  struct QueueGauge {
    size_t depth = 0;
    int64_t oldest_created_ms = 0;
  };
  std::map<std::string, QueueGauge> QueueGauges() const;

  // Stops starting events (flintd is shutting down); running ones still record their results.
  void Stop();
  bool stopped() const { return stopped_; }
  const EventOptions& options() const { return options_; }
  EventStats stats() const { return stats_; }

 private:
  struct Pending {
    std::string id;
    std::string function;
    meter::Trigger trigger = meter::Trigger::kAsync;
    std::string payload;
    uint32_t attempts = 0;
    int64_t created_ms = 0;
    bool running = false;
  };
  struct Schedule {
    ScheduleRow row;
    events::CronSchedule cron;
  };
  struct WriteOp {
    std::function<Status(EventWrites&)> write;
    std::function<void(Status)> done;  // loop thread, after the commit
  };

  EventService(uv_loop_t* loop, std::shared_ptr<EventQueue> queue, Dispatcher* dispatcher,
               EventOptions options);
  void WriterMain();
  void OnAsync();
  // Queues a committed event for delivery.
  void Enqueue(const EventRow& row);
  // Starts every due event that its function has room for.
  void Pump();
  void OnResult(events::EventKey key, Dispatcher::EventResult result);
  void Kill(events::EventKey key, const std::string& why);
  // The node's retry policy with `fn`'s own max_retries / max_event_age_ms where it sets them
  // (fn may be null: a deleted function keeps the node's policy).
  events::RetryPolicy RetryPolicyOf(const FunctionVersion* fn) const;
  void CheckSchedules();
  uint32_t LimitOf(const std::string& function) const;

  uv_loop_t* loop_;
  std::shared_ptr<EventQueue> queue_;
  Dispatcher* dispatcher_;
  EventOptions options_;
  loop::Timer timer_;
  std::unique_ptr<loop::Async> async_;  // the writer wakes the loop (OnAsync)
  bool stopped_ = false;
  EventStats stats_;

  // Loop thread only.
  events::EventBacklog backlog_;
  // TODO(perf): payloads of queued events stay in memory (up to depth x payload limit); load
  // them from SQLite at dispatch time for deep backlogs of large events.
  std::unordered_map<events::EventKey, Pending> pending_;
  std::unordered_map<std::string, events::EventKey> by_id_;
  std::unordered_map<std::string, size_t> uncommitted_;  // accepted, not yet committed
  std::vector<Schedule> schedules_;
  events::EventKey next_key_ = 1;
  uint64_t last_schedule_check_ms_ = 0;
  int64_t last_prune_ms_ = 0;

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stop_writer_ = false;
  bool writer_waiting_ = false;
  std::vector<WriteOp> writes_;                    // for the writer thread
  std::vector<std::function<void()>> loop_tasks_;  // for the loop thread
  std::thread writer_;
};

}  // namespace flint::scheduler
