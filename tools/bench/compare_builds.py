#!/usr/bin/env python3
"""Two builds of Flint side by side in one run: is a change a regression?

Runs tools/bench/bench.py against a baseline build and a new build, alternately (base, new, new,
base, ...), so that the machine's drift falls on both alike, and prints the new build's figures
as ratios to the baseline's (medians over the rounds). Node.js, measured in every bench.py run,
is printed too: if its figures moved between rounds, the machine did.

Build each tree first, e.g. for the commit before a change:
  git worktree add /tmp/base <commit> && cd /tmp/base && \\
    FLINT_BUILD_DIR=$PWD/build-release FLINT_BUILD_TARGETS="flintd flint-worker flint" \\
    bash tools/build.sh -DCMAKE_BUILD_TYPE=Release -DFLINT_BUILD_TESTS=OFF
  tools/bench/compare_builds.py --base /tmp/base/build-release --new build-release

On a busy machine the timings drift more than a small change moves them; instruction counts do
not. `--instructions N` also counts, with tools/bench/profile.py's callgrind mode, the
instructions per request that flintd and the worker execute on each build (N warm requests of
`--function` one after another, deployed with `--runtime` if given: callgrind follows
flint-worker, so v8 or cpp, not node) and prints their ratios. `--cold-interleaved N` starts
both builds' flintd at once and takes N pre-warmed cold starts of each in turn (base, new, new,
base, ...), so a spike of load falls on both alike. `--syscalls N` counts the system calls of
flintd and its workers (strace -c) over N warm requests of `hello` on one connection.
"""
import argparse
import http.client
import os
import re
import signal
import tempfile
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from flintd_launch import BenchFlintd  # noqa: E402
from procs import descendants  # noqa: E402

