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
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
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


def median_figures(runs):
    out = {}
    for key in runs[0]:
        cols = runs[0][key].keys()
        out[key] = {c: statistics.median(r[key][c] for r in runs if key in r) for c in cols}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="build directory of the baseline")
    ap.add_argument("--new", required=True, help="build directory of the change")
    ap.add_argument("--rounds", type=int, default=2, help="bench.py runs per build")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--cold", type=int, default=50, help="cold-start samples per case")
    args = ap.parse_args()

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


if __name__ == "__main__":
    main()
