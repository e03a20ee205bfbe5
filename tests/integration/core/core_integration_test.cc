// flintd, flint-worker and the flint CLI together, as a user runs them. Each TEST_CASE starts
// its own flintd (tests/support/flintd_fixture.h) on a free port with a fresh data directory.
// Waits for a state poll with generous bounds; nothing asserts on latency.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::client::Header;
using flint::client::HttpResponse;
using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::GetOrFail;
using flint::testing::JsonOrFail;
using flint::testing::PostOrFail;
using flint::testing::ReadFile;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// A handler that reports which worker served it: the id is drawn once per loaded module.
const char* kWorkerIdFunction =
    R"(const workerId = Math.random().toString(36).slice(2) + "-" + Date.now().toString(36);
let count = 0;
export const handler = async () => {
  count += 1;
  return { worker: workerId, count };
};
)";

struct WorkerAnswer {
  std::string worker;
  int count = 0;
};

WorkerAnswer CallWorkerId(const FlintdProcess& flintd, const std::string& name) {
  HttpResponse r = GetOrFail(flintd, "/fn/" + name);
  INFO(r.status << " " << r.body << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(r.status == 200);
  json j = JsonOrFail(r.body);
  return {j.value("worker", ""), j.value("count", 0)};
}

// Sends `head` (request line and headers, no body) on a fresh connection to flintd and returns
// every byte flintd sends until it closes the connection (or 60 s pass).
std::string SendHeadOnly(const FlintdProcess& flintd, const std::string& head) {
  std::string url = flintd.url();  // http://127.0.0.1:PORT
  int port = std::stoi(url.substr(url.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  std::string received;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    received.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return received;
}

}  // namespace

TEST_CASE("The example functions deploy with the CLI and answer over HTTP", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  const std::string examples = flint::testing::FunctionsDir();

  CliResult hello = flintd.RunCli({"deploy", "hello", examples + "/hello"});
  INFO(hello.Describe() << "\nflintd log:\n" << flintd.LogTail());
  REQUIRE(hello.exit_code == 0);
  CHECK(hello.out.rfind("deployed hello version 1 (node, ", 0) == 0);
  CHECK(hello.out.find("invoke: curl " + flintd.url() + "/fn/hello") != std::string::npos);
  REQUIRE(flintd.RunCli({"deploy", "echo", examples + "/echo"}).exit_code == 0);
  REQUIRE(flintd.RunCli({"deploy", "json-transform", examples + "/json-transform"}).exit_code == 0);

  SECTION("hello greets ?name=") {
    HttpResponse r = GetOrFail(flintd, "/fn/hello?name=Ada");
    CHECK(r.status == 200);
    CHECK(r.body == "Hello, Ada!\n");
    CHECK(r.FindHeader("X-Flint-Request-Id") != nullptr);
    CHECK(GetOrFail(flintd, "/fn/hello").body == "Hello, world!\n");
  }
  SECTION("echo returns the event it received") {
    flint::client::HttpRequest request;
    request.method = "POST";
    request.target = "/fn/echo/some/path?x=1";
    request.headers = {{"Content-Type", "application/json"}, {"X-Custom", "yes"}};
    request.body = R"({"hello":"world"})";
    auto r = flintd.Http(request);
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 200);
    json j = JsonOrFail(r->body);
    CHECK(j["event"]["rawPath"] == "/some/path");
    CHECK(j["event"]["rawQueryString"] == "x=1");
    CHECK(j["event"]["requestContext"]["http"]["method"] == "POST");
    CHECK(j["event"]["headers"]["x-custom"] == "yes");
    CHECK(j["event"]["body"] == R"({"hello":"world"})");
    CHECK(j["context"]["functionName"] == "echo");
    const std::string* id = r->FindHeader("x-flint-request-id");
    REQUIRE(id != nullptr);
    CHECK(j["context"]["requestId"] == *id);
  }
  SECTION("json-transform computes an order summary") {
    HttpResponse r = PostOrFail(flintd, "/fn/json-transform",
                                ReadFile(examples + "/json-transform/sample.json"));
    INFO(r.body);
    REQUIRE(r.status == 200);
    json j = JsonOrFail(r.body);
    CHECK(j["count"] == 12);
    CHECK(j["total"] == 330);
    CHECK(j["customer"] == "cust-42");
    CHECK(j["items"][1]["name"] == "WIDGET-1");
    CHECK(PostOrFail(flintd, "/fn/json-transform", "{not json").status == 400);
  }
  SECTION("flint invoke prints the response body") {
    CliResult r = flintd.RunCli({"invoke", "echo", "--data", R"({"a":1})", "--path", "/x"});
    INFO(r.Describe());
    REQUIRE(r.exit_code == 0);
    json j = JsonOrFail(r.out);
    CHECK(j["event"]["rawPath"] == "/x");
    CHECK(j["event"]["body"] == R"({"a":1})");
    CliResult greet = flintd.RunCli({"invoke", "hello", "--path", "/?name=Bob"});
    CHECK(greet.out == "Hello, Bob!\n");
  }
}

TEST_CASE("The management API needs the admin token, functions and health do not",
          "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  REQUIRE_FALSE(flintd.token().empty());
  auto token_perms = std::filesystem::status(flintd.data_dir() + "/admin.token").permissions();
  CHECK((token_perms & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  HttpResponse health = GetOrFail(flintd, "/healthz");
  CHECK(health.status == 200);
  CHECK(JsonOrFail(health.body)["status"] == "ok");

  HttpResponse none = GetOrFail(flintd, "/v1/functions");
  CHECK(none.status == 401);
  CHECK(JsonOrFail(none.body)["error"]["code"] == "unauthenticated");
  HttpResponse wrong = GetOrFail(flintd, "/v1/functions", {{"Authorization", "Bearer wrong"}});
  CHECK(wrong.status == 401);
  CHECK(JsonOrFail(wrong.body)["error"]["code"] == "unauthenticated");
  HttpResponse right =
      GetOrFail(flintd, "/v1/functions", {{"Authorization", "Bearer " + flintd.token()}});
  CHECK(right.status == 200);
  CHECK(JsonOrFail(right.body)["functions"].is_array());

  DeployJsOrFail(flintd, "open", "export const handler = async () => ({ open: true });");
  HttpResponse open = GetOrFail(flintd, "/fn/open");
  CHECK(open.status == 200);
  CHECK(JsonOrFail(open.body)["open"] == true);

  CliResult bad = flintd.RunCli({"ls"}, {{"FLINT_TOKEN", "wrong"}});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("(401)") != std::string::npos);
}

TEST_CASE("A deploy without a valid token is refused with 401 before its body is read",
          "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  // 200 MiB announced (within the archive deploy limit) and never sent: flintd can answer only
  // if it decides on the headers alone; waiting for the body would end in a 408 after 30 s.
  const std::string head =
      "PUT /v1/functions/big HTTP/1.1\r\nHost: flintd\r\n"
      "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 209715200\r\n";
  for (const std::string& auth : {std::string(), std::string("Authorization: Bearer wrong\r\n")}) {
    // With Expect: 100-continue a client sends nothing before flintd agrees to read the body.
    for (const std::string& expect : {std::string(), std::string("Expect: 100-continue\r\n")}) {
      INFO(auth << expect);
      std::string answer = SendHeadOnly(flintd, head + auth + expect + "\r\n");
      INFO(answer << "\nflintd log:\n" << flintd.LogTail());
      CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
      CHECK(answer.find("100 Continue") == std::string::npos);
      CHECK(answer.find("www-authenticate: Bearer") != std::string::npos);
      CHECK(answer.find("\"unauthenticated\"") != std::string::npos);
      CHECK(answer.find("connection: close") != std::string::npos);
    }
  }
  // Nothing was deployed, and flintd goes on serving authorised requests.
  HttpResponse list =
      GetOrFail(flintd, "/v1/functions", {{"Authorization", "Bearer " + flintd.token()}});
  CHECK(list.status == 200);
  CHECK(JsonOrFail(list.body)["functions"].empty());
  DeployJsOrFail(flintd, "after", "export const handler = async () => ({ ok: true });");
  CHECK(GetOrFail(flintd, "/fn/after").status == 200);
}

TEST_CASE("flint ls, describe and rm manage deployed functions", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "alpha", "export const handler = async () => 'a';",
                 {"--memory", "256", "--timeout", "2s", "--env", "GREETING=hi"});
  DeployJsOrFail(flintd, "beta", "export default async () => 'b';");

  CliResult ls = flintd.RunCli({"ls"});
  INFO(ls.Describe());
  REQUIRE(ls.exit_code == 0);
  CHECK(ls.out.rfind("NAME", 0) == 0);
  CHECK(ls.out.find("\nalpha ") != std::string::npos);
  CHECK(ls.out.find("\nbeta ") != std::string::npos);
  CHECK(ls.out.find("256 MB") != std::string::npos);

  CliResult ls_json = flintd.RunCli({"--json", "ls"});
  REQUIRE(ls_json.exit_code == 0);
  CHECK(JsonOrFail(ls_json.out)["functions"].size() == 2);

  CliResult describe = flintd.RunCli({"describe", "alpha"});
  INFO(describe.Describe());
  REQUIRE(describe.exit_code == 0);
  CHECK(describe.out.find("name:") != std::string::npos);
  CHECK(describe.out.find("256 MB") != std::string::npos);
  CHECK(describe.out.find("2s") != std::string::npos);
  CHECK(describe.out.find("GREETING=hi") != std::string::npos);
  CHECK(describe.out.find("versions:") != std::string::npos);

  auto details = flintd.Client().Describe("alpha");
  REQUIRE(details.ok());
  CHECK(details->value.function.memory_mb == 256);
  CHECK(details->value.function.timeout_ms == 2000);
  CHECK(details->value.function.env.at("GREETING") == "hi");
  CHECK(details->value.versions.size() == 1);

  CliResult rm = flintd.RunCli({"rm", "alpha"});
  INFO(rm.Describe());
  REQUIRE(rm.exit_code == 0);
  CHECK(rm.out == "deleted alpha\n");
  CHECK(GetOrFail(flintd, "/fn/alpha").status == 404);
  CliResult gone = flintd.RunCli({"describe", "alpha"});
  CHECK(gone.exit_code == 1);
  CHECK(gone.err.find("(404)") != std::string::npos);
  CHECK(JsonOrFail(flintd.RunCli({"ls", "--json"}).out)["functions"].size() == 1);
  CHECK(GetOrFail(flintd, "/fn/beta").status == 200);
}

TEST_CASE("Invalid function names are refused by the CLI and by flintd", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  TempDir dir("flint-fn");
  std::string file = dir.Write("index.mjs", "export const handler = async () => 1;");
  CliResult cli = flintd.RunCli({"deploy", "Bad_Name", file});
  CHECK(cli.exit_code == 2);
  CHECK(cli.err.find("a-z, 0-9") != std::string::npos);

  flint::client::HttpRequest put;
  put.method = "PUT";
  put.target = "/v1/functions/Bad_Name";
  put.headers = {{"Authorization", "Bearer " + flintd.token()},
                 {"Content-Type", "application/json"}};
  put.body = R"({"files":{"index.mjs":"ZXhwb3J0IGNvbnN0IGhhbmRsZXIgPSBhc3luYyAoKSA9PiAxOw=="}})";
  auto r = flintd.Http(put);
  REQUIRE(r.ok());
  INFO(r->body);
  CHECK(r->status == 400);
  json j = JsonOrFail(r->body);
  CHECK(j["error"]["code"] == "invalid_argument");
  CHECK(j["error"]["message"].get<std::string>().find("a-z") != std::string::npos);
}

TEST_CASE("An unknown function is a 404", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  HttpResponse r = GetOrFail(flintd, "/fn/nope");
  CHECK(r.status == 404);
  CHECK(JsonOrFail(r.body)["error"]["code"] == "not_found");
  CliResult cli = flintd.RunCli({"invoke", "nope"});
  CHECK(cli.exit_code == 1);
  CHECK(cli.err.rfind("flint: 404: ", 0) == 0);
  CHECK(cli.out.empty());
}

TEST_CASE("A handler that throws answers 500 with the error's type and message", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "thrower",
                 "export const handler = async () => { throw new TypeError('bad input: 42'); };");
  HttpResponse r = GetOrFail(flintd, "/fn/thrower");
  INFO(r.body);
  CHECK(r.status == 500);
  json j = JsonOrFail(r.body);
  CHECK(j["error"]["code"] == "function_error");
  CHECK(j["error"]["type"] == "TypeError");
  CHECK(j["error"]["message"].get<std::string>().find("bad input: 42") != std::string::npos);
  CliResult cli = flintd.RunCli({"invoke", "thrower"});
  CHECK(cli.exit_code == 1);
  CHECK(cli.err.find("flint: 500: ") == 0);
  CHECK(cli.err.find("bad input: 42") != std::string::npos);
}

