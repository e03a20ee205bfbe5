#!/usr/bin/env python3
"""Keep-alive policies on traces of serverless calls: the model (scheduler/core's Pool on a
virtual clock, keep_alive_sim) on every family of generated days, and a live replay against
flintd of one trace, checked against the model at the same time compression.

Traces (tools/bench/workload.py): generated days in families (sitw, poisson, bursty, periodic,
busy; several seeds each), any file of "t_ms function [duration_ms]" lines (--trace), or the
Azure Functions 2019 per-minute or hourly counts (--azure, expanded with a stated inter-arrival
model, --azure-model, and durations from --azure-durations). No cap on a function's calls; a
call runs for its duration, so concurrency follows from the calls and their durations.

Policies, on the same days: fixed 10 minutes, fixed 1 minute, the adaptive policy (per worker
slot; docs/autoscaling.md) and the hybrid histogram policy of Shahrad et al., "Serverless in
the Wild", USENIX ATC 2020, as the paper describes it (the last in the model only: flintd does
not offer it). For each: cold starts, cold-start percentage, idle worker-time, worker starts,
and the 99th (and 75th, the paper's figure) percentile of the per-function cold-start
percentage; ratios against fixed 10 minutes.

  # the model on every family, two seeds each (traces cached in $TMPDIR/flint-traces)
  python3 tools/bench/trace_replay.py --build build --simulate-only
  python3 tools/bench/trace_replay.py --build build --simulate-only --families busy --by-class
  python3 tools/bench/trace_replay.py --build build --simulate-only --trace calls.txt
  python3 tools/bench/trace_replay.py --build build --simulate-only \\
      --azure invocations_per_function_md.anon.d01.csv \\
      --azure-durations function_durations_percentiles.anon.d01.csv
  # live: the first 40 functions of a periodic day, a day in 10 minutes, isolation on, each
  # policy against its own flintd, then the model of the same calls at the same compression
  python3 tools/bench/trace_replay.py --build build-release --live --family periodic --seed 1 \\
      --functions 40 --compress 144

A live replay compresses time (--compress, default 144: a day in 10 minutes): every time in the
trace, every keep-alive and every call's duration is divided by it (a call sleeps its
compressed duration in the function), and flintd acts on keep-alive and pre-warm deadlines with
a 1 ms timer. Worker loads and HTTP round trips are not compressed: the model it is checked
against uses the loads flintd measured in the run (cold-start p50) and adds --overhead-ms to
every call. Idle worker-time is flintd's (GET /v1/pools "node.idle_worker_ms"), read --tail
trace seconds after the last call, and the model's up to the same moment. It prints the load
average with every run; on a busy machine the live figures measure the machine as much as the
policy (see docs/benchmarks.md).
"""
import argparse
import concurrent.futures
import csv
import http.client
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
from coldstart import Flintd, log  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAY_MS = 86400_000.0
MODEL_POLICIES = ("fixed-10m", "fixed-1m", "adaptive", "hybrid-histogram")
LIVE_POLICIES = ("fixed-10m", "fixed-1m", "adaptive")
# A call sleeps its (compressed) duration: ?ms=N.
HANDLER = """export const handler = async (event) => {
  const ms = Number(event.queryStringParameters?.ms ?? 0);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return { statusCode: 200, body: "ok" };
};
"""


# ---- traces ----

def cache_dir(args):
    d = args.cache or os.path.join(tempfile.gettempdir(), "flint-traces")
    os.makedirs(d, exist_ok=True)
    return d


def family_trace(args, family, seed, functions):
    """(path of the model's trace file, kinds): generated once, then cached."""
    base = os.path.join(cache_dir(args), "%s-%d-%d-v%d" % (family, seed, functions,
                                                          workload.VERSION))
    path, kinds_path = base + ".trace", base + ".kinds"
    if not (os.path.exists(path) and os.path.exists(kinds_path)):
        t0 = time.monotonic()
        trace = workload.generate(family, seed, functions)
        workload.write_trace(trace, path + ".tmp")
        with open(kinds_path, "w") as f:
            for kind in trace.kinds:
                f.write(kind + "\n")
        os.rename(path + ".tmp", path)
        log("generated %s seed %d: %d functions, %d calls (%.0f s)" % (
            family, seed, functions, len(trace.calls), time.monotonic() - t0))
    with open(kinds_path) as f:
        kinds = [line.rstrip("\n") for line in f]
    return path, kinds


