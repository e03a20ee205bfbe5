// MetricsPage: the body of GET /metrics (docs/observability.md): the invocation counters and
// histograms kept as invocations are answered (metrics::Registry), then the gauges read at the
// scrape from the Dispatcher (workers by state, queues, memory, evictions), the EventService
// (async queue depth and oldest age, retries, dead letters) and /proc (flintd's own process).
//
// Nothing here runs on the warm path: the page is built only when scraped. Loop thread only.
#pragma once

#include <cstdint>
#include <string>

#include "scheduler/app/dispatcher.h"
#include "scheduler/app/event_service.h"
#include "scheduler/metrics/registry.h"

namespace flint::scheduler {

// `events` may be null (not started). `now_ms`: the wall clock, for the age of queued events.
std::string MetricsPage(const metrics::Registry& invocations, const Dispatcher& dispatcher,
                        const EventService* events, int64_t now_ms);

}  // namespace flint::scheduler
