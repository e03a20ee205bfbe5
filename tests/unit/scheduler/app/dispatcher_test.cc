// The Dispatcher against a FakeFleet: real HTTP requests (TestHttp) on the test's loop, workers
// played by the test. What it checks: admission and queueing, cold and warm dispatch, how every
// way an invocation ends reaches the client, keep-alive, eviction and shutdown.
#include "scheduler/app/dispatcher.h"

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/unit/scheduler/app/fake_fleet.h"
#include "tests/unit/scheduler/app/test_http.h"

namespace flint::scheduler {
namespace {

using testing::FakeFleet;
using testing::RunUntil;
using testing::TestHttp;

// A loop, a FakeFleet, a Dispatcher and an HTTP front door that sends /fn/NAME to it.
struct Fixture {
  explicit Fixture(DispatcherOptions options = {}) {
    uv_loop_init(&loop);
    dispatcher = std::make_unique<Dispatcher>(&loop, options, &fleet);
    http = std::make_unique<TestHttp>(&loop, [this](HttpRequest&& request, HttpResponder r) {
      requests++;
      std::string name = request.path.substr(4);
      auto fn = dispatcher->FindLive(name);
      if (!fn) return r.Send(ErrorResponse(NotFound("no function " + name)));
      dispatcher->Invoke(fn, std::move(request), "/", std::move(r));
    });
  }
  ~Fixture() {
    http.reset();
    dispatcher.reset();
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
  }
  std::shared_ptr<const FunctionVersion> Deploy(const std::string& name, FunctionConfig config = {},
                                                Runtime runtime = Runtime::kV8) {
    FunctionVersion fn;
    fn.name = name;
    fn.version = 1;
    fn.runtime = runtime;
    fn.entry = "index.mjs";
    fn.config = config;
    auto shared = std::make_shared<const FunctionVersion>(fn);
    dispatcher->SetLive(shared);
    return shared;
  }
  // Sends GET /fn/NAME and runs the loop until the request has reached the Dispatcher.
  int Get(const std::string& name) {
    int seen = requests;
    int call = http->Send("GET", "/fn/" + name);
    REQUIRE(RunUntil(&loop, [&] { return requests > seen; }));
    return call;
  }
  uv_loop_t loop;
  int requests = 0;
  FakeFleet fleet;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<TestHttp> http;
};

protocol::InvokeResult Ok(const std::string& body) {
  protocol::InvokeResult r;
  r.body = body;
  r.headers = {{"Content-Type", "text/plain"}, {"Content-Length", "999"}};
  r.duration_us = 100;
  return r;
}

nlohmann::json ErrorOf(const client::HttpResponse& r) {
  return nlohmann::json::parse(r.body)["error"];
}

}  // namespace

TEST_CASE("Dispatcher starts a worker for the first request and pipelines it behind the LOAD",
          "[dispatcher]") {
  Fixture f;
  f.Deploy("hello");
  int first = f.Get("hello");
  REQUIRE(f.fleet.started.size() == 1);
  CHECK(f.fleet.started[0].pool_key == "hello@1");
  WorkerId w = f.fleet.started[0].worker;
  CHECK(f.fleet.loads == std::vector<WorkerId>{w});
  // The INVOKE went out right behind the LOAD, before LOADED.
  REQUIRE(f.fleet.sent.size() == 1);
  CHECK(f.fleet.sent[0].worker == w);
  CHECK(f.fleet.sent[0].request.raw_path == "/");
  f.fleet.Loaded(w);
  f.fleet.Result(w, f.fleet.sent[0].id, Ok("hi"));
  auto r = f.http->Wait(first);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hi");
  CHECK(r->FindHeader("x-flint-cold-start") != nullptr);
  CHECK(r->FindHeader("x-flint-request-id") != nullptr);
  CHECK(*r->FindHeader("content-type") == "text/plain");

  // The next request finds the worker warm: no new worker, no cold-start header.
  int second = f.Get("hello");
  REQUIRE(f.fleet.sent.size() == 2);
  CHECK(f.fleet.started.size() == 1);
  f.fleet.Result(w, f.fleet.sent[1].id, Ok("again"));
  auto warm = f.http->Wait(second);
  REQUIRE(warm);
  CHECK(warm->body == "again");
  CHECK(warm->FindHeader("x-flint-cold-start") == nullptr);
  auto pools = f.dispatcher->PoolStatuses("hello");
  REQUIRE(pools.size() == 1);
  CHECK(pools[0].invocations == 2);
  CHECK(pools[0].cold_starts == 1);
  CHECK(pools[0].counts.idle == 1);
}

TEST_CASE("Dispatcher loads a spawned worker at its HELLO", "[dispatcher]") {
  Fixture f;
  f.fleet.next_placement.loadable = false;  // no generic worker was ready: a spawn
  f.Deploy("hello");
  int call = f.Get("hello");
  REQUIRE(f.fleet.started.size() == 1);
  WorkerId w = f.fleet.started[0].worker;
  CHECK(f.fleet.loads.empty());
  CHECK(f.fleet.sent.empty());
  f.fleet.Hello(w);
  CHECK(f.fleet.loads == std::vector<WorkerId>{w});
  REQUIRE(f.fleet.sent.size() == 1);
  f.fleet.Loaded(w);
  f.fleet.Result(w, f.fleet.sent[0].id, Ok("hi"));
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("Dispatcher answers 429 with Retry-After when a function's queue is full",
          "[dispatcher]") {
  DispatcherOptions options;
  options.max_queue = 1;
  Fixture f(options);
  FunctionConfig one;
  one.max_instances = 1;
  f.Deploy("busy", one);
  int running = f.Get("busy");  // pipelined on the one worker
  int queued = f.Get("busy");   // waits in the queue
  int refused = f.Get("busy");
  auto r = f.http->Wait(refused);
  REQUIRE(r);
  CHECK(r->status == 429);
  CHECK(*r->FindHeader("retry-after") == "1");
  CHECK(ErrorOf(*r)["code"] == "too_many_requests");
  CHECK(f.fleet.started.size() == 1);
  CHECK_FALSE(f.http->Answered(running));
  CHECK_FALSE(f.http->Answered(queued));
  CHECK(f.dispatcher->PoolStatuses("busy")[0].throttles == 1);
}

TEST_CASE("Dispatcher maps a function's error, timeout and out-of-memory results", "[dispatcher]") {
  Fixture f;
  f.Deploy("fails");
  int call = f.Get("fails");
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Loaded(w);
  protocol::InvokeResult error;
  error.outcome = protocol::Outcome::kError;
  error.error_type = "TypeError";
  error.error_message = "bad input";
  f.fleet.Result(w, f.fleet.sent.at(0).id, error);
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(ErrorOf(*r)["code"] == "function_error");
  CHECK(ErrorOf(*r)["type"] == "TypeError");
  CHECK(ErrorOf(*r)["message"] == "bad input");

  call = f.Get("fails");
  protocol::InvokeResult timeout;
  timeout.outcome = protocol::Outcome::kTimeout;
  timeout.error_message = "timed out";
  f.fleet.Result(w, f.fleet.sent.at(1).id, timeout);
  r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 504);

  call = f.Get("fails");
  protocol::InvokeResult oom;
  oom.outcome = protocol::Outcome::kOutOfMemory;
  oom.error_message = "heap";
  f.fleet.Result(w, f.fleet.sent.at(2).id, oom);
  r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(ErrorOf(*r)["type"] == "OutOfMemory");
  CHECK(f.dispatcher->PoolStatuses("fails")[0].errors == 3);
}

TEST_CASE("Dispatcher fails a crashed worker's invocations and starts a replacement for the queue",
          "[dispatcher]") {
  Fixture f;
  FunctionConfig one;
  one.max_instances = 1;
  f.Deploy("crashy", one);
  int first = f.Get("crashy");
  int second = f.Get("crashy");  // queued behind the first
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Exit(w, "signal SIGSEGV (11)");
  auto r = f.http->Wait(first);
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(ErrorOf(*r)["code"] == "function_crashed");
  CHECK(ErrorOf(*r)["message"] == "function crashed: its worker exited with signal SIGSEGV (11)");
  // The queued request gets a new worker.
  REQUIRE(f.fleet.started.size() == 2);
  WorkerId replacement = f.fleet.started[1].worker;
  REQUIRE(f.fleet.sent.size() == 2);
  CHECK(f.fleet.sent[1].worker == replacement);
  f.fleet.Loaded(replacement);
  f.fleet.Result(replacement, f.fleet.sent[1].id, Ok("fine"));
  r = f.http->Wait(second);
  REQUIRE(r);
  CHECK(r->body == "fine");
}

TEST_CASE("Dispatcher names the memory limit when the kernel killed a worker for it",
          "[dispatcher]") {
  Fixture f;
  FunctionConfig config;
  config.memory_mb = 256;
  f.Deploy("hungry", config);
  int call = f.Get("hungry");
  f.fleet.Exit(f.fleet.started.at(0).worker, "signal SIGKILL (9)", /*oom=*/true);
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(ErrorOf(*r)["type"] == "OutOfMemory");
  CHECK(ErrorOf(*r)["message"] == "function exceeded its memory limit of 256 MB");
}

TEST_CASE("Dispatcher fails what waits for a worker whose LOAD failed", "[dispatcher]") {
  Fixture f;
  FunctionConfig one;
  one.max_instances = 1;
  f.Deploy("broken", one);
  int pipelined = f.Get("broken");
  int queued = f.Get("broken");
  f.fleet.LoadFailed(f.fleet.started.at(0).worker, "index.mjs:1: SyntaxError: nope");
  for (int call : {pipelined, queued}) {
    auto r = f.http->Wait(call);
    REQUIRE(r);
    CHECK(r->status == 500);
    CHECK(ErrorOf(*r)["code"] == "function_error");
    CHECK(ErrorOf(*r)["message"] == "function failed to load: index.mjs:1: SyntaxError: nope");
  }
  CHECK(f.fleet.started.size() == 1);  // no retry of a version that does not load
}

TEST_CASE("Dispatcher answers 503 with the reason when no worker can start in time",
          "[dispatcher]") {
  DispatcherOptions options;
  options.queue_timeout_ms = 50;
  Fixture f(options);
  f.dispatcher->Start();
  f.fleet.next_placement = {Fleet::Placement::Kind::kWait, 0, false, "the memory is in use"};
  f.Deploy("waits");
  int call = f.Get("waits");
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(ErrorOf(*r)["message"] == "no worker became available within 50 ms: the memory is in use");
  CHECK(f.fleet.ticks > 0);
}

TEST_CASE("Dispatcher fails at once a function that can never fit", "[dispatcher]") {
  Fixture f;
  f.fleet.next_placement = {Fleet::Placement::Kind::kNever, 0, false, "needs 512 MB"};
  f.Deploy("huge");
  auto r = f.http->Wait(f.Get("huge"));
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(ErrorOf(*r)["message"] == "needs 512 MB");
}

TEST_CASE("Dispatcher kills a worker that outlives its function's timeout and answers 504",
          "[dispatcher]") {
  Fixture f;
  f.dispatcher->Start();
  FunctionConfig quick;
  quick.timeout_ms = 1;
  f.Deploy("native", quick, Runtime::kCpp);  // no grace: native code cannot stop itself
  int call = f.Get("native");
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Loaded(w);
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->status == 504);
  CHECK(ErrorOf(*r)["message"] == "function timed out after 1 ms");
  CHECK(f.fleet.killed == std::vector<WorkerId>{w});
}

