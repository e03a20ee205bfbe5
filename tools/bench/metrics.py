#!/usr/bin/env python3
"""Metrics benchmark: warm throughput of flintd with /metrics scraped every second and without.

Starts one flintd (temporary data directory), deploys a constant JS function, and drives it with
wrk in pairs of short runs, the order alternating from pair to pair: in one run of each pair a
thread scrapes GET /metrics every --interval seconds (as Prometheus would, faster than its usual
15 s), in the other nothing scrapes. Both runs hit the same flintd, so they differ only by the
scrapes. Prints the median of the per-pair throughput ratios scraped/not scraped, each
setting's median req/s and p99, and what a scrape costs: its time as the client saw it and the
page's size. Counting itself (on every invocation, scraped or not) is not separable here: it
is a few additions on the loop thread (docs/observability.md). The load average is printed
with the figures; on a shared machine, compare only ratios from the same run.

  tools/bench/metrics.py --duration 5 --reps 7
  tools/bench/metrics.py --flintd-arg=--no-isolation      # not root
"""
import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA = os.path.join(ROOT, "tools", "bench", "percentiles.lua")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wrk(url, conns, duration):
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "-s", LUA, url],
                         capture_output=True, text=True, check=True).stdout
    req = re.search(r"FLINT requests (\d+) duration_us (\d+) errors (\d+) non2xx (\d+)", out)
    p99 = re.search(r"FLINT p99 (\d+)", out)
    requests, dur = int(req.group(1)), int(req.group(2))
    if int(req.group(3)) or int(req.group(4)):
        raise RuntimeError("errors during the run: " + out)
    return requests / (dur / 1e6), int(p99.group(1))


class Scraper(threading.Thread):
    """GET /metrics every `interval` seconds until stopped; records each scrape's time."""

    def __init__(self, port, token, interval):
        super().__init__(daemon=True)
        self.port, self.token, self.interval = port, token, interval
        self.stop_event = threading.Event()
        self.times_ms, self.sizes = [], []

    def run(self):
        while not self.stop_event.is_set():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            t0 = time.perf_counter()
            c.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            body = r.read()
            self.times_ms.append((time.perf_counter() - t0) * 1000)
            c.close()
            if r.status != 200:
                raise RuntimeError("/metrics answered %d" % r.status)
            self.sizes.append(len(body))
            self.stop_event.wait(self.interval)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=7, help="pairs of runs (scraped, not scraped)")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between scrapes")
    ap.add_argument("--functions", type=int, default=20,
                    help="extra deployed and invoked functions, so the page has realistic size")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()

    fn = tempfile.mkdtemp(prefix="flint-metrics-fn-")
    os.makedirs(os.path.join(fn, "hello"))
    with open(os.path.join(fn, "hello", "index.mjs"), "w") as f:
        f.write("export const handler = async () => ({statusCode: 200, body: 'hello'});\n")
    d = flintd_launch.BenchFlintd(args.build, args.flintd_arg, "flint-metrics-")
    port = int(d.url.rsplit(":", 1)[1])
    token = open(os.path.join(d.data, "admin.token")).read().strip()
    try:
        d.cli("deploy", "hello", os.path.join(fn, "hello"), "--concurrency", "1",
              "--max-instances", "2")
        for i in range(args.functions):
            name = "other-%d" % i
            d.cli("deploy", name, os.path.join(fn, "hello"))
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/fn/" + name)
            c.getresponse().read()
            c.close()
        wrk(d.url + "/fn/hello", args.conns, 1)  # warm up
        results = {"scraped": [], "quiet": []}
        ratios, scrape_ms, sizes = [], [], []
        for rep in range(args.reps):
            pair = {}
            order = ("quiet", "scraped") if rep % 2 else ("scraped", "quiet")
            for name in order:
                scraper = Scraper(port, token, args.interval) if name == "scraped" else None
                if scraper:
                    scraper.start()
                rps, p99 = wrk(d.url + "/fn/hello", args.conns, args.duration)
                if scraper:
                    scraper.stop_event.set()
                    scraper.join()
                    scrape_ms += scraper.times_ms
                    sizes += scraper.sizes
                results[name].append((rps, p99))
                pair[name] = rps
                log("pair %d %-7s %8.0f req/s  p99 %6d us" % (rep, name, rps, p99))
            ratios.append(pair["scraped"] / pair["quiet"])
        med = {k: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
               for k, v in results.items()}
        ratio = statistics.median(ratios)
        print("load average: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
        print("warm throughput, not scraped:          %.0f req/s, p99 %d us (median of %d runs)"
              % (med["quiet"][0], med["quiet"][1], args.reps))
        print("warm throughput, /metrics every %.1f s: %.0f req/s, p99 %d us"
              % (args.interval, med["scraped"][0], med["scraped"][1]))
        print("throughput scraped/not scraped, median of %d interleaved pairs: %.3f (pairs "
              "ranged %.3f-%.3f)" % (args.reps, ratio, min(ratios), max(ratios)))
        print("scrapes: %d, median %.2f ms, max %.2f ms as the client saw them, page %d bytes "
              "(%d functions)" % (len(scrape_ms), statistics.median(scrape_ms), max(scrape_ms),
                                  statistics.median(sizes), args.functions + 1))
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", fn])


if __name__ == "__main__":
    main()
