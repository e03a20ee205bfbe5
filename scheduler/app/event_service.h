// EventService: flintd's event triggers (docs/triggers.md) — async invocations, the durable
// queue with retries and dead letters, cron schedules and topics.
//
// Accepting: an event is answered 202 only after its row is committed. Submissions go to a
// writer thread that commits everything waiting in one SQLite transaction (group commit), then
// the answers go out on the loop; the loop never touches SQLite. Delivery: committed events
// wait in an EventBacklog (scheduler/events) and start through the Dispatcher's pools, at most
// twice a function's slots at once (running plus queued in its pool), so a synchronous request
// waits behind at most one round of events, never behind the backlog;
// each attempt's result is written back through the same writer. A failed attempt is retried
// per RetryPolicy, then dead-lettered. A running attempt is not recorded: after a crash every
// queued event runs again (at-least-once). Schedules are checked every second (UTC); a run
// missed while flintd was down fires once at start.
//
// Threads: every public method on the loop thread. The writer thread only runs EventQueue
// batches. The Dispatcher must outlive this service; the destructor commits writes already
// queued and joins the writer.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
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
#include "scheduler/server/http_server.h"
#include "scheduler/store/event_queue.h"
#include "sdk/loop/uv_handles.h"

namespace flint::scheduler {

struct EventOptions {
  size_t max_payload_bytes = 256 * 1024;  // larger events answer 413
  size_t max_queue_depth = 100'000;       // queued + running events per function; beyond: 429
  events::RetryPolicy retry;
  uint64_t succeeded_retention_ms = 24 * 3600'000ull;  // succeeded events are pruned after this
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

  // POST /fn/NAME with "X-Flint-Invocation-Type: Event": 202 {"invocation_id": ID} once stored.
  void Submit(const std::shared_ptr<const FunctionVersion>& fn, HttpRequest&& request,
              HttpResponder responder);
  // The management routes of events: /v1/invocations/ID, /v1/dlq/NAME[/redrive],
  // /v1/schedules[/ID], /v1/subscriptions[/TOPIC/NAME], /v1/topics/TOPIC. False (and nothing
  // sent) when `request` is not for one of them.
  bool HandleManagement(HttpRequest& request, HttpResponder& responder);
  // Stops starting events (flintd is shutting down); running ones still record their results.
  void Stop();
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
  // Queues a write for the writer thread; `done` runs on the loop once it is committed.
  void Write(std::function<Status(EventWrites&)> write, std::function<void(Status)> done);
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
  size_t DepthOf(const std::string& function) const;

  void GetInvocation(const std::string& id, HttpResponder responder);
  void DeadLetters(const std::string& function, const HttpRequest& request,
                   HttpResponder responder);
  void Redrive(const std::string& function, HttpResponder responder);
  void Schedules(HttpRequest& request, HttpResponder responder);
  void DeleteSchedule(const std::string& id, HttpResponder responder);
  void Subscriptions(HttpRequest& request, HttpResponder responder);
  void Unsubscribe(const std::string& topic, const std::string& function, HttpResponder responder);
  void Publish(const std::string& topic, HttpRequest& request, HttpResponder responder);

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