TEST_CASE("Dispatcher queues a C++ function's invocations at its worker, one running at a time",
          "[dispatcher]") {
  Fixture f;
  f.dispatcher->Start();
  FunctionConfig queued;
  queued.timeout_ms = 20;
  queued.concurrency = 3;
  f.Deploy("native", queued, Runtime::kCpp);
  int first = f.Get("native");
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Loaded(w);
  int second = f.Get("native");
  int third = f.Get("native");
  REQUIRE(f.fleet.sent.size() == 3);  // all three sent to the one worker
  InvocationId a = f.fleet.sent[0].id, c = f.fleet.sent[2].id;
  for (const auto& sent : f.fleet.sent) CHECK(sent.worker == w);
  // The first answers; the second runs now, under a deadline of its own.
  f.fleet.Result(w, a, Ok("one"));
  auto r1 = f.http->Wait(first);
  REQUIRE(r1);
  CHECK(r1->body == "one");
  // The second runs past its timeout: its worker is killed and it gets 504; the third never
  // started on that worker and runs on a new one instead of failing with it.
  auto r2 = f.http->Wait(second);
  REQUIRE(r2);
  CHECK(r2->status == 504);
  CHECK(f.fleet.killed == std::vector<WorkerId>{w});
  REQUIRE(f.fleet.started.size() == 2);
  WorkerId next = f.fleet.started.at(1).worker;
  REQUIRE(f.fleet.sent.size() == 4);
  CHECK(f.fleet.sent[3].worker == next);
  CHECK(f.fleet.sent[3].id == c);
  f.fleet.Exit(w, "signal SIGKILL (9)");
  f.fleet.Loaded(next);
  f.fleet.Result(next, c, Ok("three"));
  auto r3 = f.http->Wait(third);
  REQUIRE(r3);
  CHECK(r3->status == 200);
  CHECK(r3->body == "three");
}

