#!/usr/bin/env python3
"""Cold starts under churn: many functions, a memory budget that holds few of their workers.

One flintd with default flags apart from --memory-budget (4G: 32 workers of 128 MB). It deploys
--functions JavaScript functions (128 MB each), then:

  1. baseline: --baseline cold starts of distinct functions, each on a settled node (no worker
     of the function, the pre-warmed generic workers ready, the previous worker gone): what one
     cold start costs here now;
  2. round-robin: one client calls every function in turn, --rounds times (each call is a cold
     start: the node holds 32 workers, so each call evicts the least recently used idle worker
     of another function), as fast as the answers come;
  3. burst: --burst distinct cold functions called at once (one connection each).

It prints p50/p99/max of the client's time for the calls that were cold starts (X-Flint-Cold-
Start) in each phase, flintd's own cold-start p50/p99 (request needing a worker -> LOADED,
median over the pools), the ratios of the churn figures to the baseline's p50 measured in the
same run, how many cold starts found no pre-warmed worker ready (flintd's spawn_waits), the CPU
time a round-robin call costs (flintd and every process under it, whatever else the machine
runs) with the bound it sets on cold starts a second, and the load average at the start and
the end.

  python3 tools/bench/churn.py --build build-release
  python3 tools/bench/churn.py --build build-release --flintd-arg=--prewarm --flintd-arg=4
"""
import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coldstart import Flintd, RawHttp, log, pct, settled, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HANDLER = """export const handler = async () => ({ statusCode: 200, body: "ok" });
"""


def cpu_seconds(pid):
    """CPU time of `pid` and every descendant: its own, its reaped children's (which the kernel
    adds to it), and its live descendants'. Load-independent: what a cold start costs the node
    whatever else runs."""
    tick = os.sysconf("SC_CLK_TCK")
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents.setdefault(int(fields[1]), []).append((int(entry), fields))
    total, stack = 0.0, [pid]
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    total += sum(int(x) for x in fields[11:15]) / tick
    while stack:
        for child, fields in parents.get(stack.pop(), []):
            total += sum(int(x) for x in fields[11:15]) / tick
            stack.append(child)
    return total


def stats(values):
    return {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99),
            "max": max(values) if values else float("nan")}


