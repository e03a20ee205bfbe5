#!/usr/bin/env python3
"""Replays a synthetic day of serverless invocations against flintd, once per keep-alive policy,
and reports the cold-start percentage and idle worker-seconds of each.

The workload follows the Azure Functions characterisation in Shahrad et al., "Serverless in the
Wild: Characterizing and Optimizing the Serverless Workload at a Large Cloud Provider", USENIX
ATC 2020 (section 3):
  - invocation frequency spans about 8 orders of magnitude; 45% of applications are invoked at
    most once per hour on average and 81% at most once per minute (Fig. 5). We draw log10 of a
    function's daily invocations from a normal distribution N(1.6, 1.55), which gives 44% at
    most hourly and 84% at most once a minute;
  - timers are the second most common trigger (about 29% of applications have one, Fig. 3):
    30% of functions here are timers with periods of 1, 5, 10, 15, 30 or 60 minutes;
  - inter-arrival times of the rest vary widely (Fig. 6): 50% are Poisson at their rate, 20%
    bursty (bursts of a few calls seconds apart, bursts arriving as a Poisson process).
Daily counts are capped (--max-daily, default 1440 = once a minute): functions busier than that
stay warm under every policy compared here, so the cap changes little but keeps the replay
within what one small machine can send.

The first N functions are the same whatever --functions is (one random stream, function by
function), so a smaller run replays a prefix of the 200-function day with the same mix.

The day is replayed --compress times faster (default 720: a day in 2 minutes), and keep-alive
values are compressed by the same factor (10 minutes -> 833 ms). Each policy gets its own flintd
(tools/bench/flintd_launch.py, through coldstart.Flintd) with --prewarm generic workers; the
replay starts once they are all ready after the deploys. Idle worker-seconds are reported both
as measured and scaled back to trace time (x compress); flintd measures them (GET /v1/pools
"node.idle_worker_ms": ready workers running nothing, all pools), read --tail trace seconds
after the day's last call (default 1 hour), so that like the model they include the last
workers' keep-alive. For each policy the replay also reports the client's send lag (how late
each call left: a late call changes the inter-arrival times flintd learns from), flintd's
cold-start latency (median over pools of the pool's p50), errors, warnings in flintd's log and
the load average. A compressed day needs a worker start (a LOAD into a pre-warmed worker, and
a process spawn to refill the generic pool) per cold start and per adaptive pre-warm: at 144x
that is 2-15 a second for 50 functions, which a quiet 2-vCPU machine sustains and a loaded one
does not (see docs/benchmarks.md).

  python3 tools/bench/trace_replay.py --build build-replay --functions 50 --compress 144 \
      --prewarm 8 --flintd-arg=--no-isolation --simulate     # ~11 min per policy
  python3 tools/bench/trace_replay.py --build build-replay --simulate-only   # the model, seconds
  # where the time goes: every pre-warm and cold start in /tmp/replay-POLICY.log; --hours 4
  # replays only the day's first 4 hours (~2 min per policy)
  python3 tools/bench/trace_replay.py --build build-replay --functions 50 --compress 144 \
      --prewarm 8 --flintd-arg=--no-isolation --flintd-arg=--log-level --flintd-arg=debug \
      --keep-log /tmp/replay --hours 4
"""
import argparse
import concurrent.futures
import heapq
import http.client
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coldstart import Flintd, log  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAY = 86400.0
HANDLER = "export const handler = async () => ({statusCode: 200, body: 'ok'});\n"


def generate(functions, seed, max_daily):
    """Returns (sorted list of (time_s, function_index), per-function descriptions)."""
    rng = random.Random(seed)
    events, kinds = [], []
    for f in range(functions):
        u = rng.random()
        if u < 0.30:
            period = rng.choice([60, 300, 600, 900, 1800, 3600])
            phase = rng.uniform(0, period)
            t = phase
            while t < DAY:
                events.append((t + rng.uniform(0.0, 1.0), f))
                t += period
            kinds.append("timer %ds" % period)
            continue
        daily = min(max_daily, 10 ** rng.gauss(1.6, 1.55))
        if u < 0.80:
            rate = daily / DAY
            t = rng.expovariate(rate)
            while t < DAY:
                events.append((t, f))
                t += rng.expovariate(rate)
            kinds.append("poisson %.1f/day" % daily)
        else:
            mean_burst = 5.0
            burst_rate = daily / mean_burst / DAY
            t = rng.expovariate(burst_rate)
            while t < DAY:
                n = 1 + int(rng.expovariate(1.0 / (mean_burst - 1)))
                s = t
                for _ in range(n):
                    if s >= DAY:
                        break
                    events.append((s, f))
                    s += rng.expovariate(1.0 / 2.0)
                t += rng.expovariate(burst_rate)
            kinds.append("bursty %.1f/day" % daily)
    events.sort()
    return events, kinds


