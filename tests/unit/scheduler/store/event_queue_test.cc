// EventQueue: the durable queue's rows, idempotency keys, dead letters and redrive, schedules
// and subscriptions, in a real SQLite database in a temporary directory.
#include "scheduler/store/event_queue.h"

#include <catch2/catch.hpp>

#include "scheduler/store/store.h"
#include "tests/unit/scheduler/store/temp_dir.h"

using flint::Status;
using flint::scheduler::EventQueue;
using flint::scheduler::EventRow;
using flint::scheduler::EventWrites;
using flint::scheduler::Store;

namespace {

struct Fixture {
  flint::scheduler::testing::TempDir dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<EventQueue> queue;
  Fixture() {
    auto s = Store::Open(dir.path());
    REQUIRE(s.ok());
    store = std::move(s).value();
    auto q = EventQueue::Open(store->path());
    REQUIRE(q.ok());
    queue = std::move(q).value();
  }
};

EventRow Row(const std::string& id, const std::string& fn, const std::string& key = "") {
  EventRow r;
  r.id = id;
  r.function = fn;
  r.trigger = "async";
  r.payload = R"({"n":1})";
  r.idempotency_key = key;
  r.created_ms = r.due_ms = r.updated_ms = 1000;
  return r;
}

}  // namespace

TEST_CASE("EventQueue stores a batch of events in one transaction", "[events][queue]") {
  Fixture f;
  REQUIRE(f.queue
              ->WriteBatch([](EventWrites& w) {
                for (int i = 0; i < 100; ++i) {
                  auto id = w.Insert(Row("e" + std::to_string(i), "fn"));
                  if (!id.ok()) return id.status();
                }
                return Status::Ok();
              })
              .ok());
  auto queued = f.queue->LoadQueued();
  REQUIRE(queued.ok());
  CHECK(queued->size() == 100);
  // A failing body rolls everything back.
  Status failed = f.queue->WriteBatch([](EventWrites& w) {
    (void)w.Insert(Row("x1", "fn"));
    return flint::Internal("stop");
  });
  CHECK_FALSE(failed.ok());
  CHECK_FALSE(f.queue->Get("x1")->has_value());
}

TEST_CASE("EventQueue deduplicates by idempotency key per function", "[events][queue]") {
  Fixture f;
  std::string first, second, other;
  REQUIRE(f.queue
              ->WriteBatch([&](EventWrites& w) {
                first = *w.Insert(Row("a", "fn", "k1"));
                second = *w.Insert(Row("b", "fn", "k1"));
                other = *w.Insert(Row("c", "other", "k1"));
                return Status::Ok();
              })
              .ok());
  CHECK(first == "a");
  CHECK(second == "a");
  CHECK(other == "c");
  CHECK(f.queue->LoadQueued()->size() == 2);
}

TEST_CASE("EventQueue moves failed events to the dead-letter list and redrives them",
          "[events][queue]") {
  Fixture f;
  REQUIRE(f.queue
              ->WriteBatch([](EventWrites& w) {
                (void)w.Insert(Row("ok", "fn"));
                (void)w.Insert(Row("bad", "fn"));
                (void)w.Insert(Row("retry", "fn"));
                FLINT_RETURN_IF_ERROR(w.MarkSucceeded("ok", 1, "\"done\"", 2000));
                FLINT_RETURN_IF_ERROR(w.MarkRetry("retry", 1, 5000, "{\"e\":1}", 2000));
                return w.MarkDead("bad", 3, "{\"error\":\"boom\"}", 3000);
              })
              .ok());
  auto ok = f.queue->Get("ok");
  REQUIRE(ok->has_value());
  CHECK((*ok)->state == "succeeded");
  CHECK((*ok)->result == "\"done\"");
  auto retry = f.queue->Get("retry");
  CHECK((*retry)->state == "queued");
  CHECK((*retry)->attempts == 1);
  CHECK((*retry)->due_ms == 5000);
  auto dead = f.queue->DeadLetters("fn", 10);
  REQUIRE(dead.ok());
  REQUIRE(dead->size() == 1);
  CHECK((*dead)[0].id == "bad");
  CHECK((*dead)[0].attempts == 3);
  CHECK((*dead)[0].last_error == "{\"error\":\"boom\"}");
  CHECK(f.queue->LoadQueued()->size() == 1);

  std::vector<EventRow> redriven;
  REQUIRE(f.queue
              ->WriteBatch([&](EventWrites& w) {
                auto r = w.Redrive("fn", 9000);
                if (!r.ok()) return r.status();
                redriven = *r;
                return Status::Ok();
              })
              .ok());
  REQUIRE(redriven.size() == 1);
  CHECK(redriven[0].id == "bad");
  CHECK(redriven[0].attempts == 0);
  CHECK(redriven[0].created_ms == 9000);
  CHECK(f.queue->DeadLetters("fn", 10)->empty());
  CHECK(f.queue->LoadQueued()->size() == 2);
}

TEST_CASE("EventQueue keeps schedules and topic subscriptions", "[events][queue]") {
  Fixture f;
  REQUIRE(f.queue
              ->WriteBatch([](EventWrites& w) {
                FLINT_RETURN_IF_ERROR(w.PutSchedule({"s1", "fn", "*/5 * * * *", "{}", 5000, 1000}));
                FLINT_RETURN_IF_ERROR(w.SetScheduleDue("s1", 7000));
                FLINT_RETURN_IF_ERROR(w.Subscribe("orders", "a", 1));
                FLINT_RETURN_IF_ERROR(w.Subscribe("orders", "b", 1));
                return w.Subscribe("orders", "a", 2);  // idempotent
              })
              .ok());
  auto schedules = f.queue->Schedules("");
  REQUIRE(schedules->size() == 1);
  CHECK((*schedules)[0].next_due_ms == 7000);
  CHECK(f.queue->Subscriptions("orders")->size() == 2);
  std::vector<std::string> subs;
  bool removed = false, deleted = false;
  REQUIRE(f.queue
              ->WriteBatch([&](EventWrites& w) {
                removed = *w.Unsubscribe("orders", "b");
                subs = *w.Subscribers("orders");
                deleted = *w.DeleteSchedule("s1");
                return Status::Ok();
              })
              .ok());
  CHECK(removed);
  CHECK(deleted);
  CHECK(subs == std::vector<std::string>{"a"});
  CHECK(f.queue->Schedules("")->empty());
}

TEST_CASE("EventQueue refuses a schedule whose id is taken and keeps the first",
          "[events][queue]") {
  Fixture f;
  REQUIRE(f.queue
              ->WriteBatch([](EventWrites& w) {
                return w.PutSchedule({"s1", "a", "* * * * *", "{}", 5000, 1000});
              })
              .ok());
  Status again = f.queue->WriteBatch([](EventWrites& w) {
    return w.PutSchedule({"s1", "b", "*/5 * * * *", "{}", 6000, 2000});
  });
  CHECK(again.code() == flint::Code::kAlreadyExists);
  auto schedules = f.queue->Schedules("");
  REQUIRE(schedules->size() == 1);
  CHECK((*schedules)[0].function == "a");
  CHECK((*schedules)[0].cron == "* * * * *");
}
