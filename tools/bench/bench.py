#!/usr/bin/env python3
"""Flint benchmark: warm throughput and latency, and cold starts, against a Node.js baseline.

Starts flintd (temporary data directory) and a plain Node.js http server that serves the same
handler module, drives both with wrk in the same run (interleaved, median of --reps runs), and
prints Flint's figures with their ratio to Node's. The C++ twin of `hello` (functions/hello-cpp,
compiled by flintd on deploy) is driven in the same run, and compared with the JS one. Then
measures cold starts: a function whose keep-alive is short enough that its pool is at zero
before each request, with and without the pre-warmed generic worker pool, for JS and for C++.

  tools/bench/run.sh                       # everything, about 3 minutes
  tools/bench/run.sh --duration 5 --reps 1 --cold 100
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "tools", "bench")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Flintd:
    def __init__(self, build, extra_args=()):
        self.build = build
        self.data, self.log, self.proc, self.url = flintd_launch.launch(
            build, extra_args, "flint-bench-")
        self.port = int(self.url.rsplit(":", 1)[1])

    def cli(self, *args):
        env = dict(os.environ, FLINT_DATA_DIR=self.data, FLINT_URL=self.url)
        out = subprocess.run([os.path.join(self.build, "tools", "cli", "flint"), *args],
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("flint %s: %s" % (" ".join(args), out.stderr.strip()))
        return out.stdout

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def start_node(port, handler):
    proc = subprocess.Popen(["node", os.path.join(BENCH, "node_baseline.mjs"), str(port), handler],
                            stdout=subprocess.DEVNULL, start_new_session=True)
    wait_http("127.0.0.1", port, "/")
    return proc


def wait_http(host, port, path, timeout=20):
    deadline = time.time() + timeout
    while True:
        try:
            c = http.client.HTTPConnection(host, port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.02)


def wrk(url, conns, duration, body_file=None, cpu=None):
    """wrk -t1 with percentiles.lua; `cpu`: pin wrk to that CPU."""
    env = dict(os.environ, BODY_FILE=body_file or "")
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--latency",
           "-s", os.path.join(BENCH, "percentiles.lua"), url]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu)] + cmd
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    r = {}
    for line in out.splitlines():
        m = re.match(r"FLINT (\S+) (\S+)(.*)", line)
        if not m:
            continue
        if m.group(1) == "requests":
            parts = line.split()
            r["requests"] = int(parts[2])
            r["rps"] = int(parts[2]) / (int(parts[4]) / 1e6)
            r["errors"] = int(parts[6]) + int(parts[8])
        else:
            r[m.group(1)] = int(m.group(2)) / 1000.0  # ms
    return r


def median_runs(runs):
    keys = ["rps", "p50", "p90", "p99", "p99.9", "errors"]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def cold_starts(flintd, name, samples, keep_alive_s):
    """Times `samples` requests that each find the function's pool at zero."""
    times = []
    misses = 0
    for _ in range(samples):
        time.sleep(keep_alive_s + 0.25)  # past the keep-alive and a housekeeping pass
        c = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=10)
        c.connect()
        t0 = time.perf_counter()
        c.request("GET", "/fn/%s?name=cold" % name)
        resp = c.getresponse()
        resp.read()
        dt = (time.perf_counter() - t0) * 1000
        c.close()
        if resp.status != 200:
            raise RuntimeError("cold request failed: %d" % resp.status)
        if resp.getheader("x-flint-cold-start") == "true":
            times.append(dt)
        else:
            misses += 1
    return times, misses


