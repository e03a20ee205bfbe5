#include "scheduler/store/event_queue.h"

#include <mutex>

#include "scheduler/store/sqlite.h"

namespace flint::scheduler {
namespace {

using detail::Connection;
using detail::Statement;
using detail::Transaction;

constexpr const char* kEventColumns =
    "id, function, trigger, source, payload, idempotency_key, state, attempts, created_ms, "
    "due_ms, updated_ms, last_error, result";

EventRow ReadEvent(const Statement& s) {
  EventRow r;
  r.id = s.Text(0);
  r.function = s.Text(1);
  r.trigger = s.Text(2);
  r.source = s.Text(3);
  r.payload = s.Text(4);
  if (!s.IsNull(5)) r.idempotency_key = s.Text(5);
  r.state = s.Text(6);
  r.attempts = static_cast<uint32_t>(s.Int(7));
  r.created_ms = s.Int(8);
  r.due_ms = s.Int(9);
  r.updated_ms = s.Int(10);
  if (!s.IsNull(11)) r.last_error = s.Text(11);
  if (!s.IsNull(12)) r.result = s.Text(12);
  return r;
}

Result<std::vector<EventRow>> ReadEvents(Statement& stmt) {
  std::vector<EventRow> out;
  while (true) {
    FLINT_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (!row) break;
    out.push_back(ReadEvent(stmt));
  }
  return out;
}

Connection& Db(void* p) { return *static_cast<Connection*>(p); }

}  // namespace

struct EventQueue::Impl {
  std::mutex write_mu;
  std::unique_ptr<Connection> write;
  std::mutex read_mu;
  std::unique_ptr<Connection> read;
};

EventQueue::EventQueue(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventQueue::~EventQueue() = default;

Result<std::unique_ptr<EventQueue>> EventQueue::Open(const std::string& db_path) {
  auto impl = std::make_unique<Impl>();
  FLINT_ASSIGN_OR_RETURN(auto write, Connection::Open(db_path));
  impl->write = std::move(write);
  // The queue's hot pages (the index's right edge, recently accepted rows being marked done)
  // stay in memory between batches instead of being read back from the file.
  FLINT_RETURN_IF_ERROR(impl->write->Exec("PRAGMA cache_size=-16384", "open event queue"));
  FLINT_ASSIGN_OR_RETURN(auto read, Connection::Open(db_path));
  impl->read = std::move(read);
  FLINT_ASSIGN_OR_RETURN(auto probe,
                         impl->read->Prepare("SELECT COUNT(*) FROM schedules", "open event queue"));
  return std::unique_ptr<EventQueue>(new EventQueue(std::move(impl)));
}

Status EventQueue::WriteBatch(const std::function<Status(EventWrites&)>& body) {
  std::lock_guard lock(impl_->write_mu);
  Transaction tx(*impl_->write);
  FLINT_RETURN_IF_ERROR(tx.Begin("write events"));
  EventWrites writes(impl_->write.get());
  FLINT_RETURN_IF_ERROR(body(writes));
  return tx.Commit();
}

Result<std::string> EventWrites::Insert(const EventRow& r) {
  Connection& db = Db(db_);
  if (!r.idempotency_key.empty()) {
    FLINT_ASSIGN_OR_RETURN(
        auto find, db.Prepare("SELECT id FROM events WHERE function = ?1 AND idempotency_key = ?2",
                              "find idempotency key"));
    find.Bind(1, r.function).Bind(2, r.idempotency_key);
    FLINT_ASSIGN_OR_RETURN(auto row, find.Step());
    if (row) return find.Text(0);
  }
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare(
          "INSERT INTO events (id, function, trigger, source, payload, idempotency_key, state, "
          "attempts, created_ms, due_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, "
          "?8, ?9, ?8)",
          "insert event"));
  stmt.Bind(1, r.id).Bind(2, r.function).Bind(3, r.trigger).Bind(4, r.source).Bind(5, r.payload);
  if (r.idempotency_key.empty()) {
    stmt.BindNull(6);
  } else {
    stmt.Bind(6, r.idempotency_key);
  }
  stmt.Bind(7, int64_t{r.attempts}).Bind(8, r.created_ms).Bind(9, r.due_ms);
  FLINT_RETURN_IF_ERROR(stmt.Run());
  return r.id;
}

Status EventWrites::MarkSucceeded(const std::string& id, uint32_t attempts,
                                  const std::string& result, int64_t now_ms) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare(
          "UPDATE events SET state = 'succeeded', attempts = ?2, result = ?3, last_error = NULL, "
          "updated_ms = ?4 WHERE id = ?1",
          "mark event succeeded"));
  stmt.Bind(1, id).Bind(2, int64_t{attempts}).Bind(3, result).Bind(4, now_ms);
  return stmt.Run();
}