TEST_CASE("Dispatcher stops an idle worker after its keep-alive", "[dispatcher]") {
  DispatcherOptions options;
  options.default_keep_alive_ms = 1;
  Fixture f(options);
  f.dispatcher->Start();
  f.Deploy("brief");
  int call = f.Get("brief");
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Loaded(w);
  f.fleet.Result(w, f.fleet.sent.at(0).id, Ok("hi"));
  REQUIRE(f.http->Wait(call));
  CHECK(RunUntil(&f.loop, [&] { return !f.fleet.stopped.empty(); }));
  CHECK(f.fleet.stopped == std::vector<WorkerId>{w});
  CHECK(f.dispatcher->PoolStatuses("brief")[0].counts.idle == 0);
}

TEST_CASE("Dispatcher gives up an idle worker for eviction, never a busy one", "[dispatcher]") {
  Fixture f;
  f.Deploy("a");
  int call = f.Get("a");
  WorkerId w = f.fleet.started.at(0).worker;
  Fleet::Observer& observer = *f.fleet.observer();
  f.fleet.Loaded(w);
  CHECK(observer.EvictionCandidates().empty());  // busy
  CHECK_FALSE(observer.Evict(w, "a@1"));
  f.fleet.Result(w, f.fleet.sent.at(0).id, Ok("hi"));
  REQUIRE(f.http->Wait(call));
  auto idle = observer.EvictionCandidates();
  REQUIRE(idle.size() == 1);
  CHECK(idle[0].worker == w);
  CHECK(idle[0].function == "a");
  CHECK(idle[0].memory_mb == 128);
  CHECK(observer.Evict(w, "a@1"));
  CHECK(f.dispatcher->PoolStatuses("a")[0].evictions == 1);
  // The next request needs a new worker.
  f.Get("a");
  CHECK(f.fleet.started.size() == 2);
}

