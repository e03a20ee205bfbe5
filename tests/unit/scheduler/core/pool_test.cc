#include "scheduler/core/pool.h"

#include <catch2/catch.hpp>

using namespace flint::scheduler;
using Kind = Pool::Admission::Kind;

namespace {
PoolPolicy Policy(uint32_t max_instances, uint32_t concurrency = 1, uint64_t keep_alive = 1000,
                  size_t max_queue = 100) {
  PoolPolicy p;
  p.max_instances = max_instances;
  p.concurrency = concurrency;
  p.keep_alive_ms = keep_alive;
  p.max_queue = max_queue;
  return p;
}
}  // namespace

TEST_CASE("Pool starts one worker for the first request and dispatches when it is ready",
          "[pool]") {
  Pool pool(Policy(4));
  auto a = pool.Admit(1, 0);
  REQUIRE(a.kind == Kind::kQueued);
  REQUIRE(a.start_worker);
  pool.AddStarting(100);
  CHECK(pool.counts().starting == 1);
  auto dispatch = pool.WorkerReady(100, 5);
  REQUIRE(dispatch == std::vector<InvocationId>{1});
  CHECK(pool.counts().busy == 1);
}

TEST_CASE("Pool reuses an idle warm worker", "[pool]") {
  Pool pool(Policy(4));
  pool.AddStarting(7);
  (void)pool.WorkerReady(7, 0);
  auto a = pool.Admit(1, 10);
  REQUIRE(a.kind == Kind::kDispatch);
  CHECK(a.worker == 7);
  CHECK(pool.InvocationDone(7, 20).empty());
  auto b = pool.Admit(2, 30);
  REQUIRE(b.kind == Kind::kDispatch);
  CHECK(b.worker == 7);
}

TEST_CASE("Pool does not start a herd of workers for requests one starting worker absorbs",
          "[pool]") {
  Pool pool(Policy(10, /*concurrency=*/4));
  auto first = pool.Admit(1, 0);
  REQUIRE(first.start_worker);
  pool.AddStarting(1);
  for (InvocationId id = 2; id <= 4; ++id) {
    auto a = pool.Admit(id, 0);
    CHECK(a.kind == Kind::kQueued);
    CHECK_FALSE(a.start_worker);
  }
  // The fifth waiting request exceeds what the starting worker will take.
  CHECK(pool.Admit(5, 0).start_worker);
}

TEST_CASE("Pool never exceeds max instances and rejects beyond the queue bound", "[pool]") {
  Pool pool(Policy(2, 1, 1000, /*max_queue=*/3));
  CHECK(pool.Admit(1, 0).start_worker);
  pool.AddStarting(1);
  CHECK(pool.Admit(2, 0).start_worker);
  pool.AddStarting(2);
  auto third = pool.Admit(3, 0);
  CHECK(third.kind == Kind::kQueued);
  CHECK_FALSE(third.start_worker);
  CHECK(pool.Admit(4, 0).kind == Kind::kRejected);
  CHECK(pool.counts().queued == 3);
}

TEST_CASE("Pool hands queued requests to a worker as it frees up, in arrival order", "[pool]") {
  Pool pool(Policy(1));
  (void)pool.Admit(1, 0);
  pool.AddStarting(9);
  (void)pool.Admit(2, 0);
  (void)pool.Admit(3, 0);
  CHECK(pool.WorkerReady(9, 1) == std::vector<InvocationId>{1});
  CHECK(pool.InvocationDone(9, 2) == std::vector<InvocationId>{2});
  CHECK(pool.InvocationDone(9, 3) == std::vector<InvocationId>{3});
  CHECK(pool.InvocationDone(9, 4).empty());
  CHECK(pool.counts().idle == 1);
}

TEST_CASE("Pool stops idle workers after their keep-alive, oldest first, and scales to zero",
          "[pool]") {
  Pool pool(Policy(3, 1, /*keep_alive=*/100));
  for (WorkerId w : {1, 2, 3}) {
    pool.AddStarting(w);
    (void)pool.WorkerReady(w, (w - 1) * 10);
  }
  // The most recently used worker takes the request, so the others can age out.
  CHECK(pool.Admit(10, 50).worker == 3);
  (void)pool.InvocationDone(3, 60);
  CHECK(pool.NextExpiry() == 100u);
  CHECK(pool.TakeExpired(99).empty());
  CHECK(pool.TakeExpired(110) == std::vector<WorkerId>{1, 2});
  CHECK(pool.counts().idle == 1);
  CHECK(pool.TakeExpired(160) == std::vector<WorkerId>{3});
  CHECK(pool.empty());
}

TEST_CASE("Pool never expires a busy worker", "[pool]") {
  Pool pool(Policy(1, 1, 10));
  pool.AddStarting(1);
  (void)pool.WorkerReady(1, 0);
  REQUIRE(pool.Admit(1, 0).kind == Kind::kDispatch);
  CHECK(pool.TakeExpired(1'000'000).empty());
  CHECK_FALSE(pool.NextExpiry().has_value());
}

TEST_CASE("Pool asks for a replacement when a worker dies with requests waiting", "[pool]") {
  Pool pool(Policy(1));
  (void)pool.Admit(1, 0);
  pool.AddStarting(1);
  (void)pool.WorkerReady(1, 0);
  (void)pool.Admit(2, 0);
  CHECK(pool.WorkerGone(1));
  CHECK(pool.counts().queued == 1);
  Pool empty_queue(Policy(1));
  empty_queue.AddStarting(5);
  CHECK_FALSE(empty_queue.WorkerGone(5));
}

TEST_CASE("Pool cancels a queued request and drains idle workers", "[pool]") {
  Pool pool(Policy(2));
  (void)pool.Admit(1, 0);
  CHECK(pool.Cancel(1));
  CHECK_FALSE(pool.Cancel(1));
  pool.AddStarting(1);
  CHECK(pool.WorkerReady(1, 0).empty());
  CHECK(pool.TakeIdle() == std::vector<WorkerId>{1});
  CHECK(pool.empty());
}