def load_trace(args):
    """The trace of --trace, --azure or --family/--seed (for the live replay and a single
    model run), as a workload.Trace."""
    if args.trace:
        trace = workload.read_trace(args.trace, args.exec_ms)
    elif args.azure:
        trace = workload.read_azure(args.azure, args.azure_model, args.azure_durations,
                                    functions=args.functions)
    else:
        # Each function draws from its own stream: the first N of a day are the same whatever
        # the day's size.
        trace = workload.generate(args.family, args.seed,
                                  args.functions or args.functions_generated)
    if args.functions is not None and args.trace:
        trace = trace.prefix(args.functions)
    if args.hours is not None:
        trace = trace.until(args.hours)
    return trace


# ---- the model ----

def sim_path(args):
    return args.sim or os.path.join(args.build, "tests", "unit", "scheduler", "core",
                                    "keep_alive_sim")


def simulate(args, path, policies=None, extra=()):
    """Runs keep_alive_sim on a trace file; returns ({policy: result}, per-function rows)."""
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
        per_function = f.name
    try:
        cmd = [sim_path(args), path, "--max-instances", str(args.max_instances),
               "--per-function", per_function, *extra]
        for p in policies or []:
            cmd += ["--policy", p]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("keep_alive_sim failed: %s" % out.stderr.strip())
        results = {}
        for line in out.stdout.splitlines():
            r = json.loads(line)
            results[r["policy"]] = r
        with open(per_function) as f:
            rows = list(csv.DictReader(f))
        return results, rows
    finally:
        os.unlink(per_function)


