#!/usr/bin/env python3
"""Hostile JavaScript, timed: the memory bomb and the timer flood of tests/functions/hostile-js.

Memory bomb (`for (;;) a.push(new Array(1e6).fill(Math.random()))`), at each --sizes memory
size with a 60 s timeout, --runs times: the time to the answer (which must be 502, the
memory-limit error) and, from the function's log line "memory limit reached: ... stopped N ms
later", the time from reaching the budget to stopping. Then at 128 MB with the default 3 s
timeout: how many answers are the memory-limit error rather than a timeout. A 128 MB function
has 7.2% of a CPU (one vCPU per 1769 MB), so its bomb needs seconds of wall time to fill its
88 MB whatever Flint does; the time after reaching the budget is Flint's part.

Timers, at 1769 MB (one vCPU): a flood of 1e6 setTimeout (refused at 100,000 with a RangeError)
and the time of the next call, which never settles and must end at its own 3 s timeout. Then
the cost of a timer in the handler itself against Node.js running the same loops in the same
run (`node` on PATH): 1e6 setTimeout+clearTimeout pairs, and 1e5 pending setTimeout.

  sudo python3 tools/bench/hostile.py --build build
  sudo python3 tools/bench/hostile.py --build build --sizes 128,512,1769,4096 --runs 5
"""
import argparse
import http.client
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.parse

# The lean JavaScript runtime, whose memory budget and timers these figures are about.
RUNTIME = ("--runtime", "v8")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("flintd_launch", os.path.join(HERE, "flintd_launch.py"))
flintd_launch = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flintd_launch)

HOSTILE = os.path.join(ROOT, "tests", "functions", "hostile-js")

# The timer loops, run by a Flint handler and by Node.js alike; each returns milliseconds.
TIMER_LOOPS = """
const loops = {
  pairs: () => {
    const t0 = performance.now();
    for (let i = 0; i < 1e6; i++) clearTimeout(setTimeout(() => {}, 1e6));
    return performance.now() - t0;
  },
  pending: () => {
    const t0 = performance.now();
    const ids = [];
    for (let i = 0; i < 1e5; i++) ids.push(setTimeout(() => {}, 1e6));
    const ms = performance.now() - t0;
    for (const id of ids) clearTimeout(id);
    return ms;
  },
};
"""
FLINT_TIMERS = TIMER_LOOPS + """
export const handler = async (event) => {
  const which = new URLSearchParams(event.rawQueryString || "").get("loop");
  return { statusCode: 200, body: String(loops[which]()) };
};
"""
NODE_TIMERS = TIMER_LOOPS + """
const which = process.argv[2];
console.log(loops[which]());
process.exit(0);
"""


def get(url, path, timeout=120):
    parts = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    return resp.status, body, (time.perf_counter() - t0) * 1000.0


def last_stop_ms(flintd, name):
    env = dict(os.environ, FLINT_DATA_DIR=flintd.data)
    out = subprocess.run([os.path.join(flintd.build, "tools", "cli", "flint"), "logs", name],
                         env=env, capture_output=True, text=True).stdout
    found = re.findall(r"stopped (\d+) ms later", out)
    return int(found[-1]) if found else None


def summary(values):
    if not values:
        return "-"
    return "p50 %.0f max %.0f" % (statistics.median(values), max(values))


def load():
    return "load average %s" % " ".join(open("/proc/loadavg").read().split()[:3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sizes", default="128,512,1769")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--default-timeout-runs", type=int, default=5)
    args = ap.parse_args()

    print("hostile JavaScript, " + load())
    flintd = flintd_launch.BenchFlintd(args.build, prefix="flint-hostile-")
    try:
        print("\nmemory bomb (60 s timeout): answer time and stop time after reaching the budget")
        for mb in [int(s) for s in args.sizes.split(",")]:
            name = "bomb-%d" % mb
            flintd.cli("deploy", name, HOSTILE, "--memory", str(mb), "--timeout", "60s", *RUNTIME)
            answers, stops, bad = [], [], []
            for _ in range(args.runs):
                status, body, ms = get(flintd.url, "/fn/%s?do=bomb" % name)
                if status == 502 and "memory limit of %d MB" % mb in body:
                    answers.append(ms)
                    stop = last_stop_ms(flintd, name)
                    if stop is not None:
                        stops.append(stop)
                else:
                    bad.append("%d %s" % (status, body[:80]))
            print("  %5d MB: answer %s ms, stopped %s ms after reaching it, %d/%d memory-limit"
                  " errors%s" % (mb, summary(answers), summary(stops), len(answers), args.runs,
                                 "; other: " + "; ".join(bad) if bad else ""))

        flintd.cli("deploy", "bomb-default", HOSTILE, "--memory", "128", *RUNTIME)
        kinds = {}
        for _ in range(args.default_timeout_runs):
            status, body, _ = get(flintd.url, "/fn/bomb-default?do=bomb")
            kind = "memory-limit" if status == 502 else "timeout" if status == 504 else str(status)
            kinds[kind] = kinds.get(kind, 0) + 1
        print("  128 MB, 3 s timeout: %s of %d calls" % (
            ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())),
            args.default_timeout_runs))

        print("\ntimer flood (1769 MB, 3 s timeout)")
        flintd.cli("deploy", "flood", HOSTILE, "--memory", "1769", *RUNTIME)
        status, body, flood_ms = get(flintd.url, "/fn/flood?do=timers")
        print("  1e6 setTimeout: %d in %.0f ms (%s)" % (
            status, flood_ms, "RangeError at the bound" if "too many pending timers" in body
            else body[:80]))
        status, body, hang_ms = get(flintd.url, "/fn/flood?do=hang")
        print("  next call, never settles: %d after %.0f ms (%.2f x its 3000 ms timeout)" % (
            status, hang_ms, hang_ms / 3000.0))

        print("\ntimer cost, handler's own time, against Node.js")
        fn_dir = tempfile.mkdtemp(prefix="flint-timers-")
        with open(os.path.join(fn_dir, "index.mjs"), "w") as f:
            f.write(FLINT_TIMERS)
        flintd.cli("deploy", "timer-cost", os.path.join(fn_dir, "index.mjs"), "--memory", "1769",
                   "--timeout", "60s", *RUNTIME)
        node = shutil.which("node")
        node_file = os.path.join(fn_dir, "timers.js")
        with open(node_file, "w") as f:
            f.write(NODE_TIMERS)
        for loop, what in (("pairs", "1e6 setTimeout+clearTimeout"),
                           ("pending", "1e5 pending setTimeout")):
            flint_ms, node_ms = [], []
            for _ in range(3):
                _, body, _ = get(flintd.url, "/fn/timer-cost?loop=" + loop)
                flint_ms.append(float(body))
                if node:
                    out = subprocess.run([node, node_file, loop], capture_output=True, text=True)
                    node_ms.append(float(out.stdout.strip()))
            f50 = statistics.median(flint_ms)
            if node_ms:
                n50 = statistics.median(node_ms)
                print("  %-28s Flint %6.0f ms  Node.js %6.0f ms  Flint/Node %.2f" % (
                    what, f50, n50, f50 / n50))
            else:
                print("  %-28s Flint %6.0f ms  (no node on PATH)" % (what, f50))
        shutil.rmtree(fn_dir, ignore_errors=True)
    finally:
        flintd.stop()
    print("\n" + load())


if __name__ == "__main__":
    main()
