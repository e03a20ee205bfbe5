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
  CHECK(pool.WorkerGone(1, 0));
  CHECK(pool.counts().queued == 1);
  Pool empty_queue(Policy(1));
  empty_queue.AddStarting(5);
  CHECK_FALSE(empty_queue.WorkerGone(5, 0));
}

TEST_CASE("Pool puts invocations a stopped worker never started back at the front, in order",
          "[pool]") {
  Pool pool(Policy(2, /*concurrency=*/3));
  pool.AddStarting(1);
  (void)pool.WorkerReady(1, 0);
  for (InvocationId id = 1; id <= 3; ++id) CHECK(pool.Admit(id, 0).worker == 1);
  (void)pool.Admit(4, 0);  // waits: the worker is full
  // Invocation 1 ran past its timeout and its worker is stopped; 2 and 3 never started.
  (void)pool.WorkerGone(1, 5);
  pool.Requeue({2, 3});
  CHECK(pool.counts().queued == 3);
  CHECK(pool.WantsWorker());
  pool.AddStarting(2);
  CHECK(pool.WorkerReady(2, 6) == std::vector<InvocationId>{2, 3, 4});
}

TEST_CASE("Pool cancels a queued request and drains idle workers", "[pool]") {
  Pool pool(Policy(2));
  (void)pool.Admit(1, 0);
  CHECK(pool.Cancel(1));
  CHECK_FALSE(pool.Cancel(1));
  pool.AddStarting(1);
  CHECK(pool.WorkerReady(1, 0).empty());
  CHECK(pool.TakeIdle(0) == std::vector<WorkerId>{1});
  CHECK(pool.empty());
}

namespace {
PoolPolicy MinPolicy(uint32_t min_instances, uint32_t max_instances, uint64_t keep_alive) {
  PoolPolicy p = Policy(max_instances, 1, keep_alive);
  p.min_instances = min_instances;
  return p;
}
// Starts `worker` and makes it ready at `now`.
void AddReady(Pool& pool, WorkerId worker, uint64_t now) {
  pool.AddStarting(worker);
  (void)pool.WorkerReady(worker, now);
}
}  // namespace

TEST_CASE("Pool asks for min_instances workers without traffic, counting starting ones",
          "[pool][min]") {
  Pool pool(MinPolicy(2, 5, 100));
  CHECK(pool.WorkersToStart() == 2);
  pool.AddStarting(1);
  CHECK(pool.WorkersToStart() == 1);
  pool.AddStarting(2);
  CHECK(pool.WorkersToStart() == 0);
  CHECK(pool.WorkerGone(1, 0) == false);
  CHECK(pool.WorkersToStart() == 1);
}