TEST_CASE("A handler past its timeout answers 504 and the function keeps working",
          "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "slow", R"(export const handler = async (event) => {
  const mode = event.queryStringParameters?.mode;
  if (mode === "spin") { for (;;) {} }
  if (mode === "hang") { await new Promise(() => {}); }
  return { ok: true };
};
)",
                 {"--timeout", "300ms"});
  for (const char* mode : {"spin", "hang"}) {
    INFO("mode " << mode);
    HttpResponse r = GetOrFail(flintd, std::string("/fn/slow?mode=") + mode);
    INFO(r.body << "\nflintd log:\n" << flintd.LogTail());
    CHECK(r.status == 504);
    CHECK(JsonOrFail(r.body)["error"]["code"] == "function_timeout");
    HttpResponse after = GetOrFail(flintd, "/fn/slow");
    CHECK(after.status == 200);
    CHECK(JsonOrFail(after.body)["ok"] == true);
  }
}

TEST_CASE("A syntax error fails the deploy with file and line", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  CliResult r =
      flintd.DeployJs("broken", "export const handler = async () => {\n  return 1;\n}}\n");
  INFO(r.Describe());
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("flint: ", 0) == 0);
  CHECK(r.err.find("index.mjs:3") != std::string::npos);
  CHECK(r.err.find("(400)") != std::string::npos);
  CHECK(GetOrFail(flintd, "/fn/broken").status == 404);

  CliResult no_handler = flintd.DeployJs("nohandler", "export const other = 1;\n");
  INFO(no_handler.Describe());
  CHECK(no_handler.exit_code == 1);
  CHECK(no_handler.err.find("handler") != std::string::npos);
}

