// keep_alive_sim: replays an invocation trace through scheduler/core's Pool with a virtual clock,
// once per keep-alive policy, and prints each policy's cold starts and idle worker time. It is
// the exact model of what flintd's pools decide (the same code, no time compression, no
// timer or scheduling error), used to tune the adaptive policy and to check the live replay
// (tools/bench/trace_replay.py --simulate writes the trace and runs this).
//
//   keep_alive_sim TRACE KEEP_ALIVE_MS [LOAD_MS [EXEC_MS [COST_MS [BIN_GROWTH [MARGIN]]]]]
//
// TRACE: one invocation per line, "time_ms function_index", sorted by time. Each function has
// its own pool (the node's memory is not a constraint here). A cold start is an invocation
// that waited for a worker to load (as flintd's X-Flint-Cold-Start); a worker takes LOAD_MS
// (default 2) to load and an invocation EXEC_MS (default 1) to run, and pre-warms start earlier
// by the lead flintd would measure for such loads (PrewarmLead). A pre-warmed generic worker
// is always ready (flintd's reload delay is 0). Output: one JSON object
// per policy on stdout. COST_MS: the adaptive policy's cold_start_cost_ms (default: the
// keep-alive, as in flintd).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include "scheduler/core/pool.h"

using namespace flint::scheduler;

namespace {

struct Totals {
  uint64_t invocations = 0, cold = 0, idle_ms = 0, prewarms = 0, workers = 0;
};

// One function's day. Events: worker ready, invocation done; arrivals come from `arrivals`.
void RunFunction(const std::vector<uint64_t>& arrivals, PoolPolicy policy,
                 AdaptiveKeepAliveOptions adaptive, uint64_t load_ms, uint64_t exec_ms,
                 Totals& totals) {
  Pool pool(policy, adaptive);
  // As flintd: pre-warms start earlier by the lead their measured load times call for (here
  // every load takes LOAD_MS).
  PrewarmLead lead;
  enum Kind { kReady = 0, kDone = 1 };
  using Event = std::tuple<uint64_t, int, WorkerId>;  // time, kind, worker
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  WorkerId next_worker = 1;
  InvocationId next_id = 1;
  uint64_t now = 0;
  size_t next_arrival = 0;
  bool handled = false;  // a deadline was acted on at `now`: ignore deadlines <= now
  auto start_worker = [&](uint64_t at) {
    WorkerId w = next_worker++;
    pool.AddStarting(w);
    events.emplace(at + load_ms, kReady, w);
    totals.workers++;
  };
  auto deadline = [&]() -> std::optional<uint64_t> {
    std::optional<uint64_t> d = pool.NextExpiry();
    if (auto p = pool.NextPrewarm(now); p && (!d || *p < *d)) d = p;
    if (d && *d < now) d = now;
    if (d && handled && *d <= now) return std::nullopt;
    return d;
  };
  while (true) {
    uint64_t t_arrival = next_arrival < arrivals.size() ? arrivals[next_arrival] : UINT64_MAX;
    uint64_t t_event = events.empty() ? UINT64_MAX : std::get<0>(events.top());
    std::optional<uint64_t> d = deadline();
    uint64_t t_deadline = d ? *d : UINT64_MAX;
    uint64_t t = std::min({t_arrival, t_event, t_deadline});
    if (t == UINT64_MAX) break;
    if (t > now) handled = false;
    now = t;
    if (t == t_event) {
      auto [at, kind, w] = events.top();
      events.pop();
      std::vector<InvocationId> run =
          kind == kReady ? pool.WorkerReady(w, now) : pool.InvocationDone(w, now);
      if (kind == kReady) totals.cold += run.size();
      for (size_t i = 0; i < run.size(); ++i) events.emplace(now + exec_ms, kDone, w);
    } else if (t == t_arrival) {
      next_arrival++;
      totals.invocations++;
      auto a = pool.Admit(next_id++, now);
      if (a.kind == Pool::Admission::Kind::kDispatch) {
        events.emplace(now + exec_ms, kDone, a.worker);
      } else if (a.start_worker) {
        start_worker(now);
      }
    } else {
      (void)pool.TakeExpired(now);
      if (pool.TakePrewarm(now)) {
        totals.prewarms++;
        start_worker(now);
        lead.Add(load_ms * 1000);
        pool.set_prewarm_lead_ms(lead.LeadMs(pool.cold_start_cost_ms()));
      }
      handled = true;
    }
  }
  totals.idle_ms += pool.IdleWorkerMs(now);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TRACE KEEP_ALIVE_MS [LOAD_MS [EXEC_MS [COST_MS]]]\n", argv[0]);
    return 2;
  }
  FILE* f = std::fopen(argv[1], "r");
  if (f == nullptr) {
    std::perror(argv[1]);
    return 1;
  }
  uint64_t keep_alive_ms = std::strtoull(argv[2], nullptr, 10);
  uint64_t load_ms = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2;
  uint64_t exec_ms = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1;
  AdaptiveKeepAliveOptions adaptive;
  if (argc > 5) adaptive.cold_start_cost_ms = std::strtoull(argv[5], nullptr, 10);
  // Tuning only: the adaptive policy's bin growth and margin.
  if (argc > 6) adaptive.bin_growth = std::strtod(argv[6], nullptr);
  if (argc > 7) adaptive.margin = std::strtod(argv[7], nullptr);
  std::map<uint64_t, std::vector<uint64_t>> by_function;
  uint64_t t = 0, fn = 0;
  while (std::fscanf(f, "%" SCNu64 " %" SCNu64, &t, &fn) == 2) by_function[fn].push_back(t);
  std::fclose(f);

  for (KeepAliveMode mode : {KeepAliveMode::kFixed, KeepAliveMode::kAdaptive}) {
    PoolPolicy policy;
    policy.max_instances = 1000;
    policy.keep_alive_ms = keep_alive_ms;
    policy.max_queue = 1'000'000;
    policy.keep_alive_mode = mode;
    Totals totals;
    for (const auto& [index, arrivals] : by_function) {
      RunFunction(arrivals, policy, adaptive, load_ms, exec_ms, totals);
    }
    std::printf("{\"policy\": \"%s\", \"keep_alive_ms\": %" PRIu64 ", \"invocations\": %" PRIu64
                ", \"cold_starts\": %" PRIu64 ", \"idle_worker_ms\": %" PRIu64
                ", \"prewarms\": %" PRIu64 ", \"workers_started\": %" PRIu64 "}\n",
                mode == KeepAliveMode::kFixed ? "fixed" : "adaptive", keep_alive_ms,
                totals.invocations, totals.cold, totals.idle_ms, totals.prewarms, totals.workers);
  }
  return 0;
}
