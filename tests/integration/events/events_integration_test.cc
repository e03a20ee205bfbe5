// Event triggers end to end (docs/triggers.md): flintd, flint-worker and the flint CLI. Each
// TEST_CASE starts its own flintd with a fresh data directory. Every wait polls a state with a
// generous bound; nothing asserts on latency.
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::HttpRequest;
using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Fails a JS event when it asks to ({"fail": true}); otherwise echoes it.
constexpr const char* kEchoOrFail = R"(
export const handler = async (event, context) => {
  if (event && event.fail) throw new Error("asked to fail " + (event.n ?? ""));
  if (event && event.sleep_ms) await new Promise((r) => setTimeout(r, event.sleep_ms));
  return { got: event, requestId: context.requestId };
};
)";

HttpResponse PostEvent(const FlintdProcess& flintd, const std::string& name,
                       const std::string& body, const std::string& idempotency_key = "") {
  HttpRequest request;
  request.method = "POST";
  request.target = "/fn/" + name;
  request.headers.push_back({"Content-Type", "application/json"});
  request.headers.push_back({"X-Flint-Invocation-Type", "Event"});
  if (!idempotency_key.empty())
    request.headers.push_back({"X-Flint-Idempotency-Key", idempotency_key});
  request.body = body;
  auto r = flintd.Http(request);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string AcceptOrFail(const FlintdProcess& flintd, const std::string& name,
                         const std::string& body) {
  HttpResponse r = PostEvent(flintd, name, body);
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 202);
  return json::parse(r.body).at("invocation_id").get<std::string>();
}

// GET /v1/invocations/ID's "invocation" object ({} when not found).
json Invocation(const FlintdProcess& flintd, const std::string& id) {
  auto r = flintd.Client().Call("GET", "/v1/invocations/" + id);
  if (!r.ok()) return json::object();
  return json::parse(*r).at("invocation");
}

json WaitForStatus(const FlintdProcess& flintd, const std::string& id, const std::string& status,
                   std::chrono::milliseconds timeout = 30s) {
  json last;
  bool reached = WaitUntil(
      [&] {
        last = Invocation(flintd, id);
        return last.value("status", "") == status;
      },
      timeout);
  INFO("invocation " << id << ": " << last.dump() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(reached);
  return last;
}

json CallOrFail(const FlintdProcess& flintd, const std::string& method, const std::string& target,
                const std::string& body = "") {
  auto client = flintd.Client();
  auto r = client.Call(method, target, body);
  INFO(method << " " << target << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return json::parse(*r);
}

}  // namespace

TEST_CASE("An async event answers 202 once stored, runs, and reports its result",
          "[integration][events]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "echo-ev", kEchoOrFail);
  HttpResponse r = PostEvent(flintd, "echo-ev", R"({"n": 1, "text": "hi"})");
  REQUIRE(r.status == 202);
  std::string id = json::parse(r.body).at("invocation_id");
  CHECK(id.size() == 36);
  json done = WaitForStatus(flintd, id, "succeeded");
  CHECK(done["attempts"] == 1);
  CHECK(done["trigger"] == "async");
  CHECK(done["result"]["got"] == json::parse(R"({"n": 1, "text": "hi"})"));

  // The CLI: invoke --async prints the id; flint invocation shows it.
  CliResult async = flintd.RunCli({"--json", "invoke", "echo-ev", "--async", "-d", R"({"n":2})"});
  REQUIRE(async.exit_code == 0);
  std::string id2 = json::parse(async.out).at("invocation_id");
  WaitForStatus(flintd, id2, "succeeded");
  CliResult shown = flintd.RunCli({"invocation", id2});
  INFO(shown.Describe());
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("succeeded") != std::string::npos);
  CHECK(shown.out.find("\"n\":2") != std::string::npos);

  // The same idempotency key returns the first event's id and runs nothing new.
  HttpResponse first = PostEvent(flintd, "echo-ev", R"({"n":3})", "key-1");
  HttpResponse again = PostEvent(flintd, "echo-ev", R"({"n":4})", "key-1");
  REQUIRE(first.status == 202);
  REQUIRE(again.status == 202);
  CHECK(json::parse(first.body)["invocation_id"] == json::parse(again.body)["invocation_id"]);

  // Synchronous calls still work beside events, and the ledger knows the trigger.
  auto sync = flintd.HttpPost("/fn/echo-ev", R"({"x":1})");
  REQUIRE(sync.ok());
  CHECK(sync->status == 200);
}