TEST_CASE("console.log output is visible with flint logs", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "talker", R"(export const handler = async (event) => {
  console.log("marker", event.queryStringParameters?.id);
  console.error("oops", 1);
  return "logged";
};
)");
  REQUIRE(GetOrFail(flintd, "/fn/talker?id=abc123").status == 200);
  CliResult logs;
  bool seen = flint::testing::WaitUntil(
      [&] {
        logs = flintd.RunCli({"logs", "talker"});
        return logs.out.find("marker abc123") != std::string::npos;
      },
      10s, 100ms);
  INFO(logs.Describe());
  CHECK(seen);
  CHECK(logs.out.find("oops 1") != std::string::npos);
  CliResult json_logs = flintd.RunCli({"logs", "talker", "--json", "--limit", "1"});
  REQUIRE(json_logs.exit_code == 0);
  CHECK(JsonOrFail(json_logs.out)["logs"].size() == 1);
}

TEST_CASE("Sequential calls reuse a warm worker", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "warm", kWorkerIdFunction);
  WorkerAnswer first = CallWorkerId(flintd, "warm");
  WorkerAnswer second = CallWorkerId(flintd, "warm");
  CHECK_FALSE(first.worker.empty());
  CHECK(second.worker == first.worker);
  CHECK(second.count == first.count + 1);
}