def node_process_start(handler, samples):
    """Time from spawning a Node.js server process to its first response (a process-per-function
    platform's cold start)."""
    times = []
    port = 18999
    for _ in range(samples):
        t0 = time.perf_counter()
        proc = start_node(port, handler)
        times.append((time.perf_counter() - t0) * 1000)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cold", type=int, default=100)
    ap.add_argument("--node-port", type=int, default=18082)
    args = ap.parse_args()

    hello = os.path.join(ROOT, "functions", "hello", "index.mjs")
    hello_cpp = os.path.join(ROOT, "functions", "hello-cpp")
    log("machine: %d cpus, load %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]))
    node = start_node(args.node_port, hello)
    flintd = Flintd(args.build)
    rows = []
    try:
        # 1769 MB buys one full vCPU under isolation's CPU quota (docs/security.md), the share a
        # single-threaded Node.js server has; at 128 MB the quota, not Flint, would be measured.
        flintd.cli("deploy", "hello", os.path.join(ROOT, "functions", "hello"), "--memory", "1769")
        flintd.cli("deploy", "hello-cpp", hello_cpp, "--entry", "index.cc", "--memory", "1769")
        targets = {
            "flint": flintd.url + "/fn/hello?name=bench",
            "flint-cpp": flintd.url + "/fn/hello-cpp?name=bench",
            "node": "http://127.0.0.1:%d/?name=bench" % args.node_port,
        }
        for name, url in targets.items():
            wrk(url, 50, 2)  # warm-up, not recorded
        results = {}
        for conns in (50, 1):
            runs = {k: [] for k in targets}
            for rep in range(args.reps):
                order = list(targets) if rep % 2 == 0 else list(reversed(list(targets)))
                for name in order:
                    log("wrk c=%d %s (run %d)" % (conns, name, rep + 1))
                    runs[name].append(wrk(targets[name], conns, args.duration))
            for name in targets:
                results[(name, conns)] = median_runs(runs[name])

        log("cold starts, pre-warmed pool (%d samples)" % args.cold)
        flintd.cli("deploy", "hello-cold", hello, "--keep-alive", "100ms")
        warm_pool, miss1 = cold_starts(flintd, "hello-cold", args.cold, 0.1)
        log("cold starts, C++, pre-warmed pool (%d samples)" % args.cold)
        flintd.cli("deploy", "hello-cpp-cold", hello_cpp, "--entry", "index.cc",
                   "--keep-alive", "100ms")
        cpp_pool, miss3 = cold_starts(flintd, "hello-cpp-cold", args.cold, 0.1)
    finally:
        flintd.stop()
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()

    log("cold starts, no pre-warmed pool (%d samples)" % args.cold)
    bare = Flintd(args.build, ["--prewarm", "0", "--prewarm-cpp", "0"])
    try:
        bare.cli("deploy", "hello-cold", hello, "--keep-alive", "100ms")
        no_pool, miss2 = cold_starts(bare, "hello-cold", args.cold, 0.1)
        log("cold starts, C++, no pre-warmed pool (%d samples)" % args.cold)
        bare.cli("deploy", "hello-cpp-cold", hello_cpp, "--entry", "index.cc",
                 "--keep-alive", "100ms")
        cpp_no_pool, miss4 = cold_starts(bare, "hello-cpp-cold", args.cold, 0.1)
    finally:
        bare.stop()
    log("node process start to first response (20 samples)")
    node_start = node_process_start(hello, 20)

    print("\n## Warm invocations: `hello` (JS), `hello-cpp` (C++), wrk -t1, %ds x %d runs (median), same run\n" %
          (args.duration, args.reps))
    print("| conns | server | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for conns in (50, 1):
        for name in ("flint", "flint-cpp", "node"):
            r = results[(name, conns)]
            print("| %d | %s | %.0f | %.3f | %.3f | %.3f | %.3f | %d |" %
                  (conns, name, r["rps"], r["p50"], r["p90"], r["p99"], r["p99.9"], r["errors"]))
    print("\n| conns | Flint / Node req/s | Flint / Node p50 | Flint / Node p99 | Flint / Node p99.9 |")
    print("|---:|---:|---:|---:|---:|")
    for conns in (50, 1):
        f, n = results[("flint", conns)], results[("node", conns)]
        print("| %d | %.2fx | %.2fx | %.2fx | %.2fx |" %
              (conns, f["rps"] / n["rps"], f["p50"] / n["p50"], f["p99"] / n["p99"],
               f["p99.9"] / n["p99.9"]))

    print("\n| conns | C++ / JS req/s | C++ / JS p50 | C++ / JS p99 | C++ - JS p50 ms |")
    print("|---:|---:|---:|---:|---:|")
    for conns in (50, 1):
        c, j = results[("flint-cpp", conns)], results[("flint", conns)]
        print("| %d | %.2fx | %.2fx | %.2fx | %+.3f |" %
              (conns, c["rps"] / j["rps"], c["p50"] / j["p50"], c["p99"] / j["p99"],
               c["p50"] - j["p50"]))

    print("\n## Cold starts (pool at zero, one request; client-side time to full response)\n")
    print("| case | samples | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, t in (("Flint, pre-warmed generic worker (LOAD only)", warm_pool),
                     ("Flint, no pre-warmed pool (spawn + LOAD)", no_pool),
                     ("Flint C++, pre-warmed generic worker (LOAD: dlopen + init)", cpp_pool),
                     ("Flint C++, no pre-warmed pool (spawn + LOAD)", cpp_no_pool),
                     ("Node.js process start to first response", node_start)):
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" %
              (label, len(t), pct(t, 50), pct(t, 90), pct(t, 99), max(t) if t else float("nan")))
    if miss1 or miss2 or miss3 or miss4:
        print("\n(%d + %d + %d + %d requests found a warm worker and were not counted)" %
              (miss1, miss2, miss3, miss4))
    print("\nRatios: Flint cold start p50 / Node process start p50 = %.2fx (pre-warmed), %.2fx (no pool)"
          % (pct(warm_pool, 50) / pct(node_start, 50), pct(no_pool, 50) / pct(node_start, 50)))


if __name__ == "__main__":
    main()