def deploy_all(flintd, functions, flags):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "index.mjs")
        with open(path, "w") as f:
            f.write(HANDLER)
        for i in range(functions):
            flintd.cli("deploy", "f%03d" % i, path, *flags)


def replay(flintd, events, compress, threads):
    """Sends every event at its (compressed) time. Returns the client's count of responses
    marked X-Flint-Cold-Start, errors, and the send lag of each call: how much later than due
    the request actually left (a call waits for a free thread, and the loop for the CPU), in
    real seconds."""
    local = threading.local()
    cold = [0]
    errors = [0]
    lags = []
    lock = threading.Lock()
    start = time.monotonic()

    def call(fn, due):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
        lag = time.monotonic() - due
        try:
            conn.request("GET", "/fn/f%03d" % fn)
            r = conn.getresponse()
            r.read()
            with lock:
                lags.append(lag)
                if r.status != 200:
                    errors[0] += 1
                if r.getheader("x-flint-cold-start") == "true":
                    cold[0] += 1
        except (OSError, http.client.HTTPException):
            local.conn = None
            with lock:
                lags.append(lag)
                errors[0] += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        for i, (t, fn) in enumerate(events):
            due = start + t / compress
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(call, fn, due)
            if i and i % 5000 == 0:
                with lock:
                    sent, lag = len(lags), (lags[-1] if lags else 0.0)
                log("  %d/%d invocations due, %d answered (%.0f s; last send lag %.0f ms, "
                    "load %.2f)" % (i, len(events), sent, time.monotonic() - start,
                                    1000 * lag, os.getloadavg()[0]))
    return cold[0], errors[0], sorted(lags)


def simulate(args, events, compress):
    """Runs the trace through scheduler/core's Pool with a virtual clock (keep_alive_sim), at
    the given time compression; returns {policy: result} like run_policy's."""
    sim = args.sim or os.path.join(args.build, "tests", "unit", "scheduler", "core",
                                   "keep_alive_sim")
    out = {}
    with tempfile.NamedTemporaryFile("w", suffix=".trace", delete=False) as f:
        for t, fn in events:
            f.write("%d %d\n" % (round(t * 1000.0 / compress), fn))
        path = f.name
    try:
        for label, seconds in (("fixed-10m", 600), ("fixed-1m", 60)):
            ka = max(1, round(seconds * 1000.0 / compress))
            lines = subprocess.run([sim, path, str(ka), str(args.sim_load_ms), "1"],
                                   capture_output=True, text=True, check=True).stdout
            for line in lines.splitlines():
                r = json.loads(line)
                name = label if r["policy"] == "fixed" else "adaptive"
                if name == "adaptive" and seconds != 600:
                    continue  # adaptive falls back to (and prices cold starts at) 10 minutes
                out[name] = {"policy": name, "invocations": r["invocations"],
                             "cold_starts": r["cold_starts"],
                             "cold_pct": 100.0 * r["cold_starts"] / max(1, r["invocations"]),
                             "idle_worker_s": r["idle_worker_ms"] / 1000.0,
                             "idle_worker_s_trace": r["idle_worker_ms"] / 1000.0 * compress,
                             "prewarms": r["prewarms"]}
    finally:
        os.unlink(path)
    return out


