// Faults of the machine under a real flintd (docs/operations.md, "Faults"): each one gets a
// clear, stable answer (503 with Retry-After where retrying helps), /readyz names it, the log
// says it once, and flintd recovers by itself when it clears. Each TEST_CASE starts its own
// flintd; those that need a small file system mount a tmpfs on the data directory (root only).
// Every wait polls a state with a generous bound; nothing asserts on latency.
#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/support/flintd_fixture.h"
#include "tests/support/ledger_ids.h"
#include "tests/support/require.h"
#include "tests/support/skip_unless_root.h"
#include "tests/support/small_fs.h"

using flint::client::HttpRequest;
using flint::client::HttpResponse;
using flint::testing::FlintdProcess;
using flint::testing::LedgerIds;
using flint::testing::SmallFs;
using flint::testing::StartOrFail;
using flint::testing::WaitUntil;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kEcho = "export const handler = async (event) => ({ got: event });\n";

HttpResponse Send(const FlintdProcess& flintd, const std::string& method, const std::string& target,
                  const std::string& body, std::vector<flint::client::Header> headers = {}) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.headers = std::move(headers);
  request.headers.push_back({"Content-Type", "application/json"});
  request.body = body;
  auto r = flintd.Http(request);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

HttpResponse PostEvent(const FlintdProcess& flintd, const std::string& name) {
  return Send(flintd, "POST", "/fn/" + name, R"({"n": 1})", {{"X-Flint-Invocation-Type", "Event"}});
}

int ReadyzStatus(const FlintdProcess& flintd) {
  auto r = flintd.HttpGet("/readyz");
  return r.ok() ? r->status : 0;
}

// How many times `needle` occurs in flintd's log.
size_t LogCount(const FlintdProcess& flintd, const std::string& needle) {
  std::string log = flintd.LogTail(1 << 20);
  size_t n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) n++;
  return n;
}

}  // namespace

TEST_CASE("flintd on a file system too small for its journal exits naming the space it needs",
          "[faults]") {
  FLINT_SKIP_UNLESS_ROOT("tmpfs mounts");
  FlintdProcess flintd;
  SmallFs fs(flintd.data_dir(), 12u << 20);  // the 16 MiB journal cannot fit
  REQUIRE(fs.ok());
  flint::Status started = flintd.Start();
  INFO(started.message());
  REQUIRE_FALSE(started.ok());
  // Before, the first store into the mapped journal past the file system's end was a SIGBUS
  // (exit status 135).
  CHECK(started.message().find("flintd exited (status 2)") != std::string::npos);
  CHECK(started.message().find("not enough space for the ledger journal") != std::string::npos);
  CHECK(started.message().find("needs 16.0 MiB") != std::string::npos);
}

TEST_CASE("flintd refuses a read-only data directory with a clear error", "[faults]") {
  FLINT_SKIP_UNLESS_ROOT("tmpfs mounts");
  FlintdProcess flintd;
  SmallFs fs(flintd.data_dir(), 64u << 20);
  REQUIRE(fs.ok());
  REQUIRE(fs.SetReadOnly(true));
  flint::Status started = flintd.Start();
  INFO(started.message());
  REQUIRE_FALSE(started.ok());
  CHECK(started.message().find("flintd exited (status 2)") != std::string::npos);
  CHECK(started.message().find("Read-only file system") != std::string::npos);
}

