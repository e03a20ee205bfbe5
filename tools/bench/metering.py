#!/usr/bin/env python3
"""Metering benchmark: warm throughput and p99 with metering on and off, in the same run.

Starts two flintd (temporary data directories), one with --metering on and one with
--metering off, deploys the same constant JS function to both, and drives them with wrk in
pairs of short runs, the order alternating from pair to pair, so both see the same machine
state (this machine is shared and noisy). Reports the median of the per-pair ratios on/off (the
figure to compare with the 3 % budget), the median req/s and p99 of each setting, and where
metering's CPU goes: the ledger writer thread's and the event loop's CPU time per request
(/proc/<pid>/task/<tid>/schedstat, nanoseconds). Checks that the ledger holds a record of every
response wrk received.

  tools/bench/metering.py --build build-bill --duration 3 --reps 9
  tools/bench/metering.py --build build-bill --flintd-arg=--no-isolation   # not root
"""
import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "tools", "bench", "percentiles.lua")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Flintd(flintd_launch.BenchFlintd):
    def __init__(self, build, extra):
        super().__init__(build, extra, "flint-metering-")

    def rows(self):
        db = sqlite3.connect(os.path.join(self.data, "flint.db"), timeout=10)
        try:
            return db.execute("SELECT COUNT(*) FROM invocations").fetchone()[0]
        finally:
            db.close()

    def thread_cpu_ns(self):
        """CPU time of flintd's threads: {"loop": ns, "ledger": ns, "other": ns}."""
        out = {"loop": 0, "ledger": 0, "other": 0}
        task_dir = "/proc/%d/task" % self.proc.pid
        for tid in os.listdir(task_dir):
            try:
                ns = int(open("%s/%s/schedstat" % (task_dir, tid)).read().split()[0])
                comm = open("%s/%s/comm" % (task_dir, tid)).read().strip()
            except OSError:
                continue  # the thread ended
            key = ("loop" if int(tid) == self.proc.pid
                   else "ledger" if comm == "flint-ledger" else "other")
            out[key] += ns
        return out


def wrk(url, conns, duration):
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "-s", LUA, url],
                         capture_output=True, text=True, check=True).stdout
    req = re.search(r"FLINT requests (\d+) duration_us (\d+) errors (\d+) non2xx (\d+)", out)
    p99 = re.search(r"FLINT p99 (\d+)", out)
    requests, dur = int(req.group(1)), int(req.group(2))
    if int(req.group(3)) or int(req.group(4)):
        raise RuntimeError("errors during the run: " + out)
    return requests / (dur / 1e6), int(p99.group(1)), requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=9, help="pairs of runs (on, off)")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()

    fn = tempfile.mkdtemp(prefix="flint-metering-fn-")
    os.makedirs(os.path.join(fn, "hello"))
    with open(os.path.join(fn, "hello", "index.mjs"), "w") as f:
        f.write("export const handler = async () => ({statusCode: 200, body: 'hello'});\n")
    on = Flintd(args.build, ["--metering", "on", *args.flintd_arg])
    off = Flintd(args.build, ["--metering", "off", *args.flintd_arg])
    try:
        for d in (on, off):
            d.cli("deploy", "hello", os.path.join(fn, "hello"), "--concurrency", "1",
                  "--max-instances", "2")
            wrk(d.url + "/fn/hello", args.conns, 1)  # warm up
        results = {"on": [], "off": []}
        ratios = []
        cpu = {"on": {"loop": [], "ledger": []}, "off": {"loop": [], "ledger": []}}
        answered, rows_before = 0, on.rows()
        for rep in range(args.reps):
            pair = {}
            for name, d in (("off", off), ("on", on)) if rep % 2 else (("on", on), ("off", off)):
                before = d.thread_cpu_ns()
                rps, p99, n = wrk(d.url + "/fn/hello", args.conns, args.duration)
                after = d.thread_cpu_ns()
                for k in ("loop", "ledger"):
                    cpu[name][k].append((after[k] - before[k]) / 1e3 / n)
                if name == "on":
                    answered += n
                results[name].append((rps, p99))
                pair[name] = rps
                log("pair %d metering %-3s %8.0f req/s  p99 %6d us  loop %.1f us/req  ledger "
                    "writer %.2f us/req" % (rep, name, rps, p99, cpu[name]["loop"][-1],
                                            cpu[name]["ledger"][-1]))
            ratios.append(pair["on"] / pair["off"])
        on_rows = on.rows() - rows_before  # every report waits for the writer; so does this
        deadline = time.time() + 10
        while on_rows < answered and time.time() < deadline:
            time.sleep(0.1)
            on_rows = on.rows() - rows_before
        med = {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
               for k, v in results.items()}
        ratio = statistics.median(ratios)
        print("warm throughput, metering off: %.0f req/s, p99 %d us (median of %d runs)"
              % (med["off"][0], med["off"][1], args.reps))
        print("warm throughput, metering on:  %.0f req/s, p99 %d us" % med["on"])
        print("throughput on/off, median of %d interleaved pairs: %.3f (metering costs %.1f%%; "
              "pairs ranged %.3f-%.3f)" % (args.reps, ratio, (1 - ratio) * 100, min(ratios),
                                           max(ratios)))
        for name in ("off", "on"):
            print("flintd CPU per request, metering %-3s: event loop %.1f us, ledger writer "
                  "thread %.2f us" % (name, statistics.median(cpu[name]["loop"]),
                                      statistics.median(cpu[name]["ledger"])))
        print("ledger records stored for the metered runs: %d (responses received: %d)%s"
              % (on_rows, answered, "" if on_rows >= answered else "  MISSING RECORDS"))
        if on_rows < answered:
            sys.exit(1)
    finally:
        on.stop()
        off.stop()
        subprocess.run(["rm", "-rf", fn])


if __name__ == "__main__":
    main()