Status EventWrites::MarkRetry(const std::string& id, uint32_t attempts, int64_t due_ms,
                              const std::string& error, int64_t now_ms) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare(
          "UPDATE events SET attempts = ?2, due_ms = ?3, last_error = ?4, updated_ms = ?5 "
          "WHERE id = ?1",
          "mark event for retry"));
  stmt.Bind(1, id).Bind(2, int64_t{attempts}).Bind(3, due_ms).Bind(4, error).Bind(5, now_ms);
  return stmt.Run();
}

Status EventWrites::MarkDead(const std::string& id, uint32_t attempts, const std::string& error,
                             int64_t now_ms) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare(
          "UPDATE events SET state = 'dead', attempts = ?2, last_error = ?3, updated_ms = ?4 "
          "WHERE id = ?1",
          "dead-letter event"));
  stmt.Bind(1, id).Bind(2, int64_t{attempts}).Bind(3, error).Bind(4, now_ms);
  return stmt.Run();
}

Result<std::vector<EventRow>> EventWrites::Redrive(const std::string& function, int64_t now_ms) {
  Connection& db = Db(db_);
  std::vector<EventRow> rows;
  {
    FLINT_ASSIGN_OR_RETURN(auto select,
                           db.Prepare(std::string("SELECT ") + kEventColumns +
                                          " FROM events WHERE state = 'dead' AND function = ?1",
                                      "list dead letters to redrive"));
    select.Bind(1, function);
    FLINT_ASSIGN_OR_RETURN(rows, ReadEvents(select));
  }
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      db.Prepare("UPDATE events SET state = 'queued', attempts = 0, created_ms = ?2, due_ms = ?2, "
                 "updated_ms = ?2 WHERE state = 'dead' AND function = ?1",
                 "redrive dead letters"));
  stmt.Bind(1, function).Bind(2, now_ms);
  FLINT_RETURN_IF_ERROR(stmt.Run());
  for (EventRow& r : rows) {
    r.state = "queued";
    r.attempts = 0;
    r.created_ms = r.due_ms = r.updated_ms = now_ms;
  }
  return rows;
}

Status EventWrites::PutSchedule(const ScheduleRow& r) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare(
          "INSERT INTO schedules (id, function, cron, payload, next_due_ms, created_ms) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          "put schedule"));
  stmt.Bind(1, r.id).Bind(2, r.function).Bind(3, r.cron).Bind(4, r.payload);
  stmt.Bind(5, r.next_due_ms).Bind(6, r.created_ms);
  return stmt.Run();
}

Result<bool> EventWrites::DeleteSchedule(const std::string& id) {
  FLINT_ASSIGN_OR_RETURN(auto stmt,
                         Db(db_).Prepare("DELETE FROM schedules WHERE id = ?1", "delete schedule"));
  stmt.Bind(1, id);
  FLINT_RETURN_IF_ERROR(stmt.Run());
  return Db(db_).changes() > 0;
}

Status EventWrites::SetScheduleDue(const std::string& id, int64_t next_due_ms) {
  FLINT_ASSIGN_OR_RETURN(auto stmt,
                         Db(db_).Prepare("UPDATE schedules SET next_due_ms = ?2 WHERE id = ?1",
                                         "set schedule due time"));
  stmt.Bind(1, id).Bind(2, next_due_ms);
  return stmt.Run();
}

Status EventWrites::Subscribe(const std::string& topic, const std::string& function,
                              int64_t now_ms) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare(
          "INSERT OR IGNORE INTO subscriptions (topic, function, created_ms) VALUES (?1, ?2, ?3)",
          "subscribe"));
  stmt.Bind(1, topic).Bind(2, function).Bind(3, now_ms);
  return stmt.Run();
}

Result<bool> EventWrites::Unsubscribe(const std::string& topic, const std::string& function) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt, Db(db_).Prepare("DELETE FROM subscriptions WHERE topic = ?1 AND function = ?2",
                                 "unsubscribe"));
  stmt.Bind(1, topic).Bind(2, function);
  FLINT_RETURN_IF_ERROR(stmt.Run());
  return Db(db_).changes() > 0;
}