TEST_CASE("Dispatcher reports whether an event ran, and how", "[dispatcher]") {
  Fixture f;
  auto fn = f.Deploy("consumer");
  std::vector<Dispatcher::EventResult> results;
  Status started = f.dispatcher->InvokeEvent(
      fn, "evt-1", R"({"n":1})", meter::Trigger::kAsync,
      [&](Dispatcher::EventResult r) { results.push_back(std::move(r)); });
  REQUIRE(started.ok());
  WorkerId w = f.fleet.started.at(0).worker;
  REQUIRE(f.fleet.sent.size() == 1);
  const protocol::InvokeRequest& sent = f.fleet.sent[0].request;
  CHECK(sent.kind == protocol::InvokeKind::kEvent);
  CHECK(sent.body == R"({"n":1})");
  CHECK(sent.headers.back().first == "x-flint-event-id");
  CHECK(sent.headers.back().second == "evt-1");
  // Each attempt of an event is a trace of its own.
  REQUIRE(sent.headers.size() >= 2);
  CHECK(sent.headers[sent.headers.size() - 2].first == "traceparent");
  CHECK(ParseTraceparent(sent.headers[sent.headers.size() - 2].second).has_value());
  f.fleet.Loaded(w);
  f.fleet.Result(w, f.fleet.sent[0].id, Ok("done"));
  REQUIRE(results.size() == 1);
  CHECK(results[0].ran);
  CHECK(results[0].ok);
  CHECK(results[0].outcome == meter::Outcome::kOk);
  CHECK(results[0].body == "done");

  // A crash is an attempt that ran and failed.
  REQUIRE(f.dispatcher
              ->InvokeEvent(fn, "evt-2", "{}", meter::Trigger::kCron,
                            [&](Dispatcher::EventResult r) { results.push_back(std::move(r)); })
              .ok());
  f.fleet.Exit(w, "exit code 3");
  REQUIRE(results.size() == 2);
  CHECK(results[1].ran);
  CHECK_FALSE(results[1].ok);
  CHECK(results[1].outcome == meter::Outcome::kCrash);
}

TEST_CASE("Dispatcher refuses new work once shutting down and finishes when the fleet is empty",
          "[dispatcher]") {
  Fixture f;
  f.dispatcher->Start();
  f.Deploy("hello");
  int call = f.Get("hello");
  WorkerId w = f.fleet.started.at(0).worker;
  f.fleet.Loaded(w);
  bool stopped = false;
  f.dispatcher->Shutdown([&] { stopped = true; });
  auto refused = f.http->Wait(f.Get("hello"));
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(ErrorOf(*refused)["message"] == "flintd is shutting down");
  CHECK_FALSE(stopped);
  f.fleet.Result(w, f.fleet.sent.at(0).id, Ok("last"));
  auto r = f.http->Wait(call);
  REQUIRE(r);
  CHECK(r->body == "last");
  // With nothing in flight every worker is asked to exit; the end waits for them.
  CHECK(RunUntil(&f.loop, [&] { return f.fleet.stop_all_calls > 0; }));
  CHECK_FALSE(stopped);
  f.fleet.Exit(w, "exit code 0");
  CHECK(RunUntil(&f.loop, [&] { return stopped; }));
}

TEST_CASE("Dispatcher reserves a function's memory with the fleet", "[dispatcher]") {
  Fixture f;
  FunctionConfig config;
  config.memory_mb = 256;
  config.reserved_concurrency = 2;
  f.Deploy("vip", config);
  CHECK(f.fleet.reservations["vip"] == 512);
  f.dispatcher->Remove("vip");
  CHECK(f.fleet.reservations["vip"] == 0);
  CHECK(f.dispatcher->FindLive("vip") == nullptr);
}

}  // namespace flint::scheduler
