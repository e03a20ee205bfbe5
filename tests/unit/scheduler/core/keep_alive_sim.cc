// keep_alive_sim: replays an invocation trace through scheduler/core's Pool with a virtual clock,
// once per keep-alive policy, and prints what each policy cost. It is the exact model of what
// flintd's pools decide (the same code, no time compression, no timer or scheduling error),
// used to tune the adaptive policy and to check the live replay (tools/bench/trace_replay.py
// writes the traces and runs this).
//
//   keep_alive_sim [options] TRACE
//
// TRACE: one invocation per line, "t_ms function [duration_ms]", sorted by time; `function` is
// any token without spaces. Each function has its own pool (the node's memory is not a
// constraint here) with at most --max-instances workers of --concurrency invocations each. A
// cold start is an invocation that waited for a worker to load (as flintd's
// X-Flint-Cold-Start); a worker takes --load-ms to load, an invocation its duration (else
// --exec-ms) to run, and adaptive pre-warms start earlier by the lead flintd would measure for
// such loads (PrewarmLead). A pre-warmed generic worker is always ready (flintd's reload delay
// is 0).
//
// Options:
//   --policy NAME=MODE:KEEP_ALIVE_MS  a policy to run (repeatable; MODE fixed, adaptive or
//                                     hybrid-histogram). Default: fixed-10m=fixed:600000,
//                                     fixed-1m=fixed:60000, adaptive=adaptive:600000,
//                                     hybrid-histogram=hybrid-histogram:600000
//   --scale X            divide the default policies' keep-alives, and the hybrid histogram's
//                        range and bins, by X (a trace compressed X times)
//   --load-ms N          a worker's load time (default 2)
//   --exec-ms N          an invocation's run time when the trace gives none (default 1)
//   --max-instances N    (default 1000)      --concurrency N (default 1)
//   --cost-ms N          the adaptive policy's cold_start_cost_ms (default: 1.2 times its
//                        keep-alive, as in flintd)
//   --bin-growth X, --margin X   the adaptive policy's bins and margin (tuning)
//   --until-ms T         end the day at T: nothing after it happens, idle time counts up to
//                        it (default: until every worker has gone)
//   --per-function FILE  also write one CSV row per policy and function: policy, function,
//                        invocations, cold starts, idle worker ms, worker starts
//
// Output: one JSON object per policy on stdout: invocations, cold starts and their percentage,
// idle worker time, worker starts (pre-warms included), pre-warms, and the 75th and 99th
// percentiles over functions of each function's cold-start percentage.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "scheduler/core/pool.h"

using namespace flint::scheduler;