TEST_CASE("An idle function scales to zero and cold-starts again", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "sleepy", kWorkerIdFunction, {"--keep-alive", "300ms"});
  WorkerAnswer first = CallWorkerId(flintd, "sleepy");
  flint::client::FlintClient client = flintd.Client();
  uint64_t cold_before = 0;
  bool zero = flint::testing::WaitUntil(
      [&] {
        auto d = client.Describe("sleepy");
        if (!d.ok()) return false;
        cold_before = d->value.pool.cold_starts;
        return d->value.pool.workers() == 0;
      },
      15s, 100ms);
  INFO("flintd log:\n" << flintd.LogTail());
  REQUIRE(zero);
  // The pool let go of its worker; the process itself exits once it has finished stopping.
  CHECK(flint::testing::WaitUntil(
      [&] { return flintd.FindWorkers("flint-worker sleepy@").empty(); }, 10s));
  HttpResponse cold = GetOrFail(flintd, "/fn/sleepy");
  REQUIRE(cold.status == 200);
  const std::string* cold_header = cold.FindHeader("X-Flint-Cold-Start");
  CHECK((cold_header != nullptr && *cold_header == "true"));
  WorkerAnswer second{JsonOrFail(cold.body).value("worker", ""),
                      JsonOrFail(cold.body).value("count", 0)};
  CHECK(second.worker != first.worker);
  CHECK(second.count == 1);
  auto after = client.Describe("sleepy");
  REQUIRE(after.ok());
  CHECK(after->value.pool.cold_starts == cold_before + 1);
}