def print_table(title, results, order=MODEL_POLICIES):
    base = results.get("fixed-10m")
    print("\n" + title)
    print("| policy | calls | cold starts | cold-start % | idle worker-h | worker starts | "
          "p99 function cold % | p75 function cold % | cold starts vs fixed 10 min | "
          "idle vs fixed 10 min |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in order:
        r = results.get(name)
        if r is None:
            continue
        cold = r["cold_starts"] / base["cold_starts"] if base and base["cold_starts"] else math.nan
        idle = (r["idle_worker_ms"] / base["idle_worker_ms"]
                if base and base["idle_worker_ms"] else math.nan)
        print("| %s | %d | %d | %.3f%% | %.0f | %d | %.1f%% | %.1f%% | %.2fx | %.2fx |" % (
            name, r["invocations"], r["cold_starts"], r["cold_pct"],
            r["idle_worker_ms"] / 3.6e6, r["worker_starts"], r["function_cold_pct_p99"],
            r["function_cold_pct_p75"], cold, idle))


def class_table(rows, kinds):
    """Cold starts and idle worker-hours per class of function (workload.classify)."""
    per = {}
    for r in rows:
        per.setdefault(int(r["function"]), {})[r["policy"]] = r
    functions = sorted(per)
    counts = [int(next(iter(per[f].values()))["invocations"]) for f in functions]
    labels = workload.classify([kinds[f] if f < len(kinds) else "trace" for f in functions],
                               counts)
    classes = {}
    for f, n, cls in zip(functions, counts, labels):
        entry = classes.setdefault(cls, {"functions": 0, "calls": 0})
        entry["functions"] += 1
        entry["calls"] += n
        for p, row in per[f].items():
            c = entry.setdefault(p, [0, 0])
            c[0] += int(row["cold_starts"])
            c[1] += int(row["idle_ms"])
    policies = [p for p in MODEL_POLICIES if any(p in e for e in classes.values())]
    print("| functions | count | calls | " + " | ".join(
        "cold starts, %s | idle h, %s" % (p, p) for p in policies) + " |")
    print("| --- | ---: | ---: |" + " ---: | ---: |" * len(policies))
    for cls in sorted(classes):
        e = classes[cls]
        print("| %s | %d | %d | " % (cls, e["functions"], e["calls"]) + " | ".join(
            "%d | %.0f" % (e[p][0], e[p][1] / 3.6e6) for p in policies) + " |")


def target_line(results):
    f, a = results.get("fixed-10m"), results.get("adaptive")
    if not f or not a or not f["cold_starts"] or not f["idle_worker_ms"]:
        return ""
    cold = a["cold_starts"] / f["cold_starts"]
    idle = a["idle_worker_ms"] / f["idle_worker_ms"]
    return ("adaptive vs fixed 10 min: cold starts %.2fx (at most 1x: %s), idle worker-time "
            "%.2fx (at most 0.5x: %s)" % (cold, "met" if cold <= 1.0 else "NOT met", idle,
                                          "met" if idle <= 0.5 else "not met"))


def model_families(args):
    summary = []
    all_results = {}
    for family in args.families.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            path, kinds = family_trace(args, family, seed, args.functions_generated)
            t0 = time.monotonic()
            results, rows = simulate(args, path, extra=["--load-ms", str(args.sim_load_ms)])
            any_r = next(iter(results.values()))
            print_table("Model, family %s, seed %d: %d functions called, %d calls (%.0f s; load "
                        "average %s)" % (family, seed, any_r["functions"],
                                         any_r["invocations"], time.monotonic() - t0,
                                         " ".join("%.2f" % x for x in os.getloadavg())),
                        results)
            print(target_line(results))
            if args.by_class:
                print()
                class_table(rows, kinds)
            all_results["%s-%d" % (family, seed)] = results
            f, a = results["fixed-10m"], results["adaptive"]
            summary.append((family, seed, a["cold_starts"] / max(1, f["cold_starts"]),
                            a["idle_worker_ms"] / max(1, f["idle_worker_ms"]),
                            results.get("hybrid-histogram")))
    print("\nSummary, adaptive against fixed 10 minutes (and the hybrid histogram policy):")
    print("| family | seed | cold starts | idle worker-time | hybrid histogram: cold starts | "
          "hybrid histogram: idle |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for family, seed, cold, idle, h in summary:
        f = all_results["%s-%d" % (family, seed)]["fixed-10m"]
        print("| %s | %d | %.2fx | %.2fx | %s | %s |" % (
            family, seed, cold, idle,
            "%.2fx" % (h["cold_starts"] / max(1, f["cold_starts"])) if h else "-",
            "%.2fx" % (h["idle_worker_ms"] / max(1, f["idle_worker_ms"])) if h else "-"))
    return all_results


def model_trace(args):
    trace = load_trace(args)
    with tempfile.NamedTemporaryFile("w", suffix=".trace", delete=False) as f:
        path = f.name
    try:
        workload.write_trace(trace, path)
        results, rows = simulate(args, path, extra=["--load-ms", str(args.sim_load_ms)])
    finally:
        os.unlink(path)
    counts = trace.per_function_counts()
    print_table("Model, %s: %d functions, %d calls" % (
        args.trace or args.azure, sum(1 for c in counts if c), len(trace.calls)), results)
    print(target_line(results))
    if args.by_class:
        print()
        class_table(rows, trace.kinds)
    return results


# ---- the live replay ----

def deploy_all(flintd, names, flags):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "index.mjs")
        with open(path, "w") as f:
            f.write(HANDLER)
        for name in names:
            flintd.cli("deploy", name, path, *flags)


def replay(flintd, trace, compress, threads):
    """Sends every call at its compressed time, with its compressed duration. Returns the
    client's count of responses marked X-Flint-Cold-Start, errors, and each call's send lag
    (how much later than due it left, in real seconds)."""
    local = threading.local()
    cold, errors, lags = [0], [0], []
    lock = threading.Lock()
    start = time.monotonic()

    def call(name, due, ms):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
        lag = time.monotonic() - due
        try:
            conn.request("GET", "/fn/%s?ms=%d" % (name, ms))
            r = conn.getresponse()
            r.read()
            with lock:
                lags.append(lag)
                errors[0] += r.status != 200
                cold[0] += r.getheader("x-flint-cold-start") == "true"
        except (OSError, http.client.HTTPException):
            local.conn = None
            with lock:
                lags.append(lag)
                errors[0] += 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        for i, (t_ms, fn, d_ms) in enumerate(trace.calls):
            due = start + t_ms / 1000.0 / compress
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(call, trace.names[fn], due, round(d_ms / compress))
            if i and i % 5000 == 0:
                with lock:
                    answered = len(lags)
                log("  %d/%d calls due, %d answered (%.0f s; load %.2f)" % (
                    i, len(trace.calls), answered, time.monotonic() - start,
                    os.getloadavg()[0]))
    return cold[0], errors[0], sorted(lags)


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p / 100.0))] if values else math.nan


def log_problems(flintd):
    try:
        with open(os.path.join(flintd.data, "flintd.log"), errors="replace") as f:
            return [line.rstrip() for line in f if "warn" in line or "error" in line]
    except OSError:
        return []


def wait_generic(flintd, timeout=60):
    """Waits until flintd's pre-warmed generic workers are back after the deploys."""
    deadline = time.monotonic() + timeout
    last, stable = -1, 0
    while time.monotonic() < deadline:
        ready = flintd.pools()["node"]["generic_ready"]
        stable = stable + 1 if ready == last and ready > 0 else 0
        if stable >= 10:
            return
        last = ready
        time.sleep(0.1)