def server_cold(flintd):
    pools = [p for p in flintd.pools()["pools"] if p["cold_starts"]]
    p50s = [p["cold_start_ms"]["p50"] for p in pools]
    p99s = [p["cold_start_ms"]["p99"] for p in pools]
    return {"p50_median_pool": pct(p50s, 50), "p99_max_pool": max(p99s) if p99s else 0.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--functions", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--baseline", type=int, default=30,
                    help="isolated cold starts measured first, for the ratios")
    ap.add_argument("--memory-budget", default="4G")
    ap.add_argument("--memory", type=int, default=128, help="each function's memory (MB)")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--prewarm "
                         "--flintd-arg=4")
    ap.add_argument("--keep-log", help="copy flintd's log here")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()

    load_start = os.getloadavg()
    flintd = Flintd(args.build, ["--memory-budget", args.memory_budget, *args.flintd_arg],
                    args.keep_log)
    try:
        names = ["c%03d" % i for i in range(args.functions)]
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "index.mjs")
            with open(path, "w") as f:
                f.write(HANDLER)
            for name in names:
                flintd.cli("deploy", name, path, "--memory", str(args.memory))
        log("deployed %d functions (%.0f s)" % (len(names), time.monotonic() - t0))
        prewarm = flintd.pools()["node"]["generic_ready"]

        # 1. Isolated cold starts, each on a settled node.
        conn = RawHttp(flintd.port)
        baseline = []
        for name in names[:args.baseline]:
            wait_for(lambda: settled(flintd.pools(), name, 1), timeout=60)
            t = time.perf_counter()
            status, headers, _ = conn.get("/fn/" + name)
            ms = (time.perf_counter() - t) * 1000.0
            if status == 200 and headers.get("x-flint-cold-start") == "true":
                baseline.append(ms)
        # Let the baseline's workers go: a clean start for the churn (they are idle, and the
        # round-robin evicts them anyway).
        time.sleep(1.0)
        spawned_before = flintd.pools()["node"].get("spawn_waits", 0)

        # 2. Round-robin, one client, as fast as answers come.
        rr, rr_all, errors = [], [], 0
        load_rr = os.getloadavg()
        cpu0 = cpu_seconds(flintd.proc.pid)
        t0 = time.monotonic()
        for _ in range(args.rounds):
            for name in names:
                t = time.perf_counter()
                status, headers, _ = conn.get("/fn/" + name)
                ms = (time.perf_counter() - t) * 1000.0
                rr_all.append(ms)
                if status != 200:
                    errors += 1
                elif headers.get("x-flint-cold-start") == "true":
                    rr.append(ms)
        rr_s = time.monotonic() - t0
        # Let the last evicted workers exit, so that their CPU time is counted.
        time.sleep(2.0)
        rr_cpu_ms = (cpu_seconds(flintd.proc.pid) - cpu0) * 1000.0 / max(1, len(rr_all))
        node_after_rr = flintd.pools()["node"]

        # 3. A burst of distinct cold functions at once: the ones called longest ago.
        time.sleep(0.5)
        burst_names = names[:args.burst]
        conns = [RawHttp(flintd.port) for _ in burst_names]

        def one(i):
            t = time.perf_counter()
            status, headers, _ = conns[i].get("/fn/" + burst_names[i])
            return (time.perf_counter() - t) * 1000.0, status, headers.get("x-flint-cold-start")

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(burst_names)) as ex:
            burst_all = list(ex.map(one, range(len(burst_names))))
        burst = [ms for ms, status, cold in burst_all if status == 200 and cold == "true"]
        errors += sum(1 for _, status, _ in burst_all if status != 200)
        node = flintd.pools()["node"]
        server = server_cold(flintd)
    finally:
        flintd.stop()
    load_end = os.getloadavg()

    base = stats(baseline)
    out = {"baseline": base, "round_robin": stats(rr), "round_robin_all_calls": stats(rr_all),
           "burst": stats(burst), "errors": errors, "server": server,
           "round_robin_calls_per_s": len(rr_all) / rr_s if rr_s else 0.0,
           "round_robin_cpu_ms_per_call": rr_cpu_ms,
           "generic_ready_after_deploy": prewarm,
           "spawn_waits": node.get("spawn_waits", 0) - spawned_before,
           "evictions": node["evictions"], "evictions_round_robin": node_after_rr["evictions"],
           "load_start": load_start, "load_round_robin": load_rr, "load_end": load_end,
           "flintd_args": args.flintd_arg}
    print("\nCold starts under churn: %d functions x %d MB, --memory-budget %s, %s; load "
          "average %s at the start, %s at the round-robin, %s at the end" % (
              args.functions, args.memory, args.memory_budget,
              " ".join(args.flintd_arg) or "default flags",
              " ".join("%.2f" % x for x in load_start), " ".join("%.2f" % x for x in load_rr),
              " ".join("%.2f" % x for x in load_end)))
    print("| phase | cold starts | p50 ms | p99 ms | max ms | p50 / baseline p50 | "
          "p99 / baseline p50 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, s in (("baseline (settled node)", base), ("round-robin, one client", stats(rr)),
                     ("burst of %d at once" % args.burst, stats(burst))):
        print("| %s | %d | %.2f | %.2f | %.2f | %.2fx | %.2fx |" % (
            label, s["n"], s["p50"], s["p99"], s["max"], s["p50"] / base["p50"],
            s["p99"] / base["p50"]))
    print("round-robin: %d calls in %.1f s (%.0f a second), %d of them cold starts; %d errors; "
          "%d evictions; %s cold starts found no pre-warmed worker ready; generic pools sized "
          "%s at the end; flintd's cold start (request -> LOADED) p50 %.2f ms (median over "
          "pools), p99 %.2f ms (worst pool)" % (
              len(rr_all), rr_s, out["round_robin_calls_per_s"], len(rr), errors,
              node["evictions"], out["spawn_waits"], node.get("generic_target", "?"),
              server["p50_median_pool"], server["p99_max_pool"]))
    cores = os.cpu_count() or 1
    print("CPU per round-robin call (flintd, its workers and their sandboxes, all processes): "
          "%.1f ms, so %d CPUs start at most %.0f such cold starts a second, a mean of %.1f ms "
          "per call for one client once the pre-warmed pool is used up" % (
              rr_cpu_ms, cores, cores * 1000.0 / rr_cpu_ms if rr_cpu_ms else 0.0,
              rr_cpu_ms / cores))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