HELLO_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "functions", "hello")
WARM_ROW = re.compile(r"^\| (\d+) \| (flint|flint-cpp|node) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                      r"([\d.]+) \| ([\d.]+) \| (\d+) \|$")
COLD_ROW = re.compile(r"^\| ((?:Flint|Node)[^|]*?) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                      r"([\d.]+) \|$")
WARM_COLS = ("req/s", "p50", "p90", "p99", "p99.9")
COLD_COLS = ("p50", "p90", "p99")


def run_bench(build, args):
    cmd = [sys.executable, os.path.join(HERE, "bench.py"), "--build", build,
           "--duration", str(args.duration), "--reps", "1", "--cold", str(args.cold)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    figures = {}
    for line in out.splitlines():
        m = WARM_ROW.match(line)
        if m:
            key = "%s @%s" % (m.group(2), m.group(1))
            figures[key] = dict(zip(WARM_COLS, map(float, m.group(3, 4, 5, 6, 7))))
            continue
        m = COLD_ROW.match(line)
        if m:
            figures["cold: " + m.group(1)] = dict(zip(COLD_COLS, map(float, m.group(3, 4, 5))))
    if not figures:
        sys.exit("bench.py printed no figures for %s:\n%s" % (build, out))
    return figures


CALLGRIND_ROLE = re.compile(r"^### (\w+): (\d+) instructions per request$")


def instructions_per_request(build, args):
    cmd = [sys.executable, os.path.join(HERE, "profile.py"), "callgrind", "--build", build,
           "--function", args.function, "--requests", str(args.instructions), "--top", "0"]
    if args.runtime:
        cmd += ["--runtime", args.runtime]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if run.returncode != 0:
        sys.exit("profile.py failed for %s:\n%s" % (build, run.stdout))
    out = run.stdout
    counts = {}
    for line in out.splitlines():
        m = CALLGRIND_ROLE.match(line)
        if m:
            counts[m.group(1)] = int(m.group(2))
    if not counts:
        sys.exit("profile.py printed no instruction counts for %s:\n%s" % (build, out))
    return counts


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def cold_interleaved(args):
    """Pre-warmed cold starts of `hello`, one build then the other, with both flintds running."""
    hello = os.path.join(HELLO_DIR, "index.mjs")
    keep_alive_s = 0.1
    flintds = {}
    try:
        for which in ("base", "new"):
            flintds[which] = BenchFlintd(getattr(args, which))
            deploy = ["deploy", "hello-cold", hello, "--keep-alive", "100ms"]
            flintds[which].cli(*(deploy + (["--runtime", args.runtime] if args.runtime else [])))
        times = {"base": [], "new": []}
        print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        for i in range(args.cold_interleaved):
            time.sleep(keep_alive_s + 0.25)  # both pools past their keep-alive
            for which in (("base", "new") if i % 2 == 0 else ("new", "base")):
                port = int(flintds[which].url.rsplit(":", 1)[1])
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.connect()
                t0 = time.perf_counter()
                c.request("GET", "/fn/hello-cold?name=cold")
                resp = c.getresponse()
                resp.read()
                elapsed_ms = (time.perf_counter() - t0) * 1000
                c.close()
                if resp.status != 200:
                    sys.exit("cold request to %s failed: %d" % (which, resp.status))
                if resp.getheader("x-flint-cold-start") == "true":
                    times[which].append(elapsed_ms)
        print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    finally:
        for f in flintds.values():
            f.stop()
    print("\n| pre-warmed cold start, interleaved | base | new | new / base |")
    print("|---|---:|---:|---:|")
    print("| samples | %d | %d | |" % (len(times["base"]), len(times["new"])))
    for p in (50, 90, 99):
        b, n = percentile(times["base"], p), percentile(times["new"], p)
        print("| p%d ms | %.2f | %.2f | %.2fx |" % (p, b, n, n / b))


def syscalls_per_request(build, args):
    """System calls of flintd and its workers per warm request, by call (strace -c)."""
    flintd = BenchFlintd(build)
    try:
        deploy = ["deploy", "hello", HELLO_DIR, "--memory", "1769"]
        flintd.cli(*(deploy + (["--runtime", args.runtime] if args.runtime else [])))
        conn = http.client.HTTPConnection("127.0.0.1", int(flintd.url.rsplit(":", 1)[1]))

        def call(times):
            for _ in range(times):
                conn.request("GET", "/fn/hello?name=bench")
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    sys.exit("warm request to %s failed: %d" % (build, resp.status))

        call(300)
        summary = tempfile.NamedTemporaryFile(prefix="flint-strace-", delete=False).name
        attach = sum((["-p", str(p)] for p in descendants(flintd.proc.pid)), [])
        tracer = subprocess.Popen(["strace", "-c", "-o", summary] + attach,
                                  stderr=subprocess.DEVNULL)
        time.sleep(1.5)  # strace attaches to each process
        call(args.syscalls)
        tracer.send_signal(signal.SIGINT)
        tracer.wait()
    finally:
        flintd.stop()
    counts = {}
    for line in open(summary):
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = int(fields[3])
    os.remove(summary)
    return counts


def median_figures(runs):
    out = {}
    for key in runs[0]:
        cols = runs[0][key].keys()
        out[key] = {c: statistics.median(r[key][c] for r in runs if key in r) for c in cols}
    return out


def timed(args):
    print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    runs = {"base": [], "new": []}
    for i in range(args.rounds):
        order = ("base", "new") if i % 2 == 0 else ("new", "base")
        for which in order:
            print("round %d: %s" % (i + 1, which), file=sys.stderr, flush=True)
            runs[which].append(run_bench(getattr(args, which), args))
    print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    base, new = median_figures(runs["base"]), median_figures(runs["new"])

    print("\n| figure | base | new | new / base |")
    print("|---|---:|---:|---:|")
    for key in base:
        if key not in new:
            continue
        for col, value in base[key].items():
            ratio = new[key][col] / value if value else float("nan")
            print("| %s %s | %.3f | %.3f | %.2fx |" % (key, col, value, new[key][col], ratio))
    print("\nreq/s: above 1x is better; latencies: below 1x is better. Node's rows measure the "
          "machine, not Flint: a ratio far from 1x there means the rounds differed.")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="build directory of the baseline")
    ap.add_argument("--new", required=True, help="build directory of the change")
    ap.add_argument("--rounds", type=int, default=2,
                    help="bench.py runs per build (0: instructions only)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--cold", type=int, default=50, help="cold-start samples per case")
    ap.add_argument("--instructions", type=int, default=0, metavar="N",
                    help="also count instructions per request over N requests (callgrind)")
    ap.add_argument("--cold-interleaved", type=int, default=0, metavar="N",
                    help="also N pre-warmed cold starts per build, both flintds up, in turn")
    ap.add_argument("--syscalls", type=int, default=0, metavar="N",
                    help="also count system calls per request over N requests (strace)")
    ap.add_argument("--function", default="hello", help="function counted by --instructions")
    ap.add_argument("--runtime", help="its runtime, e.g. v8 (builds before Node.js: leave out)")
    args = ap.parse_args()

    if args.rounds > 0:
        timed(args)

    if args.cold_interleaved:
        cold_interleaved(args)

    if args.syscalls:
        calls = {which: syscalls_per_request(getattr(args, which), args) for which in ("base", "new")}
        print("\n| system calls per warm request | base | new | new / base |")
        print("|---|---:|---:|---:|")
        names = sorted(set(calls["base"]) | set(calls["new"]),
                       key=lambda k: -calls["base"].get(k, 0))
        for name in names + ["all"]:
            b = sum(calls["base"].values()) if name == "all" else calls["base"].get(name, 0)
            n = sum(calls["new"].values()) if name == "all" else calls["new"].get(name, 0)
            if name == "all" or b + n >= args.syscalls / 10:
                print("| %s | %.2f | %.2f | %s |" % (name, b / args.syscalls, n / args.syscalls,
                                                     "%.3fx" % (n / b) if b else "new"))

    if args.instructions:
        counted = {which: instructions_per_request(getattr(args, which), args)
                   for which in ("base", "new")}
        print("\n| %s: instructions per request | base | new | new / base |" % args.function)
        print("|---|---:|---:|---:|")
        for role, value in counted["base"].items():
            if role in counted["new"]:
                print("| %s | %d | %d | %.3fx |" % (role, value, counted["new"][role],
                                                    counted["new"][role] / value))


if __name__ == "__main__":
    main()