def run_live(args, trace, label):
    ms = lambda seconds: "%dms" % max(1, round(seconds * 1000.0 / args.compress))  # noqa: E731
    keep = {"fixed-10m": ms(600), "fixed-1m": ms(60), "adaptive": ms(600)}[label]
    mode = "adaptive" if label == "adaptive" else "fixed"
    flintd = Flintd(args.build, ["--memory-budget", args.memory_budget, *args.flintd_arg])
    try:
        names = [n for n, c in zip(trace.names, trace.per_function_counts()) if c]
        deploy_all(flintd, names, ["--keep-alive", keep, "--keep-alive-policy", mode,
                                   "--max-instances", str(args.max_instances)])
        wait_generic(flintd)
        load_start = os.getloadavg()
        before = flintd.pools()["node"]
        t0 = time.monotonic()
        cold, errors, lags = replay(flintd, trace, args.compress, args.threads)
        replay_s = time.monotonic() - t0
        end_s = (trace.calls[-1][0] / 1000.0 + args.tail) / args.compress
        wait = t0 + end_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        status = flintd.pools()
        node = status["node"]
        p50s = sorted(p["cold_start_ms"]["p50"] for p in status["pools"] if p["cold_starts"])
        problems = log_problems(flintd)
        for line in problems[:5]:
            log("  flintd: " + line)
        if args.keep_log:
            shutil.copy(os.path.join(flintd.data, "flintd.log"),
                        "%s-%s.log" % (args.keep_log, label))
        return {"policy": label, "invocations": node["invocations"] - before["invocations"],
                "cold_starts": node["cold_starts"] - before["cold_starts"],
                "idle_worker_ms": node["idle_worker_ms"] - before["idle_worker_ms"],
                "client_cold": cold, "errors": errors, "replay_s": replay_s,
                "send_lag_ms_p99": 1000 * pct(lags, 99),
                "late_100ms": sum(1 for x in lags if x > 0.1),
                "cold_start_ms_p50": pct(p50s, 50), "flintd_warnings": len(problems),
                "load_start": load_start, "load_end": os.getloadavg()}
    finally:
        flintd.stop()


