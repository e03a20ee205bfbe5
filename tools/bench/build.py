#!/usr/bin/env python3
"""What the build sandbox costs: deploys of functions/json-transform-cpp with and without it.

It starts two flintd at once -- "sandbox" (the default: every C++ build in flint-build's
sandbox and a cgroup of its own; needs root) and "direct" (flintd --no-isolation: g++ runs
as flintd's user) -- and deploys the same function on both, interleaved (the order alternates
each round), so that whatever else the machine does weighs on both alike. Every deploy changes
one comment line of index.cc, so each one misses the build cache and compiles the same code.
For each mode it prints:

  - build:  flintd's own measure of the build, from starting flint-build (or g++) to its exit
            (its log's "build N done in X ms"): p50;
  - deploy: the client's time for the whole PUT /v1/functions/NAME (the build, storing the
            code, loading it once in a worker): p50 and min over --deploys deploys;
  - cpu:    the CPU time of flintd's children per deploy (the compiler and every process of
            its sandbox, and the worker that checks the load), from /proc/PID/stat -- less
            sensitive than wall time to a busy machine;
  - hit:    p50 of a deploy of sources built before (a build-cache hit: no compiler, no
            sandbox);
  - setup:  the sandbox's fixed cost alone: flint-build running /bin/true in place of the
            compiler, against /bin/true run directly (p50 of --setup-runs; no flintd, no
            cgroup);

then the ratios sandbox / direct, and the load average before and after. A figure measured
while the load average is above the number of CPUs was taken on a busy machine.

  sudo python3 tools/bench/build.py --build build
  sudo python3 tools/bench/build.py --build build --deploys 9 --json out.json
"""
import argparse
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTION = os.path.join(ROOT, "functions", "json-transform-cpp")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(1, min(len(values), int(-(-p * len(values) // 100))))
    return values[k - 1]


def children_cpu_s(pid):
    """User + system CPU time of the reaped children of `pid`, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3; cutime and cstime are fields 16 and 17.
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


class Node:
    """One flintd and a connection to its API."""

    def __init__(self, build, mode):
        self.mode = mode
        extra = [] if mode == "sandbox" else ["--no-isolation"]
        # One build at a time and no pre-warmed workers: only the deploy under test runs.
        extra += ["--max-builds", "1", "--prewarm", "0", "--prewarm-cpp", "0",
                  "--log-level", "info"]
        self.data, self.log, self.proc, self.url = flintd_launch.launch(
            build, extra, "flint-bench-build-")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()

    def deploy(self, name, files):
        body = json.dumps({
            "runtime": "cpp", "entry": "index.cc",
            "files": {p: base64.b64encode(t).decode() for p, t in files.items()}})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        t0 = time.perf_counter()
        conn.request("PUT", "/v1/functions/" + name, body=body,
                     headers={"Authorization": "Bearer " + self.token,
                              "Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read()
        ms = (time.perf_counter() - t0) * 1000.0
        conn.close()
        if resp.status != 201:
            raise RuntimeError("%s deploy failed: %d %s" % (self.mode, resp.status, text[:2000]))
        return ms

    def build_times_ms(self):
        """flintd's "build N done in X ms" figures so far, in order."""
        with open(os.path.join(self.data, "flintd.log")) as f:
            return [int(m.group(1)) for m in re.finditer(r"build \d+ done in (\d+) ms", f.read())]

    def stop(self):
        flintd_launch.BenchFlintd.stop(self)


def setup_cost_ms(build, runs):
    """p50 ms of flint-build running /bin/true, and of /bin/true alone."""
    work = tempfile.mkdtemp(prefix="flint-bench-setup-")
    try:
        src, out = os.path.join(work, "src"), os.path.join(work, "out")
        os.mkdir(src)
        os.mkdir(out)
        sandboxed = [os.path.join(build, "runtime", "flint-build"), "--sources", src, "--output",
                     out, "--sdk", os.path.join(ROOT, "sdk", "include"), "--max-file-bytes",
                     str(256 << 20), "--", "/bin/true"]
        times = {"sandbox": [], "direct": []}
        for i in range(runs):
            for mode, cmd in (("sandbox", sandboxed), ("direct", ["/bin/true"])):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True)
                times[mode].append((time.perf_counter() - t0) * 1000.0)
        return {mode: pct(v, 50) for mode, v in times.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sources(round_no):
    files = {}
    for name in os.listdir(FUNCTION):
        with open(os.path.join(FUNCTION, name), "rb") as f:
            files[name] = f.read()
    # A different comment each round: a cache miss that compiles exactly the same code.
    files["index.cc"] += b"\n// tools/bench/build.py round %d\n" % round_no
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="build folder holding scheduler/flintd, runtime/ and tools/cli/flint")
    ap.add_argument("--deploys", type=int, default=5, help="cache-missing deploys per mode")
    ap.add_argument("--hits", type=int, default=5, help="cache-hitting deploys per mode")
    ap.add_argument("--setup-runs", type=int, default=40,
                    help="runs of the sandbox with /bin/true (its fixed cost)")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("build.py: the sandboxed flintd needs root (isolation); run it as root")

    load_before = os.getloadavg()
    setup = setup_cost_ms(args.build, args.setup_runs)
    nodes = {}
    try:
        for mode in ("sandbox", "direct"):
            nodes[mode] = Node(args.build, mode)
        # One deploy each first, not counted: the compiler's files reach the page cache.
        for node in nodes.values():
            node.deploy("warmup", sources(-1))
        wall = {m: [] for m in nodes}
        cpu = {m: [] for m in nodes}
        for i in range(args.deploys):
            order = list(nodes) if i % 2 == 0 else list(reversed(list(nodes)))
            for mode in order:
                node = nodes[mode]
                before = children_cpu_s(node.proc.pid)
                ms = node.deploy("jt", sources(i))
                time.sleep(0.5)  # the load-check worker is reaped
                cpu[mode].append(children_cpu_s(node.proc.pid) - before)
                wall[mode].append(ms)
                log("round %d %-7s deploy %7.0f ms  cpu %5.2f s" % (i, mode, ms, cpu[mode][-1]))
        hits = {m: [] for m in nodes}
        for i in range(args.hits):
            for mode, node in nodes.items():
                hits[mode].append(node.deploy("jt", sources(0)))
        builds = {m: node.build_times_ms()[1:] for m, node in nodes.items()}  # not the warm-up
        for mode in nodes:
            if len(builds[mode]) != args.deploys:
                raise RuntimeError("%s: %d builds logged for %d deploys (a cache hit built?)" % (
                    mode, len(builds[mode]), args.deploys))
    finally:
        for node in nodes.values():
            node.stop()
    load_after = os.getloadavg()

    result = {"function": "functions/json-transform-cpp", "deploys": args.deploys,
              "load_before": load_before, "load_after": load_after, "cpus": os.cpu_count()}
    print("C++ build: deploy of functions/json-transform-cpp, cache missed (%d deploys each, "
          "interleaved)" % args.deploys)
    print("%-8s %11s %12s %12s %14s %14s" % ("mode", "build p50", "deploy p50", "deploy min",
                                              "cpu/deploy p50", "cache hit p50"))
    for mode in nodes:
        row = {"build_p50_ms": pct(builds[mode], 50), "deploy_p50_ms": pct(wall[mode], 50),
               "deploy_min_ms": min(wall[mode]), "cpu_p50_s": pct(cpu[mode], 50),
               "hit_p50_ms": pct(hits[mode], 50)}
        result[mode] = row
        print("%-8s %8.0f ms %9.0f ms %9.0f ms %12.2f s %11.1f ms" % (
            mode, row["build_p50_ms"], row["deploy_p50_ms"], row["deploy_min_ms"],
            row["cpu_p50_s"], row["hit_p50_ms"]))
    s, d = result["sandbox"], result["direct"]
    ratios = {"build_p50": s["build_p50_ms"] / d["build_p50_ms"],
              "deploy_p50": s["deploy_p50_ms"] / d["deploy_p50_ms"],
              "deploy_min": s["deploy_min_ms"] / d["deploy_min_ms"],
              "cpu_p50": s["cpu_p50_s"] / d["cpu_p50_s"] if d["cpu_p50_s"] > 0 else float("nan")}
    result["ratios"] = ratios
    print("sandbox / direct: build p50 %.3f, deploy p50 %.3f, deploy min %.3f, cpu %.3f" % (
        ratios["build_p50"], ratios["deploy_p50"], ratios["deploy_min"], ratios["cpu_p50"]))
    result["setup_p50_ms"] = setup
    print("the sandbox's fixed cost: flint-build + /bin/true p50 %.1f ms, /bin/true p50 %.1f ms "
          "(%d runs)" % (setup["sandbox"], setup["direct"], args.setup_runs))
    busy = max(load_before[0], load_after[0]) > os.cpu_count()
    print("load average before %.2f %.2f %.2f, after %.2f %.2f %.2f (%d CPUs%s)" % (
        *load_before, *load_after, os.cpu_count(), ", a busy machine" if busy else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
