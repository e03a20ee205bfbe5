#!/usr/bin/env python3
"""Flint's warm path against Node.js http and the libuv floor, in one run (tools/bench/vs-node.sh).

Servers, all started by this script and all serving at once (an idle server costs nothing):
  floor   tools/bench/floor/uvfloor.c: a fixed answer on libuv, the least a server can do
  node    tools/bench/node_server.mjs: Node.js `http` with the handler logic of the functions
  flint   flintd (isolation on when run as root), the functions deployed at --memory MB:
          js: functions/hello and functions/json-transform; cpp: functions/hello-cpp and
          functions/json-transform-cpp; each twice: with --concurrency N (flint-js, flint-cpp:
          a worker is given N invocations at once, as one Node.js process serves many
          requests) and with the default concurrency 1 (flint-js-c1, flint-cpp-c1: one
          invocation per worker at a time, as on Lambda)

Workloads: `hello` (GET) and `json` (POST functions/json-transform/sample.json, the order
summary). For each placement (`unpinned`; `pinned`: every server confined to CPU 1 -- flintd
with all its workers, Node.js's process, the floor -- and wrk to CPU 0), each connection count
(50, 1) and each workload, the servers take turns (the order alternating from one repetition to
the next) at `wrk -t1 -cN -dD` after an unrecorded 1 s warm-up; the tables show the median of
the repetitions, the ratios Flint / Node.js, and the CPU time each server's processes used per
request (from /proc, all their descendants included).

  tools/bench/vs-node.sh                        # Release build, then this script
  python3 tools/bench/vs_node.py --build build-release --duration 5 --reps 2
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import flintd_launch  # noqa: E402
from procs import cpu_ticks, descendants  # noqa: E402

SAMPLE = os.path.join(ROOT, "functions", "json-transform", "sample.json")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Server:
    def __init__(self, name, proc, base):
        self.name, self.proc, self.base = name, proc, base

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_http(port, path, timeout=20):
    import http.client
    deadline = time.time() + timeout
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise RuntimeError("no answer on port %d" % port)
        time.sleep(0.05)


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_floor(floor_bin, pin):
    port = free_port()
    cmd = ([] if pin is None else ["taskset", "-c", str(pin)]) + [floor_bin, str(port)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    wait_http(port, "/")
    return Server("floor", proc, "http://127.0.0.1:%d" % port)


def start_node(pin):
    port = free_port()
    cmd = ([] if pin is None else ["taskset", "-c", str(pin)]) + [
        "node", os.path.join(HERE, "node_server.mjs"), str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    wait_http(port, "/hello")
    return Server("node", proc, "http://127.0.0.1:%d" % port)


def start_flint(args, pin):
    extra = [] if os.geteuid() == 0 else ["--no-isolation"]
    build = args.build
    if pin is not None:
        # flintd and every worker it starts inherit the affinity.
        wrapper = tempfile.mkdtemp(prefix="flint-pin-")
        os.makedirs(os.path.join(wrapper, "scheduler"))
        script = os.path.join(wrapper, "scheduler", "flintd")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexec taskset -c %d %s \"$@\"\n" %
                    (pin, os.path.join(build, "scheduler", "flintd")))
        os.chmod(script, 0o755)
        extra += ["--worker-path", os.path.join(build, "runtime", "flint-worker")]
        data, _, proc, url = flintd_launch.launch(wrapper, extra, "flint-vs-node-")
        shutil.rmtree(wrapper, ignore_errors=True)
    else:
        data, _, proc, url = flintd_launch.launch(build, extra, "flint-vs-node-")
    server = Server("flint", proc, url)
    server.data = data
    env = dict(os.environ, FLINT_DATA_DIR=data, FLINT_URL=url)
    flint = os.path.join(build, "tools", "cli", "flint")
    for name in ("hello", "json-transform", "hello-cpp", "json-transform-cpp"):
        for suffix, concurrency in (("", args.concurrency), ("-c1", 1)):
            cmd = [flint, "deploy", name + suffix, os.path.join(ROOT, "functions", name),
                   "--memory", str(args.memory), "--concurrency", str(concurrency)]
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return server


def stop_flint(server):
    server.stop()
    shutil.rmtree(server.data, ignore_errors=True)


# (label, server name, path, workload)
TARGETS = [
    ("floor", "floor", "/", "hello"),
    ("node", "node", "/hello", "hello"),
    ("flint-js", "flint", "/fn/hello", "hello"),
    ("flint-cpp", "flint", "/fn/hello-cpp", "hello"),
    ("flint-js-c1", "flint", "/fn/hello-c1", "hello"),
    ("flint-cpp-c1", "flint", "/fn/hello-cpp-c1", "hello"),
    ("node", "node", "/json", "json"),
    ("flint-js", "flint", "/fn/json-transform", "json"),
    ("flint-cpp", "flint", "/fn/json-transform-cpp", "json"),
    ("flint-js-c1", "flint", "/fn/json-transform-c1", "json"),
    ("flint-cpp-c1", "flint", "/fn/json-transform-cpp-c1", "json"),
]


def run_placement(args, placement, floor_bin):
    pin = 1 if placement == "pinned" else None
    wrk_cpu = 0 if placement == "pinned" else None
    servers = {}
    try:
        servers["floor"] = start_floor(floor_bin, pin)
        servers["node"] = start_node(pin)
        servers["flint"] = start_flint(args, pin)
        results = {}
        for conns in args.conns:
            for workload in args.workloads:
                targets = [t for t in TARGETS if t[3] == workload and t[0] in args.targets]
                runs = {t[0]: [] for t in targets}
                for rep in range(args.reps):
                    order = targets if rep % 2 == 0 else list(reversed(targets))
                    for label, server, path, _ in order:
                        s = servers[server]
                        url = s.base + path
                        body = SAMPLE if workload == "json" else None
                        bench.wrk(url, conns, 1, body, wrk_cpu)  # warm-up: scales pools up
                        pids = descendants(s.proc.pid)
                        before = cpu_ticks(pids)
                        r = bench.wrk(url, conns, args.duration, body, wrk_cpu)
                        used = cpu_ticks(descendants(s.proc.pid)) - before
                        r["cpu_us"] = used * 1e6 / CLK_TCK / max(1, r["requests"])
                        runs[label].append(r)
                        log("%-8s %-5s c=%-2d %-9s %8.0f req/s  p50 %.3f  p99 %.3f ms  "
                            "cpu %.1f us/req" % (placement, workload, conns, label, r["rps"],
                                                 r["p50"], r["p99"], r["cpu_us"]))
                for label in runs:
                    keys = ["rps", "p50", "p90", "p99", "p99.9", "cpu_us", "errors"]
                    results[(workload, conns, label)] = {
                        k: statistics.median(r[k] for r in runs[label]) for k in keys}
        return results
    finally:
        for name, s in servers.items():
            if name == "flint":
                stop_flint(s)
            else:
                s.stop()


def report(results, placement):
    print("\n### %s\n" % placement)
    print("| workload | conns | server | req/s | p50 ms | p99 ms | p99.9 ms | CPU us/req | errors |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for (workload, conns, label), r in results.items():
        print("| %s | %d | %s | %.0f | %.3f | %.3f | %.3f | %.1f | %d |" %
              (workload, conns, label, r["rps"], r["p50"], r["p99"], r["p99.9"], r["cpu_us"],
               r["errors"]))
    print("\n| workload | conns | ratio to Node.js | req/s | p50 | p99 | p99.9 |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for (workload, conns, label), r in results.items():
        node = results.get((workload, conns, "node"))
        if label in ("node", "floor") or node is None:
            continue
        print("| %s | %d | %s | %.2fx | %.2fx | %.2fx | %.2fx |" %
              (workload, conns, label, r["rps"] / node["rps"], r["p50"] / node["p50"],
               r["p99"] / node["p99"], r["p99.9"] / node["p99.9"]))
    floor = results.get(("hello", 1, "floor"))
    if floor:
        print("\n| hello, 1 connection | p50 / floor's p50 | p99 ms |")
        print("|---|---:|---:|")
        for label in ("node", "flint-js", "flint-cpp", "flint-js-c1", "flint-cpp-c1"):
            r = results.get(("hello", 1, label))
            if r:
                print("| %s | %.2fx | %.3f |" % (label, r["p50"] / floor["p50"], r["p99"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-release"))
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=2, help="runs per server, placement, load")
    ap.add_argument("--memory", type=int, default=1769, help="the functions' memory, MB")
    ap.add_argument("--concurrency", type=int, default=32,
                    help="--concurrency of the flint-js and flint-cpp functions")
    ap.add_argument("--placements", default="unpinned,pinned")
    ap.add_argument("--workloads", default="hello,json", help="a quick run: e.g. hello")
    ap.add_argument("--conns", default="50,1", help="connection counts, e.g. 50")
    ap.add_argument("--targets", default="floor,node,flint-js,flint-cpp,flint-js-c1,flint-cpp-c1",
                    help="servers to drive, e.g. node,flint-js")
    args = ap.parse_args()
    args.workloads = args.workloads.split(",")
    args.conns = [int(c) for c in args.conns.split(",")]
    args.targets = args.targets.split(",")

    floor_dir = tempfile.mkdtemp(prefix="flint-floor-")
    floor_bin = os.path.join(floor_dir, "uvfloor")
    subprocess.run(["cc", "-O2", "-o", floor_bin, os.path.join(HERE, "floor", "uvfloor.c"),
                    "-luv"], check=True)
    load_start = os.getloadavg()
    if os.geteuid() != 0:
        log("not root: flintd runs with --no-isolation (figures are not comparable)")
    all_results = {}
    try:
        for placement in args.placements.split(","):
            all_results[placement] = run_placement(args, placement, floor_bin)
    finally:
        shutil.rmtree(floor_dir, ignore_errors=True)
    load_end = os.getloadavg()
    print("\n## Flint vs Node.js: functions at %d MB, concurrency %d (-c1: 1), isolation %s, "
          "wrk -t1 %d s, median of %d" %
          (args.memory, args.concurrency, "on" if os.geteuid() == 0 else "OFF",
           args.duration, args.reps))
    print("\nload average %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end; %d CPUs" %
          (*load_start, *load_end, os.cpu_count()))
    for placement, results in all_results.items():
        report(results, placement)


if __name__ == "__main__":
    main()