def live(args):
    trace = load_trace(args)
    counts = trace.per_function_counts()
    log("live replay: %d functions, %d calls, a day compressed %gx (%.0f s per policy)" % (
        sum(1 for c in counts if c), len(trace.calls), args.compress,
        (trace.calls[-1][0] / 1000.0 + args.tail) / args.compress))
    results = []
    for label in args.policies.split(","):
        if label not in LIVE_POLICIES:
            raise SystemExit("live policies: %s (the hybrid histogram is model-only)" %
                             ", ".join(LIVE_POLICIES))
        log("replaying with %s" % label)
        r = run_live(args, trace, label)
        log("  %s" % json.dumps(r))
        results.append(r)
    # The model of the same calls, compressed the same way, with the loads flintd measured.
    load_ms = max(1, round(min(r["cold_start_ms_p50"] for r in results
                               if not math.isnan(r["cold_start_ms_p50"]))))
    compressed = workload.Trace(
        [(t / args.compress, f, d / args.compress + args.overhead_ms) for t, f, d in trace.calls],
        trace.names, trace.kinds)
    with tempfile.NamedTemporaryFile("w", suffix=".trace", delete=False) as f:
        path = f.name
    try:
        workload.write_trace(compressed, path)
        until = round((trace.calls[-1][0] / 1000.0 + args.tail) * 1000.0 / args.compress)
        model, _ = simulate(args, path, extra=["--scale", "%g" % args.compress, "--load-ms",
                                               str(load_ms), "--until-ms", str(until)])
    finally:
        os.unlink(path)
    print("\nLive replay against flintd (%s), %d functions, %d calls, a day compressed %gx; "
          "the model of the same calls (load %d ms, +%g ms a call), and live / model:" % (
              " ".join(args.flintd_arg) or "isolation on", sum(1 for c in counts if c),
              len(trace.calls), args.compress, load_ms, args.overhead_ms))
    print("| policy | cold starts, live | cold starts, model | live / model | idle worker-s, "
          "live | idle worker-s, model | live / model | errors | calls sent > 100 ms late | "
          "cold start p50 ms | load average |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        m = model[r["policy"]]
        print("| %s | %d | %d | %.2f | %.0f | %.0f | %.2f | %d | %d | %.2f | %s -> %s |" % (
            r["policy"], r["cold_starts"], m["cold_starts"],
            r["cold_starts"] / max(1, m["cold_starts"]), r["idle_worker_ms"] / 1000.0,
            m["idle_worker_ms"] / 1000.0, r["idle_worker_ms"] / max(1, m["idle_worker_ms"]),
            r["errors"], r["late_100ms"], r["cold_start_ms_p50"],
            " ".join("%.2f" % x for x in r["load_start"]),
            " ".join("%.2f" % x for x in r["load_end"])))
    f = next((r for r in results if r["policy"] == "fixed-10m"), None)
    a = next((r for r in results if r["policy"] == "adaptive"), None)
    if f and a:
        print("adaptive vs fixed 10 min, live: cold starts %.2fx, idle %.2fx; model: %.2fx, "
              "%.2fx" % (a["cold_starts"] / max(1, f["cold_starts"]),
                         a["idle_worker_ms"] / max(1, f["idle_worker_ms"]),
                         model["adaptive"]["cold_starts"] / max(1, model["fixed-10m"]["cold_starts"]),
                         model["adaptive"]["idle_worker_ms"] /
                         max(1, model["fixed-10m"]["idle_worker_ms"])))
    return {"live": results, "model": model}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sim", help="path of keep_alive_sim (default: in --build)")
    ap.add_argument("--cache", help="where generated days are kept (default $TMPDIR/flint-traces)")
    src = ap.add_argument_group("traces")
    src.add_argument("--families", default=",".join(workload.FAMILIES),
                     help="generated families for --simulate-only (default: all)")
    src.add_argument("--seeds", default="1,2", help="seeds per family (default 1,2)")
    src.add_argument("--functions-generated", type=int, default=300,
                     help="functions in a generated day (default 300)")
    src.add_argument("--family", default="periodic", help="the generated family to replay live")
    src.add_argument("--seed", type=int, default=1)
    src.add_argument("--functions", type=int,
                     help="replay or model only the first N functions of the day")
    src.add_argument("--hours", type=float, help="only the first HOURS of the day")
    src.add_argument("--trace", help='a file of "t_ms function [duration_ms]" lines')
    src.add_argument("--azure", help="an Azure Functions 2019 counts file (per minute or hour)")
    src.add_argument("--azure-durations", help="its function_durations_percentiles file")
    src.add_argument("--azure-model", default="uniform", choices=workload.AZURE_MODELS,
                     help="inter-arrival model within a count's minute (or hour)")
    src.add_argument("--exec-ms", type=float, default=1.0,
                     help="a call's duration when the trace gives none (ms)")
    model = ap.add_argument_group("model")
    model.add_argument("--simulate-only", action="store_true", help="no flintd: the model only")
    model.add_argument("--by-class", action="store_true",
                       help="also cold starts and idle time per class of function")
    model.add_argument("--sim-load-ms", type=int, default=2,
                       help="the model's time to load a worker (ms; default 2)")
    model.add_argument("--max-instances", type=int, default=100,
                       help="most workers per function, model and live (default 100)")
    live_g = ap.add_argument_group("live replay")
    live_g.add_argument("--live", action="store_true", help="replay against flintd")
    live_g.add_argument("--policies", default=",".join(LIVE_POLICIES))
    live_g.add_argument("--compress", type=float, default=144.0)
    live_g.add_argument("--threads", type=int, default=256,
                        help="client threads (too few and calls are sent late: see send lag)")
    live_g.add_argument("--tail", type=float, default=3600.0,
                        help="trace seconds after the last call during which idle time counts")
    live_g.add_argument("--overhead-ms", type=float, default=1.0,
                        help="the model adds this to every call's compressed duration: "
                             "flintd's and the worker's part of a live call")
    live_g.add_argument("--memory-budget", default="64G")
    live_g.add_argument("--flintd-arg", action="append", default=[],
                        help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    live_g.add_argument("--keep-log", metavar="PREFIX",
                        help="copy each flintd's log to PREFIX-POLICY.log")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    if not os.path.exists(sim_path(args)):
        raise SystemExit("%s not found: build the tests (keep_alive_sim) first" % sim_path(args))
    if args.live:
        out = live(args)
    elif args.trace or args.azure:
        out = model_trace(args)
    else:
        if not args.simulate_only:
            raise SystemExit("say --simulate-only (the model on every family) or --live")
        out = model_families(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": out}, f, indent=2)


if __name__ == "__main__":
    main()
