#!/usr/bin/env python3
"""The Node.js runtime against the lean V8 runtime, measured in the same run.

  python3 tools/bench/node.py --build build-release            # everything, about 4 minutes
  python3 tools/bench/node.py --build build --samples 50 --duration 3 --reps 1

Three figures, each printed with its ratio to the lean runtime's (`v8`) and the load average:

  cold     pre-warmed cold start: a pool at zero gets one request, many times (the method of
           coldstart.py: each sample waits until the last worker has exited and a generic worker
           of the runtime is ready). Node.js: a CommonJS handler that requires crypto and zlib
           and uses both; v8: functions/hello (it cannot require anything). e2e (the client's
           time) and server (flintd's: request needing a worker -> LOADED) p50 and p99.
  warm     warm throughput of functions/hello deployed on each runtime (the same module), wrk
           -t1 -c50, the runs interleaved, the median of --reps; requests/s, p50, p99.
  memory   idle warm workers: --workers of each runtime kept warm (min-instances), then their
           PSS (proportional set size: shared pages split between the processes sharing them)
           with its anonymous and file-backed parts, and RSS, per worker process; the sandbox's
           two waiting processes of each worker are reported apart.

Needs a built flintd, flint-worker and flint in --build, wrk, and root for the isolation flintd
uses by default (pass --flintd-arg=--no-isolation otherwise).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import coldstart  # noqa: E402
from procs import descendants  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELLO = os.path.join(ROOT, "functions", "hello")

# A cold start that has Node.js load two heavy built-ins (already pre-loaded by the bootstrap)
# and run them once.
CRYPTO_ZLIB = """\
const crypto = require('crypto');
const zlib = require('zlib');
exports.handler = async (event) => {
  const name = event.queryStringParameters?.name ?? 'world';
  const digest = crypto.createHash('sha256').update(name).digest('hex');
  const packed = zlib.gzipSync(Buffer.from(name.repeat(16)));
  return { statusCode: 200, headers: { 'content-type': 'text/plain' },
           body: `Hello, ${name}! ${digest.slice(0, 8)} ${packed.length}\\n` };
};
"""

log = coldstart.log


def flintd_args(args):
    return ["--prewarm", "1", "--prewarm-cpp", "0", "--prewarm-node", "1", *args.flintd_arg]


def cold(args, runtime, path):
    flintd = coldstart.Flintd(args.build, flintd_args(args))
    try:
        name = "cold"
        flintd.cli("deploy", name, path, "--runtime", runtime, "--keep-alive", "100ms")
        conn = coldstart.RawHttp(flintd.port)
        e2e, misses = [], 0
        # One generic worker of each pre-warmed runtime (v8 and node).
        ready = lambda: coldstart.settled(flintd.pools(), name, 2)  # noqa: E731
        for i in range(args.samples):
            coldstart.wait_for(ready, timeout=60)
            t0 = time.perf_counter()
            status, headers, _ = conn.get("/fn/%s?name=cold" % name)
            elapsed = (time.perf_counter() - t0) * 1000.0
            if status != 200:
                raise RuntimeError("cold request failed: %d" % status)
            if headers.get("x-flint-cold-start") == "true":
                e2e.append(elapsed)
            else:
                misses += 1
            if (i + 1) % 50 == 0:
                log("  %d/%d" % (i + 1, args.samples))
        server = flintd.pool(name)["cold_start_ms"]
        return {"samples": len(e2e), "not_cold": misses,
                "e2e_p50": coldstart.pct(e2e, 50), "e2e_p99": coldstart.pct(e2e, 99),
                "server_p50": server["p50"], "server_p99": server["p99"]}
    finally:
        flintd.stop()


def warm(args):
    flintd = bench.Flintd(args.build, flintd_args(args))
    try:
        for runtime in ("v8", "node"):
            flintd.cli("deploy", "hello-" + runtime, HELLO, "--runtime", runtime,
                       "--memory", "1769", "--max-instances", "10")
        runs = {"v8": [], "node": []}
        for rep in range(args.reps):
            for runtime in ("v8", "node"):
                url = "%s/fn/hello-%s?name=Ada" % (flintd.url, runtime)
                bench.wrk(url, 50, 1)  # warm the pool and the JIT
                r = bench.wrk(url, 50, args.duration)
                if r.get("errors"):
                    raise RuntimeError("%s: %d errors" % (runtime, r["errors"]))
                runs[runtime].append(r)
                log("  warm %s rep %d: %.0f req/s" % (runtime, rep + 1, r["rps"]))
        out = {}
        for runtime, rs in runs.items():
            out[runtime] = {"rps": statistics.median(r["rps"] for r in rs),
                            "p50": statistics.median(r["p50"] for r in rs),
                            "p99": statistics.median(r["p99"] for r in rs)}
        return out
    finally:
        flintd.stop()


def smaps_rollup(pid):
    out = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])  # kB
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def memory(args):
    flintd = bench.Flintd(args.build, flintd_args(args))
    try:
        for runtime in ("v8", "node"):
            flintd.cli("deploy", "idle-" + runtime, HELLO, "--runtime", runtime,
                       "--min-instances", str(args.workers), "--keep-alive", "1h")
            for _ in range(args.workers):
                subprocess.run(["curl", "-sf", "-o", "/dev/null",
                                "%s/fn/idle-%s" % (flintd.url, runtime)], check=True)
        time.sleep(3)  # let start-up garbage be collected and the pools settle
        out = {}
        for runtime in ("v8", "node"):
            workers, helpers = [], []
            for pid in descendants(flintd.proc.pid):
                line = cmdline(pid)
                if line.startswith("flint-worker idle-%s@" % runtime):
                    workers.append(smaps_rollup(pid))
            # The sandbox's waiting processes (the one flintd spawned and PID 1) of every worker:
            # flint-worker processes still titled as started.
            for pid in descendants(flintd.proc.pid):
                if cmdline(pid).startswith(os.path.join(args.build, "runtime", "flint-worker")):
                    helpers.append(smaps_rollup(pid))
            if len(workers) < args.workers:
                raise RuntimeError("found %d idle %s workers, wanted %d" % (
                    len(workers), runtime, args.workers))
            mean = lambda rows, key: statistics.mean(r.get(key, 0) for r in rows) / 1024.0  # noqa
            out[runtime] = {"workers": len(workers),
                            "pss": mean(workers, "Pss"), "pss_anon": mean(workers, "Pss_Anon"),
                            "pss_file": mean(workers, "Pss_File"), "rss": mean(workers, "Rss"),
                            "helper_pss": mean(helpers, "Pss") if helpers else 0.0}
        return out
    finally:
        flintd.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--samples", type=int, default=200, help="cold starts per runtime")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=3, help="wrk runs per runtime (median)")
    ap.add_argument("--workers", type=int, default=3, help="idle warm workers per runtime")
    ap.add_argument("--only", choices=["cold", "warm", "memory"], action="append")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()
    parts = args.only or ["cold", "warm", "memory"]
    load_before = os.getloadavg()
    results = {}
    if "cold" in parts:
        with tempfile.TemporaryDirectory(prefix="flint-bench-node-") as tmp:
            path = os.path.join(tmp, "index.js")
            with open(path, "w") as f:
                f.write(CRYPTO_ZLIB)
            log("cold starts: v8 (functions/hello), %d samples" % args.samples)
            results["cold_v8"] = cold(args, "v8", HELLO)
            log("cold starts: node (crypto + zlib), %d samples" % args.samples)
            results["cold_node"] = cold(args, "node", path)
    if "warm" in parts:
        log("warm throughput: hello on v8 and node, %d x %d s" % (args.reps, args.duration))
        results["warm"] = warm(args)
    if "memory" in parts:
        log("idle warm workers: %d per runtime" % args.workers)
        results["memory"] = memory(args)
    load_after = os.getloadavg()

    print("\nNode.js runtime vs the lean V8 runtime; load average %s at the start, %s at the end"
          % (" ".join("%.2f" % x for x in load_before), " ".join("%.2f" % x for x in load_after)))
    if "cold_node" in results:
        v, n = results["cold_v8"], results["cold_node"]
        print("\nPre-warmed cold start (ms; node: a handler requiring crypto and zlib, "
              "v8: hello)")
        print("| runtime | samples | e2e p50 | e2e p99 | server p50 | server p99 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, r in (("v8", v), ("node", n)):
            print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (
                label, r["samples"], r["e2e_p50"], r["e2e_p99"], r["server_p50"],
                r["server_p99"]))
        print("| node / v8 | | %.2fx | %.2fx | %.2fx | %.2fx |" % (
            n["e2e_p50"] / v["e2e_p50"], n["e2e_p99"] / v["e2e_p99"],
            n["server_p50"] / v["server_p50"], n["server_p99"] / v["server_p99"]))
        print("targets (node): e2e p50 <= 5 ms: %s; e2e p99 <= 15 ms: %s" % (
            "met" if n["e2e_p50"] <= 5 else "MISSED", "met" if n["e2e_p99"] <= 15 else "MISSED"))
    if "warm" in results:
        w = results["warm"]
        print("\nWarm throughput of hello (wrk -t1 -c50, median of %d x %d s)" % (
            args.reps, args.duration))
        print("| runtime | req/s | p50 ms | p99 ms |")
        print("| --- | ---: | ---: | ---: |")
        for label in ("v8", "node"):
            print("| %s | %.0f | %.2f | %.2f |" % (label, w[label]["rps"], w[label]["p50"],
                                                 w[label]["p99"]))
        ratio = w["node"]["rps"] / w["v8"]["rps"]
        print("| node / v8 | %.2fx | | |" % ratio)
        print("target: node >= 0.9x v8: %s" % ("met" if ratio >= 0.9 else "MISSED"))
    if "memory" in results:
        m = results["memory"]
        print("\nIdle warm worker memory (MiB per worker process; PSS splits shared pages)")
        print("| runtime | workers | PSS | of it anonymous | of it file-backed | RSS | "
              "sandbox helpers' PSS (each) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label in ("v8", "node"):
            r = m[label]
            print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
                label, r["workers"], r["pss"], r["pss_anon"], r["pss_file"], r["rss"],
                r["helper_pss"]))
        print("| node / v8 | | %.2fx | | | %.2fx | |" % (m["node"]["pss"] / m["v8"]["pss"],
                                                       m["node"]["rss"] / m["v8"]["rss"]))


if __name__ == "__main__":
    main()
