#!/usr/bin/env python3
"""Metering benchmark: warm throughput and p99 with metering on and off in the same run, and
the ledger's write rate (docs/billing.md).

Starts two flintd (temporary data directories), one with --metering on and one with
--metering off, deploys the same function to both, and drives them with wrk alternately
(--reps rounds, median reported), so both see the same machine state. Then measures how many
records per second the ledger stores: it starts a third flintd whose journal holds --records
records left by a "crashed" flintd (written by running load, then kill -9 before the writer
could keep up is not reproducible, so instead the script times the writer catching up: it
counts ledger rows while wrk runs flat out and reports rows committed per second of run).

  tools/bench/metering.py --build build-meter --duration 5 --reps 3
"""
import argparse
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "tools", "bench", "percentiles.lua")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Flintd:
    def __init__(self, build, extra):
        self.build = build
        self.data = tempfile.mkdtemp(prefix="flint-metering-")
        self.log = open(os.path.join(self.data, "flintd.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(build, "scheduler", "flintd"), "--listen", "127.0.0.1:0",
             "--data-dir", self.data, "--log-level", "warn", *extra],
            stdout=self.log, stderr=self.log, start_new_session=True)
        url_file = os.path.join(self.data, "flintd.url")
        deadline = time.time() + 20
        while not (os.path.exists(url_file) and os.path.getsize(url_file) > 0):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("flintd did not start; see " + self.log.name)
            time.sleep(0.02)
        self.url = open(url_file).read().strip()

    def cli(self, *args):
        env = dict(os.environ, FLINT_DATA_DIR=self.data)
        subprocess.run([os.path.join(self.build, "tools", "cli", "flint"), *args], env=env,
                       check=True, stdout=subprocess.DEVNULL)

    def rows(self):
        db = sqlite3.connect(os.path.join(self.data, "flint.db"), timeout=10)
        try:
            return db.execute("SELECT COUNT(*) FROM invocations").fetchone()[0]
        finally:
            db.close()

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", self.data])


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
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", type=int, default=16)
    args = ap.parse_args()

    fn = tempfile.mkdtemp(prefix="flint-metering-fn-")
    os.makedirs(os.path.join(fn, "hello"))
    with open(os.path.join(fn, "hello", "index.mjs"), "w") as f:
        f.write("export const handler = async () => ({statusCode: 200, body: 'hello'});\n")
    on = Flintd(args.build, ["--metering", "on"])
    off = Flintd(args.build, ["--metering", "off"])
    try:
        for d in (on, off):
            d.cli("deploy", "hello", os.path.join(fn, "hello"), "--concurrency", "1",
                  "--max-instances", "2")
            wrk(d.url + "/fn/hello", args.conns, 1)  # warm up
        results = {"on": [], "off": []}
        rates = []
        for rep in range(args.reps):
            for name, d in (("off", off), ("on", on)) if rep % 2 else (("on", on), ("off", off)):
                before = d.rows() if name == "on" else 0
                t0 = time.time()
                rps, p99, n = wrk(d.url + "/fn/hello", args.conns, args.duration)
                if name == "on":
                    # Rows the ledger stored during the run (the writer keeps up: at most one
                    # batch interval behind).
                    after = d.rows()
                    rates.append((after - before) / (time.time() - t0))
                results[name].append((rps, p99))
                log("rep %d metering %-3s %8.0f req/s  p99 %6d us" % (rep, name, rps, p99))
        med = {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
               for k, v in results.items()}
        cost = (1 - med["on"][0] / med["off"][0]) * 100
        print("warm throughput, metering off: %.0f req/s, p99 %d us" % med["off"])
        print("warm throughput, metering on:  %.0f req/s, p99 %d us" % med["on"])
        print("metering cost: %.1f%% of throughput" % cost)
        print("ledger rows stored during the runs: %.0f rows/s (median)" % statistics.median(rates))
    finally:
        on.stop()
        off.stop()
        subprocess.run(["rm", "-rf", fn])


if __name__ == "__main__":
    main()
