// Observability end to end. GET /metrics: a known sequence of invocations (a cold start, warm
// ones, an error, a timeout) and the metric values it must give, the admin token, and the page
// accepted by `promtool check metrics`. No assertion on latency: durations are checked by count
// only. Traces: the W3C traceparent an invocation carries to the function, its logs and the
// response.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/flintd_fixture.h"
#include "tests/support/require.h"

using flint::testing::CliResult;
using flint::testing::DeployJsOrFail;
using flint::testing::FlintdProcess;
using flint::testing::StartOrFail;
using flint::testing::TempDir;
using namespace std::chrono_literals;

namespace {

// Answers "ok", throws for the body "error", and outlives its 1 s timeout for "slow".
const char* kCode =
    "export const handler = async (event) => {\n"
    "  if (event.body === 'error') throw new Error('asked to fail');\n"
    "  if (event.body === 'slow') await new Promise((r) => setTimeout(r, 5000));\n"
    "  return 'ok';\n"
    "};\n";

std::string Scrape(const FlintdProcess& flintd) {
  auto r = flintd.HttpGet("/metrics", {{"authorization", "Bearer " + flintd.token()}});
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
  bool prometheus_type = false;
  for (const auto& [name, value] : r->headers) {
    if (name == "content-type") prometheus_type = value.rfind("text/plain; version=0.0.4", 0) == 0;
  }
  CHECK(prometheus_type);
  return r->body;
}

// The page has `line` as a whole line.
bool HasLine(const std::string& page, const std::string& line) {
  return ("\n" + page).find("\n" + line + "\n") != std::string::npos;
}

bool HasHeader(const flint::client::HttpResponse& r, const std::string& header) {
  for (const auto& [name, value] : r.headers) {
    if (name == header) return true;
  }
  return false;
}

std::string ReadDoc(const std::string& rel) {
  std::ifstream in(std::string(FLINT_DOCS_DIR) + "/" + rel);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The metric families a text names (flint_* and process_*), histogram suffixes removed.
std::set<std::string> FamiliesNamedIn(const std::string& text) {
  std::set<std::string> out;
  std::regex name_re(R"(\b(flint|process)_[a-z_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name_re);
       it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s(suffix);
      if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
          name.find("_seconds") != std::string::npos) {
        name.resize(name.size() - s.size());
      }
    }
    out.insert(name);
  }
  return out;
}

}  // namespace

TEST_CASE("/metrics counts a known sequence of invocations by outcome", "[metrics]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "m", kCode, {"--timeout", "1s"});
  auto client = flintd.Client();
  auto invoke = [&](const std::string& body) {
    flint::client::InvokeRequest request;
    request.body = body;
    auto r = client.Invoke("m", request);
    REQUIRE(r.ok());
    return *r;
  };
  auto first = invoke("hi");
  CHECK(first.status == 200);
  CHECK(HasHeader(first, "x-flint-cold-start"));
  for (int i = 0; i < 2; ++i) {
    auto warm = invoke("hi");
    CHECK(warm.status == 200);
    CHECK_FALSE(HasHeader(warm, "x-flint-cold-start"));
  }
  CHECK(invoke("error").status >= 500);
  CHECK(invoke("slow").status >= 500);

  std::string page = Scrape(flintd);
  INFO(page);
  const std::string fv = "function=\"m\",version=\"1\"";
  CHECK(HasLine(page, "flint_invocations_total{" + fv + ",outcome=\"ok\"} 3"));
  CHECK(HasLine(page, "flint_invocations_total{" + fv + ",outcome=\"error\"} 1"));
  CHECK(HasLine(page, "flint_invocations_total{" + fv + ",outcome=\"timeout\"} 1"));
  CHECK(HasLine(page, "flint_invocations_total{" + fv + ",outcome=\"throttled\"} 0"));
  CHECK(HasLine(page, "flint_throttles_total{" + fv + "} 0"));
  CHECK(HasLine(page, "flint_invocation_duration_seconds_count{" + fv + "} 5"));
  CHECK(HasLine(page, "flint_invocation_duration_seconds_bucket{" + fv + ",le=\"+Inf\"} 5"));
  // The timeout ran for at least its 1 s limit: four durations at most lie below 1 s.
  CHECK(HasLine(page, "flint_invocation_duration_seconds_bucket{" + fv + ",le=\"0.5\"} 4"));
  CHECK(HasLine(page, "flint_cold_starts_total{" + fv + "} 1"));
  CHECK(HasLine(page, "flint_cold_start_duration_seconds_count{" + fv + "} 1"));
  CHECK(page.find("flint_billed_gigabyte_seconds_total{" + fv + "} ") != std::string::npos);
  CHECK(HasLine(page, "flint_queue_depth{" + fv + "} 0"));
  CHECK(page.find("flint_pool_workers{" + fv + ",state=\"idle\"}") != std::string::npos);
  CHECK(page.find("flint_workers{state=\"generic_ready\"}") != std::string::npos);
  CHECK(page.find("flint_evictions_total 0") != std::string::npos);
  CHECK(HasLine(page, "flint_dead_letters_total 0"));
  for (const char* family :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "process_start_time_seconds", "flint_async_queue_depth", "flint_memory_budget_bytes"}) {
    INFO(family);
    CHECK(page.find(std::string("# TYPE ") + family + " ") != std::string::npos);
  }

  // The documentation and the Grafana dashboard name only metrics the page has, and the
  // documentation names every family the page has.
  std::set<std::string> on_page;
  std::regex type_re(R"(# TYPE ([a-z_]+) )");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), type_re);
       it != std::sregex_iterator(); ++it) {
    on_page.insert((*it)[1].str());
  }
  std::set<std::string> documented = FamiliesNamedIn(ReadDoc("observability.md"));
  for (const std::string& name : documented) {
    INFO("docs/observability.md names " << name);
    CHECK(on_page.count(name) == 1);
  }
  for (const std::string& name : on_page) {
    INFO("the page has " << name);
    CHECK(documented.count(name) == 1);
  }
  std::string dashboard = ReadDoc("grafana/flint.json");
  REQUIRE_FALSE(dashboard.empty());
  for (const std::string& name : FamiliesNamedIn(dashboard)) {
    INFO("docs/grafana/flint.json names " << name);
    CHECK(on_page.count(name) == 1);
  }

  // Prometheus's own parser accepts the page (lint included).
  std::string promtool = FLINT_PROMTOOL_PATH;
  if (promtool.empty()) {
    // tools/test.sh installs promtool (tools/setup.sh) and requires it.
    if (std::getenv("FLINT_REQUIRE_PROMTOOL") != nullptr) FAIL("promtool not found");
    WARN("promtool not found (run tools/setup.sh): the page was not checked by promtool");
    return;
  }
  TempDir dir("flint-metrics");
  std::string path = dir.Write("metrics.txt", page);
  CliResult check = flint::testing::RunProcess(
      "/bin/sh", {"-c", "\"$0\" check metrics < \"$1\"", promtool, path}, {}, 60s);
  INFO(check.Describe());
  CHECK(check.exit_code == 0);
}