def print_table(title, results):
    base = next((r for r in results if r["policy"] == "fixed-10m"), None)
    live = any("errors" in r for r in results)
    print("\n" + title)
    print("| policy | invocations | cold starts | cold-start % | idle worker-s (measured) | "
          "idle worker-s (trace time) | idle vs fixed 10 min | cold starts vs fixed 10 min |" +
          (" errors | send lag p99 ms | cold start p50 ms |" if live else ""))
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" +
          (" ---: | ---: | ---: |" if live else ""))
    for r in results:
        ratio = (r["idle_worker_s"] / base["idle_worker_s"]
                 if base and base["idle_worker_s"] else math.nan)
        cold_ratio = (r["cold_starts"] / base["cold_starts"]
                      if base and base["cold_starts"] else math.nan)
        row = "| %s | %d | %d | %.2f%% | %.1f | %.0f | %.2fx | %.2fx |" % (
            r["policy"], r["invocations"], r["cold_starts"], r["cold_pct"], r["idle_worker_s"],
            r["idle_worker_s_trace"], ratio, cold_ratio)
        if live:
            row += " %d | %.1f | %.2f |" % (r["errors"], r["send_lag_ms"]["p99"],
                                           r["cold_start_ms_p50_median_pool"])
        print(row)


def wait_generic(flintd, n, timeout=60):
    """Waits until flintd has `n` pre-warmed generic workers ready (deploying used some)."""
    deadline = time.monotonic() + timeout
    while flintd.pools()["node"]["generic_ready"] < n:
        if time.monotonic() > deadline:
            raise RuntimeError("flintd has fewer than %d pre-warmed workers after %d s" %
                               (n, timeout))
        time.sleep(0.05)


def log_problems(flintd):
    """flintd's warnings and errors (its log is in the data directory stop() removes)."""
    try:
        with open(os.path.join(flintd.data, "flintd.log"), errors="replace") as f:
            return [line.rstrip() for line in f if "warn" in line or "error" in line]
    except OSError:
        return []


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p / 100.0))] if values else math.nan