Result<std::vector<std::string>> EventWrites::Subscribers(const std::string& topic) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      Db(db_).Prepare("SELECT function FROM subscriptions WHERE topic = ?1 ORDER BY function",
                      "list subscribers"));
  stmt.Bind(1, topic);
  std::vector<std::string> out;
  while (true) {
    FLINT_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (!row) break;
    out.push_back(stmt.Text(0));
  }
  return out;
}

Result<uint64_t> EventWrites::PruneSucceeded(int64_t before_ms) {
  FLINT_ASSIGN_OR_RETURN(
      auto stmt, Db(db_).Prepare("DELETE FROM events WHERE state = 'succeeded' AND updated_ms < ?1",
                                 "prune events"));
  stmt.Bind(1, before_ms);
  FLINT_RETURN_IF_ERROR(stmt.Run());
  return static_cast<uint64_t>(Db(db_).changes());
}

Result<std::vector<EventRow>> EventQueue::LoadQueued() {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(
      auto stmt, impl_->read->Prepare(std::string("SELECT ") + kEventColumns +
                                          " FROM events WHERE state = 'queued' ORDER BY due_ms",
                                      "load queued events"));
  return ReadEvents(stmt);
}

Result<std::optional<EventRow>> EventQueue::Get(const std::string& id) {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(auto stmt, impl_->read->Prepare(std::string("SELECT ") + kEventColumns +
                                                             " FROM events WHERE id = ?1",
                                                         "get event"));
  stmt.Bind(1, id);
  FLINT_ASSIGN_OR_RETURN(auto rows, ReadEvents(stmt));
  if (rows.empty()) return std::optional<EventRow>();
  return std::optional<EventRow>(std::move(rows.front()));
}

Result<std::vector<EventRow>> EventQueue::DeadLetters(const std::string& function, uint32_t limit) {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(auto stmt,
                         impl_->read->Prepare(std::string("SELECT ") + kEventColumns +
                                                  " FROM events WHERE state = 'dead' AND function "
                                                  "= ?1 ORDER BY updated_ms DESC LIMIT ?2",
                                              "list dead letters"));
  stmt.Bind(1, function).Bind(2, int64_t{limit});
  return ReadEvents(stmt);
}

Result<std::vector<ScheduleRow>> EventQueue::Schedules(const std::string& function) {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(
      auto stmt, impl_->read->Prepare(
                     "SELECT id, function, cron, payload, next_due_ms, created_ms FROM schedules "
                     "WHERE ?1 = '' OR function = ?1 ORDER BY function, id",
                     "list schedules"));
  stmt.Bind(1, function);
  std::vector<ScheduleRow> out;
  while (true) {
    FLINT_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (!row) break;
    out.push_back(
        {stmt.Text(0), stmt.Text(1), stmt.Text(2), stmt.Text(3), stmt.Int(4), stmt.Int(5)});
  }
  return out;
}

Result<std::vector<SubscriptionRow>> EventQueue::Subscriptions(const std::string& topic) {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      impl_->read->Prepare(
          "SELECT topic, function, created_ms FROM subscriptions WHERE ?1 = '' OR topic = ?1 "
          "ORDER BY topic, function",
          "list subscriptions"));
  stmt.Bind(1, topic);
  std::vector<SubscriptionRow> out;
  while (true) {
    FLINT_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (!row) break;
    out.push_back({stmt.Text(0), stmt.Text(1), stmt.Int(2)});
  }
  return out;
}

Result<std::vector<std::pair<std::string, uint64_t>>> EventQueue::Counts(
    const std::string& function) {
  std::lock_guard lock(impl_->read_mu);
  FLINT_ASSIGN_OR_RETURN(
      auto stmt,
      impl_->read->Prepare(
          "SELECT state, COUNT(*) FROM events WHERE ?1 = '' OR function = ?1 GROUP BY state",
          "count events"));
  stmt.Bind(1, function);
  std::vector<std::pair<std::string, uint64_t>> out;
  while (true) {
    FLINT_ASSIGN_OR_RETURN(auto row, stmt.Step());
    if (!row) break;
    out.emplace_back(stmt.Text(0), static_cast<uint64_t>(stmt.Int(1)));
  }
  return out;
}

}  // namespace flint::scheduler
