// EventQueue: the durable async-event queue, dead-letter list, schedules and topic
// subscriptions, in the store's SQLite database (tables from migration 4, see migrations.cc;
// the model is docs/triggers.md).
//
// Writes happen in batches: WriteBatch runs a caller's body with an EventWrites inside one
// BEGIN IMMEDIATE ... COMMIT, so flintd's event writer thread commits many accepted events
// with one fsync-free WAL commit (group commit) and a topic's fan-out is atomic with its
// publish. Reads use a second connection (WAL readers never wait for the writer).
//
// Thread-safe: the write and read connections each sit behind a mutex. Every call does disk
// I/O: never call it on the event loop. Open only after Store::Open applied the migrations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sdk/core/status.h"

namespace flint::scheduler {

struct EventRow {
  std::string id;
  std::string function;
  std::string trigger;           // async, cron, topic
  std::string source;            // the schedule id or topic name ("" for async)
  std::string payload;           // the event's JSON
  std::string idempotency_key;   // "" when none
  std::string state = "queued";  // queued, succeeded, dead
  uint32_t attempts = 0;
  int64_t created_ms = 0;
  int64_t due_ms = 0;
  int64_t updated_ms = 0;
  std::string last_error;
  std::string result;
};

struct ScheduleRow {
  std::string id;
  std::string function;
  std::string cron;
  std::string payload;
  int64_t next_due_ms = 0;
  int64_t created_ms = 0;
};

struct SubscriptionRow {
  std::string topic;
  std::string function;
  int64_t created_ms = 0;
};

// The writes of one batch. Only WriteBatch creates one; valid during its body only.
class EventWrites {
 public:
  // Inserts a queued event. With an idempotency key already used for the function, nothing is
  // inserted and the earlier event's id is returned (compare with row.id).
  Result<std::string> Insert(const EventRow& row);
  Status MarkSucceeded(const std::string& id, uint32_t attempts, const std::string& result,
                       int64_t now_ms);
  Status MarkRetry(const std::string& id, uint32_t attempts, int64_t due_ms,
                   const std::string& error, int64_t now_ms);
  Status MarkDead(const std::string& id, uint32_t attempts, const std::string& error,
                  int64_t now_ms);
  // Moves every dead event of `function` back to the queue (attempts 0, age restarting now);
  // returns the re-queued rows.
  Result<std::vector<EventRow>> Redrive(const std::string& function, int64_t now_ms);
  // Inserts a schedule. AlreadyExists when its id is taken: a schedule is never replaced.
  Status PutSchedule(const ScheduleRow& row);
  // False when no such schedule.
  Result<bool> DeleteSchedule(const std::string& id);
  Status SetScheduleDue(const std::string& id, int64_t next_due_ms);
  Status Subscribe(const std::string& topic, const std::string& function, int64_t now_ms);
  // False when there was no such subscription.
  Result<bool> Unsubscribe(const std::string& topic, const std::string& function);
  // The functions subscribed to `topic`, by name (read inside the batch: a publish fans out to
  // exactly the subscriptions committed before it).
  Result<std::vector<std::string>> Subscribers(const std::string& topic);
  // Deletes succeeded events last updated before `before_ms`; returns how many.
  Result<uint64_t> PruneSucceeded(int64_t before_ms);

 private:
  friend class EventQueue;
  explicit EventWrites(void* db) : db_(db) {}
  void* db_;  // detail::Connection, hidden so this header stays free of SQLite
};

class EventQueue {
 public:
  static Result<std::unique_ptr<EventQueue>> Open(const std::string& db_path);
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Runs `body` in one transaction: committed if `body` returns Ok, rolled back otherwise.
  Status WriteBatch(const std::function<Status(EventWrites&)>& body);

  // Every queued event, oldest due first (flintd's start-up recovery).
  Result<std::vector<EventRow>> LoadQueued();
  Result<std::optional<EventRow>> Get(const std::string& id);
  // Dead events of `function`, newest first, at most `limit`.
  Result<std::vector<EventRow>> DeadLetters(const std::string& function, uint32_t limit);
  // Every schedule ("" function) or one function's, by function then id.
  Result<std::vector<ScheduleRow>> Schedules(const std::string& function);
  Result<std::vector<SubscriptionRow>> Subscriptions(const std::string& topic);
  // Events by state for a function ("" for all): {"queued": n, "succeeded": n, "dead": n}.
  Result<std::vector<std::pair<std::string, uint64_t>>> Counts(const std::string& function);

 private:
  struct Impl;
  explicit EventQueue(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::scheduler