TEST_CASE("A worker killed with SIGKILL is replaced", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "victim", kWorkerIdFunction);
  WorkerAnswer first = CallWorkerId(flintd, "victim");
  // The serving worker of version 1 (the worker that checked the deploy may still be exiting).
  std::vector<pid_t> workers = flintd.FindWorkers("flint-worker victim@1");
  INFO("processes under flintd: " << [&] {
    std::string all;
    for (pid_t p : flint::testing::Descendants(flintd.pid())) {
      all += std::to_string(p) + " '" + flint::testing::ProcessCmdline(p) + "'; ";
    }
    return all;
  }());
  REQUIRE(workers.size() == 1);
  REQUIRE(::kill(workers[0], SIGKILL) == 0);
  // flintd reaps the worker once it notices; then the next call must get a fresh one.
  bool reaped = flint::testing::WaitUntil(
      [&] { return !std::filesystem::exists("/proc/" + std::to_string(workers[0])); }, 10s);
  CHECK(reaped);
  // The worker's sandbox parents pass its death on to flintd a moment later; the next call is
  // meant for a fresh worker, so wait until flintd has let the dead one go.
  flint::client::FlintClient client = flintd.Client();
  CHECK(flint::testing::WaitUntil(
      [&] {
        auto d = client.Describe("victim");
        return d.ok() && d->value.pool.workers() == 0;
      },
      10s));
  WorkerAnswer second = CallWorkerId(flintd, "victim");
  CHECK(second.worker != first.worker);
  CHECK(second.count == 1);
}

TEST_CASE("Deployed functions survive a restart of flintd", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "durable",
                 "export const handler = async () => ({ statusCode: 200, body: 'still here' });");
  REQUIRE(GetOrFail(flintd, "/fn/durable").body == "still here");
  std::string token = flintd.token();
  CHECK(flintd.Stop() == 0);
  flint::Status restarted = flintd.Start();
  INFO(restarted.ToString());
  REQUIRE(restarted.ok());
  CHECK(flintd.token() == token);
  HttpResponse r = GetOrFail(flintd, "/fn/durable");
  INFO(r.body << "\nflintd log:\n" << flintd.LogTail());
  CHECK(r.status == 200);
  CHECK(r.body == "still here");
  CliResult ls = flintd.RunCli({"ls"});
  CHECK(ls.out.find("durable") != std::string::npos);
}