TEST_CASE("/metrics needs the admin token; a deleted function's series go", "[metrics]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  auto anonymous = flintd.HttpGet("/metrics");
  REQUIRE(anonymous.ok());
  CHECK(anonymous->status == 401);
  auto wrong = flintd.HttpGet("/metrics", {{"authorization", "Bearer not-the-token"}});
  REQUIRE(wrong.ok());
  CHECK(wrong->status == 401);

  DeployJsOrFail(flintd, "short-lived", "export const handler = async () => 'ok';\n");
  REQUIRE(flintd.Client().Invoke("short-lived", {}).ok());
  CHECK(Scrape(flintd).find("function=\"short-lived\"") != std::string::npos);
  CliResult removed = flintd.RunCli({"rm", "short-lived"});
  INFO(removed.Describe());
  REQUIRE(removed.exit_code == 0);
  CHECK(Scrape(flintd).find("flint_invocations_total{function=\"short-lived\"") ==
        std::string::npos);
}

namespace {

std::string HeaderValue(const flint::client::HttpResponse& r, const std::string& header) {
  for (const auto& [name, value] : r.headers) {
    if (name == header) return value;
  }
  return "";
}

}  // namespace

TEST_CASE("An invocation carries a W3C traceparent to the function, its logs and the response",
          "[trace]") {
  FlintdProcess flintd;
  StartOrFail(flintd);
  DeployJsOrFail(flintd, "traced",
                 "export const handler = async (event) => {\n"
                 "  console.log('traced line');\n"
                 "  return event.headers.traceparent;\n"
                 "};\n");
  auto client = flintd.Client();
  const std::string caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  flint::client::InvokeRequest request;
  request.headers = {{"traceparent", caller}};
  auto joined = client.Invoke("traced", request);
  REQUIRE(joined.ok());
  REQUIRE(joined->status == 200);
  // The function sees the caller's trace with flintd's span of it, and the response says so.
  std::string seen = joined->body;
  INFO("function saw " << seen);
  REQUIRE(seen.size() == 55);
  CHECK(seen.substr(0, 36) == caller.substr(0, 36));
  CHECK(seen.substr(36, 16) != caller.substr(36, 16));
  CHECK(seen.substr(52) == "-01");
  CHECK(HeaderValue(*joined, "traceparent") == seen);

  // Without one (or with a malformed one) each invocation starts a trace of its own.
  request.headers = {{"traceparent", "not-a-traceparent"}};
  auto fresh = client.Invoke("traced", request);
  auto other = client.Invoke("traced", {});
  REQUIRE(fresh.ok());
  REQUIRE(other.ok());
  std::regex valid("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
  CHECK(std::regex_match(fresh->body, valid));
  CHECK(std::regex_match(other->body, valid));
  CHECK(fresh->body.substr(3, 32) != other->body.substr(3, 32));
  CHECK(HeaderValue(*other, "traceparent") == other->body);

  // The log lines carry the trace id of their invocation.
  auto logs =
      flintd.HttpGet("/v1/functions/traced/logs", {{"authorization", "Bearer " + flintd.token()}});
  REQUIRE(logs.ok());
  auto j = nlohmann::json::parse(logs->body, nullptr, false);
  REQUIRE(j.contains("logs"));
  REQUIRE(j["logs"].size() == 3);
  CHECK(j["logs"][0]["trace_id"] == caller.substr(3, 32));
  CHECK(j["logs"][0]["message"] == "traced line");
  CHECK(j["logs"][2]["trace_id"] == other->body.substr(3, 32));
}
