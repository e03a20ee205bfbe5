// flintd: the Flint scheduler. Parses options, then runs Flintd on one libuv loop.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <uv.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "scheduler/app/flintd.h"
#include "scheduler/config/config_file.h"
#include "sdk/core/text.h"

namespace {

std::string DefaultDataDir() {
  if (const char* dir = std::getenv("FLINT_DATA_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return std::string(xdg) + "/flint";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/share/flint";
  }
  return "./flint-data";
}

// Parses "HOST:PORT" (IPv4 or a name) into its parts.
bool ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  char* end = nullptr;
  unsigned long p = std::strtoul(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p > 65535 || colon + 1 == text.size()) return false;
  *host = text.substr(0, colon);
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  flint::scheduler::FlintdOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string keep_alive = "10m";
  std::string queue_timeout = "10s";
  std::string drain_timeout = "30s";
  std::string log_level = "info";
  std::string metering = "on";
  std::string ledger_retention = "30d";
  std::string price_requests, price_gb_second, bill_init;
  std::string memory_budget, prewarm_memory;
  std::string keep_alive_policy = "fixed";
  std::string build_timeout = "120s", build_queue_timeout = "60s", build_cpus = "1";
  std::string cpu_mode = "weight";
  options.data_dir = DefaultDataDir();

  CLI::App app{
      "flintd: the Flint serverless scheduler.\n"
      "Serves functions at /fn/NAME and the management API at /v1/functions."};
  CLI::Option* config_file = app.set_config(
      "--config", "",
      "Read options from a TOML file: one 'key = value' per long option (data-dir or data_dir)");
  app.add_option("--listen", listen, "Address and port to serve HTTP on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--data-dir", options.data_dir,
                 "Data directory: database, function code, admin token (env FLINT_DATA_DIR)")
      ->capture_default_str();
  app.add_option("--keep-alive", keep_alive,
                 "Default idle time before a warm worker is stopped (e.g. 30s, 10m)")
      ->capture_default_str();
  app.add_option("--worker-path", options.worker_path,
                 "Path of flint-worker (default: beside flintd)");
  app.add_option("--sdk-include", options.sdk_include_dir,
                 "Folder holding flint/flint.h for C++ function builds (default: "
                 "$FLINT_SDK_INCLUDE, else the SDK headers of this build)");
  app.add_option("--prewarm", options.prewarm,
                 "Fewest generic lean JavaScript (v8) workers kept started and ready to load a "
                 "function (more while cold starts come faster than they refill; 0: none)")
      ->capture_default_str();
  app.add_option("--prewarm-node", options.prewarm_node,
                 "Fewest generic Node.js workers kept started (the common built-ins loaded) and "
                 "ready to load a Node.js function (more while cold starts come faster than they "
                 "refill; 0: none)")
      ->capture_default_str();
  app.add_option("--prewarm-cpp", options.prewarm_cpp,
                 "Fewest generic C++ workers (no V8) kept started and ready to load a function "
                 "(more while cold starts come faster than they refill; 0: none)")
      ->capture_default_str();
  app.add_option("--prewarm-memory", prewarm_memory,
                 "Memory the generic workers may grow to beyond those floors, e.g. 256M "
                 "(default: an eighth of --memory-budget)");
  app.add_option(
      "--memory-budget", memory_budget,
      "Memory for all function workers, e.g. 2048, 512M, 4G (default: half of MemTotal)");
  app.add_option("--keep-alive-policy", keep_alive_policy,
                 "Default keep-alive policy of functions that do not choose: fixed or adaptive")
      ->capture_default_str();
  app.add_option("--max-queue", options.max_queue,
                 "Requests that may wait per function version before 429")
      ->capture_default_str();
  app.add_option("--queue-timeout", queue_timeout,
                 "Longest a request waits for a worker before 503")
      ->capture_default_str();
  app.add_option("--max-body", options.max_body_bytes, "Largest invocation request body, bytes")
      ->capture_default_str();
  app.add_option("--max-header-bytes", options.http.max_header_bytes,
                 "Largest request line plus headers, bytes (beyond: 431)")
      ->capture_default_str();
  app.add_option("--max-headers", options.http.max_headers,
                 "Most headers per request (beyond: 431)")
      ->capture_default_str();
  app.add_option("--drain-timeout", drain_timeout,
                 "On SIGTERM, longest wait for requests in flight")
      ->capture_default_str();
  app.add_option("--metering", metering,
                 "on: record every invocation in the billing ledger; off: record nothing")
      ->capture_default_str();
  app.add_option("--ledger-retention", ledger_retention,
                 "Age after which ledger records are rolled up into hourly totals (>= 1h)")
      ->capture_default_str();
  app.add_option("--price-per-million-requests", price_requests,
                 "USD per million requests from now on (default: AWS Lambda's, 0.20)");
  app.add_option("--price-per-gb-second", price_gb_second,
                 "USD per GB-second from now on (default: AWS Lambda's x86, 0.0000166667)");
  app.add_option("--bill-init", bill_init, "true: bill cold starts' init time (default false)");
  // C++ builds (docs/configuration.md, docs/security.md).
  app.add_option("--build-memory", options.build_limits.memory_mb,
                 "Memory of one C++ build, MB (its cgroup; beyond, the build is stopped)")
      ->capture_default_str();
  app.add_option("--build-cpus", build_cpus, "CPUs one C++ build may use (e.g. 1, 0.5, 2)")
      ->capture_default_str();
  app.add_option("--build-pids", options.build_limits.pids,
                 "Processes and threads of one C++ build at once")
      ->capture_default_str();
  app.add_option("--build-timeout", build_timeout, "Longest run of one C++ build (e.g. 120s)")
      ->capture_default_str();
  uint64_t build_max_output_mb = options.build_limits.max_output_bytes >> 20;
  app.add_option("--build-max-output", build_max_output_mb,
                 "Largest file one C++ build may write (the shared object, object files), MB")
      ->capture_default_str();
  app.add_option("--max-builds", options.build_queue.max_running, "C++ builds running at once")
      ->capture_default_str();
  app.add_option("--build-queue", options.build_queue.max_waiting,
                 "C++ builds that may wait for a slot before deploys get 429")
      ->capture_default_str();
  app.add_option("--build-queue-timeout", build_queue_timeout,
                 "Longest a C++ build waits for a slot before its deploy gets 503")
      ->capture_default_str();
  app.add_option("--cpu-mode", cpu_mode,
                 "weight: each worker's CPU share under contention is in proportion to its "
                 "memory, and idle CPU is used (work-conserving); proportional-quota: also a hard "
                 "quota in proportion to memory (1 vCPU per 1769 MB, as Lambda). A function's "
                 "--cpu sets a hard quota in either mode")
      ->capture_default_str();
  bool no_isolation = false;
  app.add_flag("--no-isolation", no_isolation,
               "Run workers without cgroups or sandbox (development only; every response then "
               "carries an x-flint-warning header). Without it, flintd needs root and cgroups");
  // Event triggers (docs/triggers.md).
  std::string event_max_age = "6h", event_retry_base = "1s";
  app.add_option("--event-max-payload", options.events.max_payload_bytes,
                 "Largest async event, topic message or schedule payload, bytes (beyond: 413)")
      ->capture_default_str();
  app.add_option("--event-queue-depth", options.events.max_queue_depth,
                 "Async events queued or running per function before 429")
      ->capture_default_str();
  app.add_option("--event-max-retries", options.events.retry.max_retries,
                 "Retries of a failed async event before it goes to the dead-letter list")
      ->capture_default_str();
  app.add_option("--event-retry-base", event_retry_base,
                 "Backoff before the first retry (doubles each retry, with jitter)")
      ->capture_default_str();
  app.add_option("--event-max-age", event_max_age,
                 "Events older than this are dead-lettered instead of run")
      ->capture_default_str();
  std::string header_timeout = "10s";
  app.add_option("--header-timeout", header_timeout,
                 "Longest a client may take to send a request's headers before 408 (slow "
                 "clients hold a connection no longer)")
      ->capture_default_str();
  app.add_option("--max-connections", options.http.max_connections,
                 "Open client connections at most; beyond, new ones are closed at once")
      ->capture_default_str();
  std::string rate_limit_management = "100/200";
  std::string rate_limit_invoke = "50000/50000";
  app.add_option("--rate-limit-management", rate_limit_management,
                 "Management API requests per second per client address and per token, "
                 "RATE[/BURST], or off")
      ->capture_default_str();
  app.add_option("--rate-limit-invoke", rate_limit_invoke,
                 "Invocations per second per client address (and per token for private "
                 "functions), RATE[/BURST], or off")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.config_formatter(std::make_shared<flint::scheduler::StrictConfigFile>(
      flint::scheduler::StrictConfigFile::KnownKeys(app)));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "flintd: config file %s: %s\n", config_file->as<std::string>().c_str(),
                 e.what());
    return 2;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "flintd: %s\n", message.c_str());
    return 2;
  };
  if (!ParseListen(listen, &options.listen_host, &options.listen_port)) {
    return fail("invalid --listen '" + listen + "': use HOST:PORT, e.g. 127.0.0.1:8080");
  }
  auto headers_in = flint::ParseDurationMs(header_timeout);
  if (!headers_in.ok() || *headers_in == 0) {
    return fail("--header-timeout: " +
                (headers_in.ok() ? std::string("must be above 0") : headers_in.status().message()));
  }
  options.http.header_timeout_ms = *headers_in;
  auto management_rate = flint::scheduler::auth::ParseRateLimit(rate_limit_management);
  if (!management_rate.ok()) {
    return fail("--rate-limit-management: " + management_rate.status().message());
  }
  options.management_rate = *management_rate;
  auto invoke_rate = flint::scheduler::auth::ParseRateLimit(rate_limit_invoke);
  if (!invoke_rate.ok()) return fail("--rate-limit-invoke: " + invoke_rate.status().message());
  options.invoke_rate = *invoke_rate;
  auto keep = flint::ParseDurationMs(keep_alive);
  if (!keep.ok()) return fail("--keep-alive: " + keep.status().message());
  options.keep_alive_ms = *keep;
  auto queue = flint::ParseDurationMs(queue_timeout);
  if (!queue.ok()) return fail("--queue-timeout: " + queue.status().message());
  options.queue_timeout_ms = *queue;
  auto event_age = flint::ParseDurationMs(event_max_age);
  if (!event_age.ok()) return fail("--event-max-age: " + event_age.status().message());
  options.events.retry.max_event_age_ms = *event_age;
  auto retry_base = flint::ParseDurationMs(event_retry_base);
  if (!retry_base.ok()) return fail("--event-retry-base: " + retry_base.status().message());
  options.events.retry.base_delay_ms = *retry_base;
  auto drain = flint::ParseDurationMs(drain_timeout);
  if (!drain.ok()) return fail("--drain-timeout: " + drain.status().message());
  options.drain_timeout_ms = *drain;
  if (metering != "on" && metering != "off") return fail("--metering: use on or off");
  std::optional<flint::scheduler::isolation::CpuMode> mode =
      flint::scheduler::isolation::ParseCpuMode(cpu_mode);
  if (!mode) return fail("--cpu-mode: use weight or proportional-quota");
  options.cpu_mode = *mode;
  options.metering = metering == "on";
  if (!ledger_retention.empty() && ledger_retention.back() == 'd') {
    char* end = nullptr;
    unsigned long long days = std::strtoull(ledger_retention.c_str(), &end, 10);
    if (end != ledger_retention.c_str() + ledger_retention.size() - 1 || days == 0) {
      return fail("--ledger-retention: use e.g. 30d, 36h");
    }
    options.ledger_retention_ms = days * 24 * 3600 * 1000;
  } else {
    auto retention = flint::ParseDurationMs(ledger_retention);
    if (!retention.ok()) return fail("--ledger-retention: " + retention.status().message());
    options.ledger_retention_ms = *retention;
  }
  if (options.ledger_retention_ms < 3600 * 1000) return fail("--ledger-retention: at least 1h");
  if (!price_requests.empty() || !price_gb_second.empty() || !bill_init.empty()) {
    flint::scheduler::meter::PriceSheet prices = flint::scheduler::meter::DefaultPriceSheet();
    if (!price_requests.empty()) {
      auto pico = flint::scheduler::meter::ParseDollars(price_requests);
      if (!pico.ok()) return fail("--price-per-million-requests: " + pico.status().message());
      prices.per_million_requests_pico = *pico;
    }
    if (!price_gb_second.empty()) {
      auto pico = flint::scheduler::meter::ParseDollars(price_gb_second);
      if (!pico.ok()) return fail("--price-per-gb-second: " + pico.status().message());
      prices.per_gb_second_pico = *pico;
    }
    if (!bill_init.empty() && bill_init != "true" && bill_init != "false") {
      return fail("--bill-init: use true or false");
    }
    prices.bill_init = bill_init == "true";
    options.prices = prices;
  }
  if (!memory_budget.empty()) {
    auto mb = flint::ParseMemoryMb(memory_budget);
    if (!mb.ok()) return fail("--memory-budget: " + mb.status().message());
    options.memory_budget_mb = *mb;
  }
  if (!prewarm_memory.empty()) {
    auto mb = flint::ParseMemoryMb(prewarm_memory);
    if (!mb.ok()) return fail("--prewarm-memory: " + mb.status().message());
    options.prewarm_memory_mb = *mb;
  }
  options.isolation = !no_isolation;
  auto build_limit = flint::ParseDurationMs(build_timeout);
  if (!build_limit.ok() || *build_limit == 0) {
    return fail("--build-timeout: use a duration, e.g. 120s");
  }
  options.build_limits.timeout = std::chrono::milliseconds(*build_limit);
  auto build_wait = flint::ParseDurationMs(build_queue_timeout);
  if (!build_wait.ok()) return fail("--build-queue-timeout: " + build_wait.status().message());
  options.build_queue.max_wait_ms = *build_wait;
  {
    char* end = nullptr;
    double cpus = std::strtod(build_cpus.c_str(), &end);
    if (end == build_cpus.c_str() || *end != '\0' || !(cpus >= 0.01) || cpus > 1024) {
      return fail("invalid --build-cpus '" + build_cpus + "': use e.g. 1, 0.5 or 2");
    }
    options.build_limits.cpu_millis = static_cast<uint32_t>(cpus * 1000 + 0.5);
  }
  if (options.build_limits.memory_mb < 64) return fail("--build-memory: at least 64 (MB)");
  if (options.build_limits.pids < 8) return fail("--build-pids: at least 8");
  if (build_max_output_mb == 0 || build_max_output_mb > (1u << 20)) {
    return fail("--build-max-output: from 1 to 1048576 (MB)");
  }
  options.build_limits.max_output_bytes = build_max_output_mb << 20;
  if (options.build_queue.max_running == 0) return fail("--max-builds: at least 1");
  if (!options.sdk_include_dir.empty() &&
      !std::filesystem::exists(options.sdk_include_dir + "/flint/flint.h")) {
    return fail("--sdk-include: no flint/flint.h in " + options.sdk_include_dir);
  }
  if (keep_alive_policy == "adaptive") {
    options.keep_alive_mode = flint::scheduler::KeepAliveMode::kAdaptive;
  } else if (keep_alive_policy != "fixed") {
    return fail("invalid --keep-alive-policy '" + keep_alive_policy + "': use fixed or adaptive");
  }

  auto logger = spdlog::stderr_color_mt("flintd");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  uv_loop_t* loop = uv_default_loop();
  int exit_code = 0;
  {
    flint::scheduler::Flintd flintd(loop, options);
    if (auto started = flintd.Start(); !started.ok()) {
      return fail(started.message());
    }
    uv_run(loop, UV_RUN_DEFAULT);
  }
  // Let the handles closed by the destructors finish closing, then release the loop.
  uv_run(loop, UV_RUN_NOWAIT);
  return exit_code;
}