namespace {

struct Call {
  uint64_t t_ms;
  uint64_t duration_ms;
};

struct Totals {
  uint64_t invocations = 0, cold = 0, idle_ms = 0, prewarms = 0, workers = 0;
};

struct PolicySpec {
  std::string name;
  KeepAliveMode mode;
  uint64_t keep_alive_ms;
};

struct Options {
  uint64_t load_ms = 2;
  uint64_t exec_ms = 1;
  uint32_t max_instances = 1000;
  uint32_t concurrency = 1;
  double scale = 1.0;
  uint64_t until_ms = UINT64_MAX;  // stop the day here (idle time counted up to it)
  AdaptiveKeepAliveOptions adaptive;
};

// One function's day. Events: worker ready, invocation done; arrivals come from `calls`.
Totals RunFunction(const std::vector<Call>& calls, const PolicySpec& spec, const Options& o) {
  PoolPolicy policy;
  policy.max_instances = o.max_instances;
  policy.concurrency = o.concurrency;
  policy.keep_alive_ms = spec.keep_alive_ms;
  policy.max_queue = 1'000'000'000;
  policy.keep_alive_mode = spec.mode;
  Pool pool(policy, o.adaptive, HybridHistogramOptions::Scaled(1.0 / o.scale));
  Totals totals;
  // As flintd: pre-warms start earlier by the lead their measured load times call for (here
  // every load takes load_ms).
  PrewarmLead lead;
  enum Kind { kReady = 0, kDone = 1 };
  using Event = std::tuple<uint64_t, int, WorkerId>;  // time, kind, worker
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events;
  std::unordered_map<InvocationId, uint64_t> duration_of;  // queued invocations
  WorkerId next_worker = 1;
  InvocationId next_id = 1;
  uint64_t now = 0;
  size_t next_call = 0;
  bool handled = false;  // a deadline was acted on at `now`: ignore deadlines <= now
  auto start_worker = [&](uint64_t at) {
    WorkerId w = next_worker++;
    pool.AddStarting(w);
    events.emplace(at + o.load_ms, kReady, w);
    totals.workers++;
  };
  auto deadline = [&]() -> std::optional<uint64_t> {
    std::optional<uint64_t> d = pool.NextExpiry();
    if (auto p = pool.NextPrewarm(now); p && (!d || *p < *d)) d = p;
    if (d && *d < now) d = now;
    if (d && handled && *d <= now) return std::nullopt;
    return d;
  };
  auto run = [&](const std::vector<InvocationId>& ids, WorkerId w) {
    for (InvocationId id : ids) {
      auto it = duration_of.find(id);
      events.emplace(now + it->second, kDone, w);
      duration_of.erase(it);
    }
  };
  while (true) {
    uint64_t t_call = next_call < calls.size() ? calls[next_call].t_ms : UINT64_MAX;
    uint64_t t_event = events.empty() ? UINT64_MAX : std::get<0>(events.top());
    std::optional<uint64_t> d = deadline();
    uint64_t t_deadline = d ? *d : UINT64_MAX;
    uint64_t t = std::min({t_call, t_event, t_deadline});
    if (t == UINT64_MAX) break;
    if (t > o.until_ms) {
      now = o.until_ms;
      break;
    }
    if (t > now) handled = false;
    now = t;
    if (t == t_event) {
      auto [at, kind, w] = events.top();
      events.pop();
      std::vector<InvocationId> ids =
          kind == kReady ? pool.WorkerReady(w, now) : pool.InvocationDone(w, now);
      if (kind == kReady) totals.cold += ids.size();
      run(ids, w);
    } else if (t == t_call) {
      const Call& call = calls[next_call++];
      totals.invocations++;
      InvocationId id = next_id++;
      auto a = pool.Admit(id, now);
      if (a.kind == Pool::Admission::Kind::kDispatch) {
        events.emplace(now + call.duration_ms, kDone, a.worker);
      } else {
        duration_of[id] = call.duration_ms;
        if (a.start_worker) start_worker(now);
      }
    } else {
      (void)pool.TakeExpired(now);
      for (uint32_t n = pool.TakePrewarm(now); n > 0; --n) {
        totals.prewarms++;
        start_worker(now);
        lead.Add(o.load_ms * 1000);
        pool.set_prewarm_lead_ms(lead.LeadMs(pool.cold_start_cost_ms()));
      }
      handled = true;
    }
  }
  totals.idle_ms = pool.IdleWorkerMs(now);
  return totals;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

std::optional<PolicySpec> ParsePolicy(const std::string& text) {
  auto eq = text.find('='), colon = text.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq) return std::nullopt;
  std::string mode = text.substr(eq + 1, colon - eq - 1);
  PolicySpec spec{text.substr(0, eq), KeepAliveMode::kFixed,
                  std::strtoull(text.c_str() + colon + 1, nullptr, 10)};
  if (mode == "adaptive") {
    spec.mode = KeepAliveMode::kAdaptive;
  } else if (mode == "hybrid-histogram") {
    spec.mode = KeepAliveMode::kHybridHistogram;
  } else if (mode != "fixed") {
    return std::nullopt;
  }
  if (spec.keep_alive_ms == 0) return std::nullopt;
  return spec;
}

const char* ModeName(KeepAliveMode mode) {
  switch (mode) {
    case KeepAliveMode::kFixed:
      return "fixed";
    case KeepAliveMode::kAdaptive:
      return "adaptive";
    case KeepAliveMode::kHybridHistogram:
      return "hybrid-histogram";
  }
  return "?";
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--policy NAME=MODE:KEEP_ALIVE_MS]... [--scale X] [--load-ms N] "
               "[--exec-ms N] [--max-instances N] [--concurrency N] [--cost-ms N] "
               "[--bin-growth X] [--margin X] [--until-ms T] [--per-function FILE] TRACE\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<PolicySpec> policies;
  std::string trace_path, per_function_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg.rfind("--", 0) == 0 && (v = value()) == nullptr) return Usage(argv[0]);
    if (arg == "--policy") {
      auto spec = ParsePolicy(v);
      if (!spec) {
        std::fprintf(stderr, "bad --policy %s (NAME=fixed|adaptive|hybrid-histogram:MS)\n", v);
        return 2;
      }
      policies.push_back(*spec);
    } else if (arg == "--scale") {
      o.scale = std::strtod(v, nullptr);
    } else if (arg == "--load-ms") {
      o.load_ms = std::strtoull(v, nullptr, 10);
    } else if (arg == "--exec-ms") {
      o.exec_ms = std::strtoull(v, nullptr, 10);
    } else if (arg == "--max-instances") {
      o.max_instances = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (arg == "--concurrency") {
      o.concurrency = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    } else if (arg == "--cost-ms") {
      o.adaptive.cold_start_cost_ms = std::strtoull(v, nullptr, 10);
    } else if (arg == "--bin-growth") {
      o.adaptive.bin_growth = std::strtod(v, nullptr);
    } else if (arg == "--margin") {
      o.adaptive.margin = std::strtod(v, nullptr);
    } else if (arg == "--until-ms") {
      o.until_ms = std::strtoull(v, nullptr, 10);
    } else if (arg == "--per-function") {
      per_function_path = v;
    } else if (arg.rfind("--", 0) == 0 || !trace_path.empty()) {
      return Usage(argv[0]);
    } else {
      trace_path = arg;
    }
  }
  if (trace_path.empty() || !(o.scale > 0) || o.max_instances == 0 || o.concurrency == 0) {
    return Usage(argv[0]);
  }
  if (policies.empty()) {
    auto ms = [&](double minutes) {
      return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(minutes * 60'000 / o.scale)));
    };
    policies = {{"fixed-10m", KeepAliveMode::kFixed, ms(10)},
                {"fixed-1m", KeepAliveMode::kFixed, ms(1)},
                {"adaptive", KeepAliveMode::kAdaptive, ms(10)},
                {"hybrid-histogram", KeepAliveMode::kHybridHistogram, ms(10)}};
  }

  std::ifstream in(trace_path);
  if (!in) {
    std::perror(trace_path.c_str());
    return 1;
  }
  std::unordered_map<std::string, size_t> index;
  std::vector<std::string> names;
  std::vector<std::vector<Call>> by_function;
  std::string line;
  uint64_t line_number = 0;
  char name[256];
  while (std::getline(in, line)) {
    ++line_number;
    double t = 0, d = -1;
    int n = std::sscanf(line.c_str(), "%lf %255s %lf", &t, name, &d);
    if (n <= 0) continue;  // blank line
    if (n < 2 || t < 0) {
      std::fprintf(stderr, "%s:%" PRIu64 ": expected \"t_ms function [duration_ms]\"\n",
                   trace_path.c_str(), line_number);
      return 1;
    }
    auto [it, added] = index.emplace(name, names.size());
    if (added) {
      names.push_back(name);
      by_function.emplace_back();
    }
    auto& calls = by_function[it->second];
    uint64_t at = static_cast<uint64_t>(std::llround(t));
    if (!calls.empty() && at < calls.back().t_ms) {
      std::fprintf(stderr, "%s:%" PRIu64 ": not sorted by time\n", trace_path.c_str(), line_number);
      return 1;
    }
    calls.push_back({at, n == 3 && d >= 0 ? static_cast<uint64_t>(std::llround(d)) : o.exec_ms});
  }

  std::FILE* per_function = nullptr;
  if (!per_function_path.empty()) {
    per_function = std::fopen(per_function_path.c_str(), "w");
    if (per_function == nullptr) {
      std::perror(per_function_path.c_str());
      return 1;
    }
    std::fprintf(per_function, "policy,function,invocations,cold_starts,idle_ms,worker_starts\n");
  }
  for (const PolicySpec& spec : policies) {
    Totals all;
    std::vector<double> cold_pct;
    for (size_t f = 0; f < by_function.size(); ++f) {
      Totals t = RunFunction(by_function[f], spec, o);
      all.invocations += t.invocations;
      all.cold += t.cold;
      all.idle_ms += t.idle_ms;
      all.prewarms += t.prewarms;
      all.workers += t.workers;
      if (t.invocations > 0) {
        cold_pct.push_back(100.0 * static_cast<double>(t.cold) /
                           static_cast<double>(t.invocations));
      }
      if (per_function != nullptr) {
        std::fprintf(per_function, "%s,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
                     spec.name.c_str(), names[f].c_str(), t.invocations, t.cold, t.idle_ms,
                     t.workers);
      }
    }
    std::printf("{\"policy\": \"%s\", \"mode\": \"%s\", \"keep_alive_ms\": %" PRIu64
                ", \"functions\": %zu, \"invocations\": %" PRIu64 ", \"cold_starts\": %" PRIu64
                ", \"cold_pct\": %.4f, \"idle_worker_ms\": %" PRIu64 ", \"worker_starts\": %" PRIu64
                ", \"prewarms\": %" PRIu64
                ", \"function_cold_pct_p75\": %.4f, \"function_cold_pct_p99\": %.4f}\n",
                spec.name.c_str(), ModeName(spec.mode), spec.keep_alive_ms, by_function.size(),
                all.invocations, all.cold,
                all.invocations ? 100.0 * static_cast<double>(all.cold) / all.invocations : 0.0,
                all.idle_ms, all.workers, all.prewarms, Percentile(cold_pct, 75),
                Percentile(cold_pct, 99));
    std::fflush(stdout);
  }
  if (per_function != nullptr) std::fclose(per_function);
  return 0;
}