TEST_CASE("flintd killed with SIGKILL takes its workers along and restarts with its functions",
          "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "crashy", kWorkerIdFunction);
  CallWorkerId(flintd, "crashy");
  std::vector<pid_t> workers = flintd.FindWorkers("flint-worker");
  REQUIRE_FALSE(workers.empty());
  flintd.Kill9();
  bool workers_gone = flint::testing::WaitUntil(
      [&] {
        for (pid_t p : workers) {
          if (flint::testing::ProcessAlive(p)) return false;
        }
        return true;
      },
      5s);
  CHECK(workers_gone);
  flint::Status restarted = flintd.Start();
  INFO(restarted.ToString());
  REQUIRE(restarted.ok());
  WorkerAnswer answer = CallWorkerId(flintd, "crashy");
  CHECK(answer.count == 1);
}

TEST_CASE("A new deploy switches traffic to the new version", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "flip",
                 "export const handler = async () => ({ statusCode: 200, body: 'v1' });");
  REQUIRE(GetOrFail(flintd, "/fn/flip").body == "v1");
  CliResult second = flintd.DeployJs(
      "flip", "export const handler = async () => ({ statusCode: 200, body: 'v2' });");
  INFO(second.Describe());
  REQUIRE(second.exit_code == 0);
  CHECK(second.out.rfind("deployed flip version 2 ", 0) == 0);
  CHECK(GetOrFail(flintd, "/fn/flip").body == "v2");
  CHECK(GetOrFail(flintd, "/fn/flip").body == "v2");
  auto details = flintd.Client().Describe("flip");
  REQUIRE(details.ok());
  CHECK(details->value.function.version == 2);
  CHECK(details->value.versions.size() == 2);
}

TEST_CASE("SIGTERM stops flintd cleanly with its workers", "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "bye", kWorkerIdFunction);
  CallWorkerId(flintd, "bye");
  std::vector<pid_t> tree = flint::testing::Descendants(flintd.pid());
  CHECK_FALSE(tree.empty());
  std::string data_dir = flintd.data_dir();
  CHECK(flintd.Stop() == 0);
  bool all_gone = flint::testing::WaitUntil(
      [&] {
        for (pid_t p : tree) {
          if (flint::testing::ProcessAlive(p)) return false;
        }
        return true;
      },
      5s);
  CHECK(all_gone);
  CHECK_FALSE(std::filesystem::exists(data_dir + "/flintd.url"));
}

TEST_CASE("A second flintd on a data directory in use is refused and the first goes on",
          "[integration]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "still", kWorkerIdFunction);
  CallWorkerId(flintd, "still");
  CliResult second = flint::testing::RunProcess(
      flint::testing::FlintdBinary(), {"--listen", "127.0.0.1:0", "--data-dir", flintd.data_dir()},
      {}, 30s);
  INFO(second.Describe());
  CHECK(second.exit_code != 0);
  CHECK(second.err.find("another flintd is already using") != std::string::npos);
  CallWorkerId(flintd, "still");
  // Stopped, it leaves the directory free for the next one.
  CHECK(flintd.Stop() == 0);
  StartOrFail(flintd);
  CallWorkerId(flintd, "still");
}

TEST_CASE("The real flint binary reports an unreachable flintd with a hint", "[integration]") {
  FlintdProcess flintd;  // never started: its data dir has no flintd.url
  CliResult r = flintd.RunCli({"ls"}, {{"FLINT_URL", "http://127.0.0.1:1"}, {"FLINT_TOKEN", "t"}});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("cannot reach flintd at http://127.0.0.1:1") != std::string::npos);
  CHECK(r.err.find("flint up") != std::string::npos);
}