TEST_CASE("A failing event is retried, dead-lettered with its error, and redriven",
          "[integration][events]") {
  FlintdProcess flintd({"--event-retry-base", "50ms"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "flaky", kEchoOrFail);
  std::string id = AcceptOrFail(flintd, "flaky", R"({"fail": true, "n": 7})");
  json dead = WaitForStatus(flintd, id, "dead");
  CHECK(dead["attempts"] == 3);  // the first attempt and two retries
  CHECK(dead["error"].dump().find("asked to fail 7") != std::string::npos);

  json dlq = CallOrFail(flintd, "GET", "/v1/dlq/flaky");
  REQUIRE(dlq["dead_letters"].size() == 1);
  CHECK(dlq["dead_letters"][0]["id"] == id);
  CHECK(dlq["dead_letters"][0]["payload"]["n"] == 7);
  CliResult listed = flintd.RunCli({"dlq", "flaky"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find(id) != std::string::npos);
  CHECK(listed.out.find("asked to fail 7") != std::string::npos);

  CliResult redrive = flintd.RunCli({"dlq", "redrive", "flaky"});
  INFO(redrive.Describe());
  REQUIRE(redrive.exit_code == 0);
  CHECK(redrive.out.find("re-queued 1") != std::string::npos);
  // It runs again from scratch (attempts restart) and, still failing, returns to the list.
  WaitUntil([&] { return Invocation(flintd, id).value("status", "") != "dead"; }, 5s, 5ms);
  json again = WaitForStatus(flintd, id, "dead");
  CHECK(again["attempts"] == 3);

  // A function never deployed has no dead-letter list: an error, not an empty list.
  CHECK(flintd.RunCli({"dlq", "no-such-fn"}).exit_code == 1);
}

TEST_CASE("An event older than the maximum age goes to the dead-letter list",
          "[integration][events]") {
  // Retries back off for longer than the events may live: the first failure dead-letters.
  FlintdProcess flintd({"--event-retry-base", "10s", "--event-max-age", "2s"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "aging", kEchoOrFail);
  std::string id = AcceptOrFail(flintd, "aging", R"({"fail": true})");
  json dead = WaitForStatus(flintd, id, "dead");
  CHECK(dead["attempts"] == 1);
  CHECK(dead["error"].dump().find("expired") != std::string::npos);
}

TEST_CASE("A function's own retry maximum and event age override the node's",
          "[integration][events]") {
  FlintdProcess flintd({"--event-retry-base", "50ms"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "no-retry", kEchoOrFail, {"--max-retries", "0"});
  DeployJsOrFail(flintd, "five-retries", kEchoOrFail, {"--max-retries", "5"});
  std::string once = AcceptOrFail(flintd, "no-retry", R"({"fail": true})");
  std::string six = AcceptOrFail(flintd, "five-retries", R"({"fail": true})");
  CHECK(WaitForStatus(flintd, once, "dead")["attempts"] == 1);
  CHECK(WaitForStatus(flintd, six, "dead", 60s)["attempts"] == 6);

  json info = CallOrFail(flintd, "GET", "/v1/functions/five-retries");
  CHECK(info["function"]["max_retries"] == 5);
  CHECK(info["function"]["max_event_age_ms"] == 0);
  CliResult described = flintd.RunCli({"describe", "five-retries"});
  REQUIRE(described.exit_code == 0);
  CHECK(described.out.find("event retries:") != std::string::npos);

  // Retries back off (50 ms, 100 ms, ...) for longer than this function's events may live.
  DeployJsOrFail(flintd, "short-lived", kEchoOrFail,
                 {"--max-retries", "10", "--max-event-age", "1s"});
  std::string aged = AcceptOrFail(flintd, "short-lived", R"({"fail": true})");
  json dead = WaitForStatus(flintd, aged, "dead");
  CHECK(dead["attempts"].get<int>() < 11);
  CHECK(dead["error"].dump().find("1 s") != std::string::npos);

  CliResult bad = flintd.RunCli({"deploy", "x", "/nonexistent", "--max-retries", "11"});
  CHECK(bad.exit_code != 0);
  auto refused = flintd.Client().Call(
      "PUT", "/v1/functions/bad-age",
      R"({"files": {"index.mjs": "ZXhwb3J0IGNvbnN0IGhhbmRsZXIgPSAoKSA9PiAxOw=="}, )"
      R"("max_event_age_ms": 10})");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("max_event_age_ms") != std::string::npos);
}

TEST_CASE("A topic publish fans out to every subscribed function", "[integration][events]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "sub-a", kEchoOrFail);
  DeployJsOrFail(flintd, "sub-b", kEchoOrFail);
  DeployJsOrFail(flintd, "sub-c", kEchoOrFail);
  REQUIRE(flintd.RunCli({"subscribe", "sub-a", "orders"}).exit_code == 0);
  REQUIRE(flintd.RunCli({"subscribe", "sub-b", "orders"}).exit_code == 0);
  REQUIRE(flintd.RunCli({"subscribe", "sub-c", "other"}).exit_code == 0);
  CliResult subs = flintd.RunCli({"subscriptions", "orders"});
  CHECK(subs.out == "orders -> sub-a\norders -> sub-b\n");

  CliResult published = flintd.RunCli({"--json", "publish", "orders", "-d", R"({"order": 42})"});
  INFO(published.Describe());
  REQUIRE(published.exit_code == 0);
  json deliveries = json::parse(published.out).at("deliveries");
  REQUIRE(deliveries.size() == 2);
  std::set<std::string> functions;
  for (const json& d : deliveries) {
    functions.insert(d["function"]);
    json done = WaitForStatus(flintd, d["invocation_id"], "succeeded");
    CHECK(done["trigger"] == "topic");
    CHECK(done["source"] == "orders");
    CHECK(done["result"]["got"]["order"] == 42);
  }
  CHECK(functions == std::set<std::string>{"sub-a", "sub-b"});

  REQUIRE(flintd.RunCli({"unsubscribe", "sub-b", "orders"}).exit_code == 0);
  json second = CallOrFail(flintd, "POST", "/v1/topics/orders", R"({"order": 43})");
  REQUIRE(second["deliveries"].size() == 1);
  CHECK(second["deliveries"][0]["function"] == "sub-a");
  json none = CallOrFail(flintd, "POST", "/v1/topics/nobody-listens", "{}");
  CHECK(none["deliveries"].empty());
}

TEST_CASE("A schedule runs its function as async invocations", "[integration][events]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "ticker", kEchoOrFail);
  CliResult added =
      flintd.RunCli({"--json", "schedule", "add", "ticker", "@every 1s", "-d", R"({"tick": 1})"});
  INFO(added.Describe());
  REQUIRE(added.exit_code == 0);
  std::string schedule_id = json::parse(added.out)["schedule"]["id"];
  CliResult ls = flintd.RunCli({"schedule", "ls"});
  CHECK(ls.out.find(schedule_id) != std::string::npos);
  // The ledger records cron invocations: wait for one in the billing report.
  bool ran = WaitUntil(
      [&] {
        auto r = flintd.Client().Billing({{"by", "function"}, {"format", "json"}});
        return r.ok() && r->find("ticker") != std::string::npos;
      },
      20s, 200ms);
  INFO(flintd.LogTail());
  CHECK(ran);
  REQUIRE(flintd.RunCli({"schedule", "rm", schedule_id}).exit_code == 0);
  CHECK(flintd.RunCli({"schedule", "ls"}).out == "no schedules\n");
  CHECK(flintd.RunCli({"schedule", "rm", schedule_id}).exit_code == 1);
}

TEST_CASE("Schedules added within a minute keep their own ids across a restart",
          "[integration][events]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "hourly", kEchoOrFail);
  std::vector<std::string> ids;
  for (const char* cron : {"0 * * * *", "30 * * * *"}) {
    CliResult added = flintd.RunCli({"--json", "schedule", "add", "hourly", cron});
    INFO(added.Describe());
    REQUIRE(added.exit_code == 0);
    ids.push_back(json::parse(added.out)["schedule"]["id"]);
  }
  REQUIRE(ids[0] != ids[1]);
  REQUIRE(flintd.Restart().ok());
  CliResult ls = flintd.RunCli({"--json", "schedule", "ls"});
  REQUIRE(ls.exit_code == 0);
  CHECK(json::parse(ls.out)["schedules"].size() == 2);
  REQUIRE(flintd.RunCli({"schedule", "rm", ids[0]}).exit_code == 0);
  json left = json::parse(flintd.RunCli({"--json", "schedule", "ls"}).out)["schedules"];
  REQUIRE(left.size() == 1);
  CHECK(left[0]["id"] == ids[1]);
  CHECK(left[0]["schedule"] == "30 * * * *");
}

TEST_CASE("Bad cron strings, unknown functions and oversized or excess events are refused",
          "[integration][events]") {
  FlintdProcess flintd({"--event-max-payload", "1024", "--event-queue-depth", "2"});
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "limits", kEchoOrFail);

  CliResult bad_cron = flintd.RunCli({"schedule", "add", "limits", "61 * * * *"});
  CHECK(bad_cron.exit_code == 1);
  CHECK(bad_cron.err.find("minute '61' is out of range") != std::string::npos);
  CHECK(bad_cron.err.find("(400)") != std::string::npos);
  CliResult unknown = flintd.RunCli({"schedule", "add", "missing", "* * * * *"});
  CHECK(unknown.err.find("(404)") != std::string::npos);
  CHECK(flintd.RunCli({"subscribe", "missing", "t"}).err.find("(404)") != std::string::npos);

  CHECK(PostEvent(flintd, "missing", "{}").status == 404);  // as a synchronous call
  CHECK(PostEvent(flintd, "limits", "not json").status == 400);
  CHECK(PostEvent(flintd, "limits", "\"" + std::string(2000, 'x') + "\"").status == 413);

  // Set up before the queue fills, so that the slow events below still run when the topic is
  // published to, however slow the machine.
  DeployJsOrFail(flintd, "roomy", kEchoOrFail);
  REQUIRE(flintd.RunCli({"subscribe", "limits", "busy"}).exit_code == 0);
  REQUIRE(flintd.RunCli({"subscribe", "roomy", "busy"}).exit_code == 0);

  // Two slow events fill the queue (depth counts queued and running events); a third is 429.
  CHECK(PostEvent(flintd, "limits", R"({"sleep_ms": 2500})").status == 202);
  CHECK(PostEvent(flintd, "limits", R"({"sleep_ms": 2500})").status == 202);
  HttpResponse full = PostEvent(flintd, "limits", "{}");
  CHECK(full.status == 429);
  CHECK(full.FindHeader("retry-after") != nullptr);

  // A publish reaching a full subscriber is refused whole: no other subscriber gets it either.
  HttpRequest publish;
  publish.method = "POST";
  publish.target = "/v1/topics/busy";
  publish.headers.push_back({"Authorization", "Bearer " + flintd.token()});
  publish.body = "{}";
  auto refused = flintd.Http(publish);
  REQUIRE(refused.ok());
  CHECK(refused->status == 429);
  CHECK(refused->body.find("subscriber 'limits'") != std::string::npos);
  CHECK(refused->FindHeader("retry-after") != nullptr);
  std::this_thread::sleep_for(300ms);  // time for a wrongly queued delivery to run
  CHECK(CallOrFail(flintd, "GET", "/v1/functions/roomy")["pool"]["invocations"] == 0);
}

// A C++ function that appends each event's JSON to <EVENT_LOG_DIR>/seen.log: the proof, outside
// flintd, that an event ran.
constexpr const char* kRecorder = R"cc(
#include <fcntl.h>
#include <flint/flint.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

  flint::Response Handle(const flint::Request& req, flint::Context&) {
    const char* dir = std::getenv("EVENT_LOG_DIR");
    if (dir == nullptr) return flint::Response::Text("no EVENT_LOG_DIR", 500);
    std::string line = std::string(req.event_json()) + "\n";
    int fd = ::open((std::string(dir) + "/seen.log").c_str(), O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) return flint::Response::Text("cannot open the log", 500);
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    return flint::Response::Text(ok ? "ok" : "short write", ok ? 200 : 500);
  }

  FLINT_HANDLER(Handle)
)cc";

TEST_CASE("Every accepted event runs at least once across kill -9 of flintd",
          "[integration][events][crash]") {
  // The recorder writes to a host directory, which the worker sandbox would hide: this test
  // is about the queue's durability, so it runs without isolation.
  TempDir logs("flint-ev-crash");
  FlintdProcess flintd({"--no-isolation", "--event-retry-base", "50ms"});
  StartOrFail(flintd);
  TempDir src("flint-ev-src");
  std::string path = src.Write("recorder.cc", kRecorder);
  CliResult deployed = flintd.RunCli(
      {"deploy", "recorder", path, "--env", "EVENT_LOG_DIR=" + logs.path(), "--max-instances", "4"},
      {}, 180s);
  INFO(deployed.Describe() << flintd.LogTail());
  REQUIRE(deployed.exit_code == 0);

  std::mutex mu;
  std::string url = flintd.url();  // guarded by mu; "" while flintd is down
  std::set<int> acked;             // guarded by mu
  std::atomic<bool> done{false};
  std::atomic<int> next{0};
  std::thread client([&] {
    std::unique_ptr<flint::client::HttpClient> http;
    std::string connected_to;
    while (!done) {
      std::string target;
      {
        std::lock_guard lock(mu);
        target = url;
      }
      if (target.empty()) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (target != connected_to || !http) {
        auto parsed = flint::client::ParseHttpUrl(target);
        if (!parsed.ok()) continue;
        flint::client::HttpClientOptions options;
        options.io_timeout_ms = 5'000;
        http = std::make_unique<flint::client::HttpClient>(*parsed, options);
        connected_to = target;
      }
      int n = next++;
      HttpRequest request;
      request.method = "POST";
      request.target = "/fn/recorder";
      request.headers.push_back({"X-Flint-Invocation-Type", "Event"});
      request.body = "{\"n\":" + std::to_string(n) + "}";
      auto r = http->Send(request);
      if (!r.ok()) {
        http.reset();  // flintd died: no 202, so no promise was made for n
        continue;
      }
      if (r->status == 202) {
        std::lock_guard lock(mu);
        acked.insert(n);
      }
    }
  });

  std::mt19937 rng(12345);
  constexpr int kKills = 10;
  for (int round = 0; round < kKills; ++round) {
    // Let the client submit for a random while, then kill flintd mid-stream.
    size_t before;
    {
      std::lock_guard lock(mu);
      before = acked.size();
    }
    WaitUntil(
        [&] {
          std::lock_guard lock(mu);
          return acked.size() > before + 50;
        },
        10s, 1ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    {
      std::lock_guard lock(mu);
      url.clear();
    }
    flintd.Kill9();
    flint::Status restarted = flintd.Start();
    INFO("round " << round << ": " << restarted.ToString());
    REQUIRE(restarted.ok());
    std::lock_guard lock(mu);
    url = flintd.url();
  }
  // One more stretch of traffic, then stop submitting.
  std::this_thread::sleep_for(300ms);
  done = true;
  client.join();

  std::set<int> acked_copy;
  {
    std::lock_guard lock(mu);
    acked_copy = acked;
  }
  INFO("accepted " << acked_copy.size() << " of " << next.load() << " submitted");
  // Enough accepted events across the kills to mean something, also in a sanitizer build.
  REQUIRE(acked_copy.size() >= 200);
  // Every accepted event ran (is in the recorder's log) once flintd catches up; none is stuck.
  std::set<int> missing;
  bool all = WaitUntil(
      [&] {
        std::ifstream in(logs.path() + "/seen.log");
        std::set<int> seen;
        std::string line;
        while (std::getline(in, line)) {
          auto j = json::parse(line, nullptr, false);
          if (j.is_object() && j.contains("n")) seen.insert(j["n"].get<int>());
        }
        missing.clear();
        for (int n : acked_copy) {
          if (seen.count(n) == 0) missing.insert(n);
        }
        return missing.empty();
      },
      40s, 200ms);
  INFO(missing.size() << " accepted event(s) never ran, e.g. n="
                      << (missing.empty() ? -1 : *missing.begin()) << "\nflintd log:\n"
                      << flintd.LogTail());
  CHECK(all);
  CHECK(CallOrFail(flintd, "GET", "/v1/dlq/recorder")["dead_letters"].empty());
}