def run_policy(args, events, label, flintd_flags, deploy_flags):
    flintd = Flintd(args.build, ["--memory-budget", "64G", "--prewarm", str(args.prewarm),
                                 *args.flintd_arg, *flintd_flags])
    try:
        deploy_all(flintd, args.functions, deploy_flags)
        wait_generic(flintd, args.prewarm)
        load_start = os.getloadavg()
        before = flintd.pools()["node"]
        t0 = time.monotonic()
        cold, errors, lags = replay(flintd, events, args.compress, args.threads)
        replay_s = time.monotonic() - t0
        # Like the model, count the idle time after the day's last call until keep-alive lets
        # the workers go (fixed 10 minutes: 10 minutes; adaptive: its windows), up to --tail.
        tail = t0 + (args.hours * 3600.0 + args.tail) / args.compress - time.monotonic()
        if tail > 0:
            time.sleep(tail)
        status = flintd.pools()
        node = status["node"]
        load_end = os.getloadavg()
        idle_ms = node["idle_worker_ms"] - before["idle_worker_ms"]
        invocations = node["invocations"] - before["invocations"]
        cold_starts = node["cold_starts"] - before["cold_starts"]
        p50s = sorted(p["cold_start_ms"]["p50"] for p in status["pools"] if p["cold_starts"])
        problems = log_problems(flintd)
        if args.keep_log:
            shutil.copy(os.path.join(flintd.data, "flintd.log"),
                        "%s-%s.log" % (args.keep_log, label))
        for line in problems[:5]:
            log("  flintd: " + line)
        if len(problems) > 5:
            log("  flintd: ... %d more warnings/errors" % (len(problems) - 5))
        return {"policy": label, "invocations": invocations, "cold_starts": cold_starts,
                "cold_pct": 100.0 * cold_starts / max(1, invocations),
                "client_cold": cold, "errors": errors,
                "send_lag_ms": {"p50": 1000 * pct(lags, 50), "p99": 1000 * pct(lags, 99),
                                "max": 1000 * (lags[-1] if lags else math.nan)},
                "late_100ms": sum(1 for x in lags if x > 0.1),
                "cold_start_ms_p50_median_pool": pct(p50s, 50),
                "idle_worker_s": idle_ms / 1000.0,
                "idle_worker_s_trace": idle_ms / 1000.0 * args.compress,
                "evictions": node["evictions"], "replay_s": replay_s,
                "flintd_warnings": len(problems),
                "load_start": load_start, "load_end": load_end,
                "pools": [{k: p[k] for k in ("name", "invocations", "cold_starts", "errors",
                                             "idle_worker_ms", "cold_start_ms", "keep_alive")}
                          for p in status["pools"]]}
    finally:
        flintd.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--functions", type=int, default=200)
    ap.add_argument("--compress", type=float, default=720.0)
    ap.add_argument("--max-daily", type=float, default=1440.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hours", type=float, default=24.0,
                    help="replay only the first HOURS of the generated day (for quick checks)")
    ap.add_argument("--threads", type=int, default=256,
                    help="client threads; each waits for its response, so a slow cold start "
                         "holds one (too few and calls are sent late: see send lag)")
    ap.add_argument("--policies", default="fixed-10m,fixed-1m,adaptive")
    ap.add_argument("--prewarm", type=int, default=4,
                    help="flintd's pre-warmed generic workers (the same for every policy)")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    ap.add_argument("--simulate", action="store_true",
                    help="also run the trace through the pool logic with a virtual clock "
                         "(keep_alive_sim), at this compression and uncompressed")
    ap.add_argument("--simulate-only", action="store_true", help="no flintd: the model only")
    ap.add_argument("--sim", help="path of keep_alive_sim (default: in --build)")
    ap.add_argument("--sim-load-ms", type=int, default=2,
                    help="the model's time to load a worker (ms, real time)")
    ap.add_argument("--tail", type=float, default=3600.0,
                    help="trace seconds after the day's end during which idle time still "
                         "counts (the model counts it until every worker has gone)")
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--keep-log", metavar="PREFIX",
                    help="copy each flintd's log to PREFIX-POLICY.log (with "
                         "--flintd-arg=--log-level --flintd-arg=debug: every pre-warm and cold "
                         "start)")
    args = ap.parse_args()

    events, kinds = generate(args.functions, args.seed, args.max_daily)
    events = [e for e in events if e[0] < args.hours * 3600.0]
    daily = [0] * args.functions
    for _, f in events:
        daily[f] += 1
    counts = sorted(daily)
    log("trace: %d functions, %d invocations in a day; per function min %d, median %d, max %d; "
        "%d timers" % (args.functions, len(events), counts[0], counts[len(counts) // 2],
                       counts[-1], sum(k.startswith("timer") for k in kinds)))

    def ms(seconds):
        return "%dms" % max(1, round(seconds * 1000.0 / args.compress))

    policies = {
        "fixed-10m": (["--keep-alive", ms(600)], ["--keep-alive-policy", "fixed"]),
        "fixed-1m": (["--keep-alive", ms(60)], ["--keep-alive-policy", "fixed"]),
        # Adaptive; until it has learned a function it uses the 10-minute fixed keep-alive.
        "adaptive": (["--keep-alive", ms(600)], ["--keep-alive-policy", "adaptive"]),
    }
    model = {}
    if args.simulate or args.simulate_only:
        for compress in (args.compress, 1.0):
            sim = simulate(args, events, compress)
            model["%g" % compress] = sim
            print_table("Model (scheduler/core Pool, virtual clock), compressed %gx:" % compress,
                        [sim[p] for p in args.policies.split(",") if p in sim])
        if args.simulate_only:
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"args": vars(args), "model": model}, f, indent=2)
            return
    results = []
    for name in args.policies.split(","):
        flintd_flags, deploy_flags = policies[name]
        log("replaying with %s (%s)" % (name, " ".join(flintd_flags + deploy_flags)))
        r = run_policy(args, events, name, flintd_flags, deploy_flags)
        log("  %s" % json.dumps({k: v for k, v in r.items() if k != "pools"}))
        results.append(r)
        if args.json:  # after every policy: a long run that is stopped keeps what it measured
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "results": results, "model": model}, f, indent=2)

    print_table("Trace replay against flintd: %d functions, %d invocations, a day compressed "
                "%gx (load average %s):" % (args.functions, len(events), args.compress,
                                            " ".join("%.2f" % x for x in os.getloadavg())),
                results)
    for r in results:
        print("%s: replay %.0f s, load average %s at the start, %s at the end; %d calls sent "
              "more than 100 ms late (send lag p50 %.1f ms, max %.0f ms); %d client-seen cold "
              "starts; %d flintd warnings/errors" % (
                  r["policy"], r["replay_s"], " ".join("%.2f" % x for x in r["load_start"]),
                  " ".join("%.2f" % x for x in r["load_end"]), r["late_100ms"],
                  r["send_lag_ms"]["p50"], r["send_lag_ms"]["max"], r["client_cold"],
                  r["flintd_warnings"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results, "model": model}, f, indent=2)


if __name__ == "__main__":
    main()