TEST_CASE("Pool keeps min_instances workers past their keep-alive and scales down to them",
          "[pool][min]") {
  Pool pool(MinPolicy(1, 5, 100));
  for (WorkerId w : {1, 2, 3}) AddReady(pool, w, w);
  // All three are idle and past their keep-alive: two go, oldest first; one stays.
  CHECK(pool.TakeExpired(1'000) == std::vector<WorkerId>{1, 2});
  CHECK(pool.counts().idle == 1);
  CHECK(pool.TakeExpired(1'000'000).empty());
  CHECK(pool.WorkersToStart() == 0);
}

TEST_CASE("Pool with min_instances 0 scales to zero one worker at a time as each expires",
          "[pool][min]") {
  Pool pool(MinPolicy(0, 5, 100));
  AddReady(pool, 1, 0);
  AddReady(pool, 2, 50);
  CHECK(pool.TakeExpired(100) == std::vector<WorkerId>{1});
  CHECK(pool.counts().idle == 1);
  CHECK(pool.TakeExpired(150) == std::vector<WorkerId>{2});
  CHECK(pool.empty());
}

TEST_CASE("Pool offers only idle workers beyond min_instances for eviction, LRU first",
          "[pool][evict]") {
  Pool pool(MinPolicy(1, 5, 100'000));
  AddReady(pool, 1, 30);
  AddReady(pool, 2, 10);
  AddReady(pool, 3, 20);
  REQUIRE(pool.Admit(1, 40).kind == Kind::kDispatch);  // the most recently used: worker 1
  // Busy worker 1 counts towards min_instances, so both idle workers may go, oldest first.
  auto evictable = pool.Evictable();
  REQUIRE(evictable.size() == 2);
  CHECK(evictable[0].first == 2);
  CHECK(evictable[1].first == 3);
  CHECK(pool.Evict(2, 50));
  CHECK_FALSE(pool.Evict(2, 50));
  CHECK_FALSE(pool.Evict(1, 50));  // busy
  CHECK(pool.Evictable().size() == 1);
  CHECK(pool.Evict(3, 50));
  // Worker 1 is the last one: protected by min_instances once idle.
  (void)pool.InvocationDone(1, 60);
  CHECK(pool.Evictable().empty());
}

TEST_CASE("Pool reports a queued request that still needs a worker until one is started",
          "[pool][capacity]") {
  Pool pool(Policy(2));
  auto a = pool.Admit(1, 0);
  REQUIRE(a.start_worker);
  // The caller could not start one (no memory): the pool keeps asking.
  CHECK(pool.WantsWorker());
  pool.AddStarting(1);
  CHECK_FALSE(pool.WantsWorker());
  CHECK(pool.Cancel(1));
  CHECK_FALSE(pool.WantsWorker());
}

TEST_CASE("Pool counts idle worker-milliseconds from idle to busy or gone", "[pool][idle]") {
  Pool pool(Policy(3, 1, 1'000));
  AddReady(pool, 1, 100);                               // idle from 100
  CHECK(pool.IdleWorkerMs(150) == 50);                  // still idle
  REQUIRE(pool.Admit(1, 200).kind == Kind::kDispatch);  // +100, busy
  CHECK(pool.IdleWorkerMs(300) == 100);
  (void)pool.InvocationDone(1, 300);  // idle again from 300
  AddReady(pool, 2, 300);             // a second idle worker from 300
  CHECK(pool.IdleWorkerMs(400) == 100 + 100 + 100);
  CHECK(pool.TakeExpired(1'300) == std::vector<WorkerId>{1, 2});
  CHECK(pool.IdleWorkerMs(5'000) == 100 + 1'000 + 1'000);
  // A starting worker is not idle; a busy one that dies adds nothing.
  pool.AddStarting(3);
  CHECK(pool.IdleWorkerMs(9'000) == 2'100);
}

TEST_CASE("Pool queue limit: rejects once max_queue requests wait, accepts again after", "[pool]") {
  Pool pool(Policy(1, 1, 1000, /*max_queue=*/2));
  CHECK(pool.Admit(1, 0).kind == Kind::kQueued);
  CHECK(pool.Admit(2, 0).kind == Kind::kQueued);
  CHECK(pool.Admit(3, 0).kind == Kind::kRejected);
  pool.AddStarting(1);
  CHECK(pool.WorkerReady(1, 1) == std::vector<InvocationId>{1});
  CHECK(pool.Admit(4, 2).kind == Kind::kQueued);
  CHECK(pool.Admit(5, 2).kind == Kind::kRejected);
}

TEST_CASE("Pool scales up under queue pressure one worker per uncovered request, up to max",
          "[pool][herd]") {
  Pool pool(Policy(3));
  int starts = 0;
  for (InvocationId id = 1; id <= 10; ++id) {
    if (pool.Admit(id, 0).start_worker) {
      pool.AddStarting(id);
      starts++;
    }
  }
  CHECK(starts == 3);
  CHECK(pool.counts().starting == 3);
  CHECK(pool.counts().queued == 10);
}

namespace {
// One request served by `worker` (started for it if the pool has none ready) at `t`, finishing
// at t+1.
void Serve(Pool& pool, InvocationId id, WorkerId worker, uint64_t t) {
  auto a = pool.Admit(id, t);
  if (a.kind == Kind::kQueued) {
    pool.AddStarting(worker);
    (void)pool.WorkerReady(worker, t);
  }
  (void)pool.InvocationDone(a.kind == Kind::kDispatch ? a.worker : worker, t + 1);
}
}  // namespace

TEST_CASE("Fixed pool never pre-warms and reports no learned windows", "[pool]") {
  Pool pool(Policy(2, 1, 100));
  for (InvocationId id = 1; id <= 20; ++id) Serve(pool, id, id, id * 1000);
  CHECK_FALSE(pool.windows().learned);
  (void)pool.TakeIdle(30'000);
  CHECK(pool.TakePrewarm(30'500) == 0);
  CHECK_FALSE(pool.NextPrewarm(30'500).has_value());
}

TEST_CASE("Pool reports no expiry while it holds only min_instances workers", "[pool]") {
  PoolPolicy policy = Policy(3, 1, 100);
  policy.min_instances = 1;
  Pool pool(policy);
  Serve(pool, 1, 1, 0);
  CHECK_FALSE(pool.NextExpiry().has_value());
  CHECK(pool.TakeExpired(10'000).empty());
}
