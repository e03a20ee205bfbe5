#include "scheduler/app/metrics_page.h"

#include <map>
#include <utility>

#include "scheduler/metrics/exposition.h"
#include "scheduler/metrics/process_metrics.h"

namespace flint::scheduler {

using metrics::Labels;
using metrics::MetricType;

namespace {

constexpr uint64_t kBytesPerMb = 1024 * 1024;

void WritePools(metrics::Exposition& out, const Dispatcher& dispatcher) {
  std::vector<PoolStatus> pools = dispatcher.AllPoolStatuses();
  out.Family("flint_pool_workers", MetricType::kGauge,
             "Workers serving a function version, by state (starting, idle, busy).");
  for (const PoolStatus& p : pools) {
    std::string v = std::to_string(p.version);
    std::pair<const char*, uint64_t> states[] = {
        {"starting", p.counts.starting}, {"idle", p.counts.idle}, {"busy", p.counts.busy}};
    for (const auto& [state, n] : states) {
      out.Sample("flint_pool_workers",
                 Labels{{"function", p.name}, {"version", v}, {"state", state}}, n);
    }
  }
  out.Family("flint_queue_depth", MetricType::kGauge,
             "Requests waiting in a function version's queue for a worker.");
  for (const PoolStatus& p : pools) {
    std::string v = std::to_string(p.version);
    out.Sample("flint_queue_depth", Labels{{"function", p.name}, {"version", v}},
               static_cast<uint64_t>(p.counts.queued));
  }

  NodeStatus node = dispatcher.Node();
  uint64_t starting = 0, idle = 0, busy = 0;
  for (const PoolStatus& p : pools) {
    starting += p.counts.starting;
    idle += p.counts.idle;
    busy += p.counts.busy;
  }
  out.Family("flint_workers", MetricType::kGauge,
             "Worker processes on this node by state: starting, idle and busy serve a function; "
             "generic_ready and generic_starting are pre-warmed workers waiting for one.");
  std::pair<const char*, uint64_t> states[] = {{"starting", starting},
                                               {"idle", idle},
                                               {"busy", busy},
                                               {"generic_ready", node.generic_ready},
                                               {"generic_starting", node.generic_spawning}};
  for (const auto& [state, n] : states) out.Sample("flint_workers", Labels{{"state", state}}, n);
  out.Family("flint_worker_processes", MetricType::kGauge,
             "Every worker process of this node, generic ones included.");
  out.Sample("flint_worker_processes", {}, node.workers);
  out.Family("flint_evictions_total", MetricType::kCounter,
             "Idle workers stopped to free memory for another function.");
  out.Sample("flint_evictions_total", {}, node.evictions);
  out.Family("flint_spawn_waits_total", MetricType::kCounter,
             "Cold starts that found no pre-warmed worker ready and waited for a spawn.");
  out.Sample("flint_spawn_waits_total", {}, node.spawn_waits);
  out.Family("flint_memory_budget_bytes", MetricType::kGauge, "Memory this node gives to workers.");
  out.Sample("flint_memory_budget_bytes", {}, node.memory_budget_mb * kBytesPerMb);
  out.Family("flint_memory_used_bytes", MetricType::kGauge,
             "Memory of the budget held by workers (their functions' memory sizes).");
  out.Sample("flint_memory_used_bytes", {}, node.memory_used_mb * kBytesPerMb);
}

void WriteEvents(metrics::Exposition& out, const EventService& events, int64_t now_ms) {
  std::map<std::string, EventService::QueueGauge> queues = events.QueueGauges();
  out.Family("flint_async_queue_depth", MetricType::kGauge,
             "Async, cron and topic events of a function queued or running.");
  for (const auto& [function, g] : queues) {
    out.Sample("flint_async_queue_depth", Labels{{"function", function}},
               static_cast<uint64_t>(g.depth));
  }
  out.Family("flint_async_oldest_age_seconds", MetricType::kGauge,
             "Age of a function's oldest queued or running event.");
  for (const auto& [function, g] : queues) {
    if (g.oldest_created_ms == 0) continue;
    int64_t age_ms = now_ms > g.oldest_created_ms ? now_ms - g.oldest_created_ms : 0;
    out.Sample("flint_async_oldest_age_seconds", Labels{{"function", function}},
               static_cast<double>(age_ms) / 1000.0);
  }
  EventStats stats = events.stats();
  out.Family("flint_events_accepted_total", MetricType::kCounter,
             "Events stored for delivery since flintd started.");
  out.Sample("flint_events_accepted_total", {}, stats.accepted);
  out.Family("flint_events_succeeded_total", MetricType::kCounter,
             "Events delivered successfully since flintd started.");
  out.Sample("flint_events_succeeded_total", {}, stats.succeeded);
  out.Family("flint_event_retries_total", MetricType::kCounter,
             "Failed event attempts scheduled again since flintd started.");
  out.Sample("flint_event_retries_total", {}, stats.retried);
  out.Family("flint_dead_letters_total", MetricType::kCounter,
             "Events moved to the dead-letter list since flintd started.");
  out.Sample("flint_dead_letters_total", {}, stats.dead);
}

}  // namespace

std::string MetricsPage(const metrics::Registry& invocations, const Dispatcher& dispatcher,
                        const EventService* events, int64_t now_ms) {
  metrics::Exposition out;
  invocations.WriteTo(out);
  WritePools(out, dispatcher);
  if (events != nullptr) WriteEvents(out, *events, now_ms);
  metrics::WriteProcessFigures(out, metrics::ReadProcessFigures());
  return out.Take();
}

}  // namespace flint::scheduler