TEST_CASE("A full disk answers async work and deploys 503 with Retry-After, then recovers",
          "[faults]") {
  FLINT_SKIP_UNLESS_ROOT("tmpfs mounts");
  FlintdProcess flintd;
  SmallFs fs(flintd.data_dir(), 96u << 20);
  REQUIRE(fs.ok());
  StartOrFail(flintd);
  flint::testing::DeployJsOrFail(flintd, "echo", kEcho);
  std::set<std::string> answered;  // request ids of the calls answered 200
  auto call = [&] {
    HttpResponse r = Send(flintd, "POST", "/fn/echo", R"({"n": 2})");
    if (r.status == 200) {
      const std::string* id = r.FindHeader("x-flint-request-id");
      REQUIRE(id != nullptr);
      answered.insert(*id);
    }
    return r;
  };
  REQUIRE(call().status == 200);
  CHECK(ReadyzStatus(flintd) == 200);

  REQUIRE(fs.Fill());
  // The probe notices within a second or so; the first failed write may notice sooner.
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 503; }, 15s));
  HttpResponse readyz = flintd.HttpGet("/readyz").value();
  INFO(readyz.body);
  CHECK(readyz.FindHeader("retry-after") != nullptr);
  json body = json::parse(readyz.body);
  CHECK(body["ready"] == false);
  CHECK(body["checks"]["disk"]["ready"] == false);
  CHECK(body["reason"].get<std::string>().find("full") != std::string::npos);
  CHECK(flintd.HttpGet("/healthz")->status == 200);  // liveness is not readiness

  for (int i = 0; i < 5; ++i) {
    HttpResponse refused = PostEvent(flintd, "echo");
    INFO(refused.status << " " << refused.body);
    CHECK(refused.status == 503);
    CHECK(refused.FindHeader("retry-after") != nullptr);
    CHECK(refused.body.find("unavailable") != std::string::npos);
  }
  auto deploy = flintd.DeployJs("other", kEcho);
  INFO(deploy.Describe());
  CHECK(deploy.exit_code != 0);
  CHECK((deploy.err + deploy.out).find("(503)") != std::string::npos);
  // Synchronous calls go on: their records wait in the preallocated journal.
  for (int i = 0; i < 3; ++i) CHECK(call().status == 200);
  CHECK(LogCount(flintd, "not ready (disk)") == 1);

  fs.Unfill();
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 200; }, 15s));
  CHECK(LogCount(flintd, "ready again (disk)") == 1);
  CHECK(LogCount(flintd, "not ready (disk)") == 1);
  HttpResponse accepted = PostEvent(flintd, "echo");
  CHECK(accepted.status == 202);
  flint::testing::DeployJsOrFail(flintd, "other", kEcho);
  CHECK(call().status == 200);

  // One ledger record per answered call, the ones answered while the disk was full included.
  REQUIRE(flintd.Stop() == 0);
  std::set<std::string> ledger = LedgerIds(flintd.data_dir() + "/flint.db");
  for (const std::string& id : answered) CHECK(ledger.count(id) == 1);
}

TEST_CASE("SQLite locked by another process: async work answers 503, /readyz names the store",
          "[faults]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  flint::testing::DeployJsOrFail(flintd, "echo", kEcho);
  REQUIRE(PostEvent(flintd, "echo").status == 202);

  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((flintd.data_dir() + "/flint.db").c_str(), &db, SQLITE_OPEN_READWRITE,
                          nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);
  REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  // flintd waits for the lock up to its busy timeout (5 s), then gives up on the write.
  HttpResponse refused = PostEvent(flintd, "echo");
  INFO(refused.status << " " << refused.body);
  CHECK(refused.status == 503);
  CHECK(refused.FindHeader("retry-after") != nullptr);
  CHECK(refused.body.find("locked") != std::string::npos);
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 503; }, 20s));
  json body = json::parse(flintd.HttpGet("/readyz")->body);
  INFO(body.dump());
  CHECK(body["checks"]["store"]["ready"] == false);
  // Synchronous calls do not wait for the store.
  CHECK(Send(flintd, "POST", "/fn/echo", "{}").status == 200);

  REQUIRE(sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 200; }, 20s));
  CHECK(PostEvent(flintd, "echo").status == 202);
  CHECK(LogCount(flintd, "not ready (store)") == 1);
  CHECK(LogCount(flintd, "ready again (store)") == 1);
}

TEST_CASE("A worker binary that cannot be run makes flintd not ready until it is back",
          "[faults]") {
  // A copy of flint-worker that the test makes unexecutable and executable again.
  flint::testing::TempDir bin;
  std::string real = flint::testing::FlintdBinary();
  std::string dir = real.substr(0, real.rfind('/'));
  std::string worker = dir + "/../runtime/flint-worker";
  std::string copy = bin.path() + "/flint-worker";
  REQUIRE(flint::testing::RunProcess("/bin/cp", {worker, copy}, {}).exit_code == 0);
  // No pre-warmed workers (the copy has none of the files a running worker finds beside it)
  // and no isolation (which wants flint-build beside flint-worker): only the probe is tested.
  FlintdProcess flintd({"--worker-path", copy, "--no-isolation", "--prewarm", "0", "--prewarm-node",
                        "0", "--prewarm-cpp", "0"});
  StartOrFail(flintd);
  CHECK(ReadyzStatus(flintd) == 200);

  REQUIRE(::chmod(copy.c_str(), 0644) == 0);
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 503; }, 15s));
  json body = json::parse(flintd.HttpGet("/readyz")->body);
  INFO(body.dump());
  CHECK(body["checks"]["worker"]["ready"] == false);
  CHECK(body["reason"].get<std::string>().find(copy) != std::string::npos);

  REQUIRE(::chmod(copy.c_str(), 0755) == 0);
  REQUIRE(WaitUntil([&] { return ReadyzStatus(flintd) == 200; }, 15s));
  CHECK(LogCount(flintd, "not ready (worker)") == 1);
  CHECK(LogCount(flintd, "ready again (worker)") == 1);
}
