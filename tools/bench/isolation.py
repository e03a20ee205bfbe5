#!/usr/bin/env python3
"""What isolation costs: warm and cold invocations with isolation on and off, in the same run.

For each mode (isolation on: the default, needs root; off: flintd --no-isolation) it starts its
own flintd and measures, on functions/hello (JavaScript):

  - warm: one keep-alive connection sending requests back to back to a warm worker
          (p50/p99 latency), then --clients connections at once for --seconds (req/s);
  - cold: the pool at zero and a pre-warmed generic worker ready, one request (p50/p99 of the
          client's end-to-end time and of flintd's own request -> LOADED measure).

and prints both and their ratios (on / off).

  sudo python3 tools/bench/isolation.py --build build-iso
  sudo python3 tools/bench/isolation.py --build build-iso --warm 5000 --cold 100 --json out.json
"""
import argparse
import http.client
import importlib.util
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("coldstart", os.path.join(HERE, "coldstart.py"))
coldstart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coldstart)
Flintd, pct, log, wait_for = coldstart.Flintd, coldstart.pct, coldstart.log, coldstart.wait_for


def get(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    return resp, (time.perf_counter() - t0) * 1000.0


def warm(flintd, n, clients, seconds):
    flintd.cli("deploy", "warm", os.path.join(ROOT, "functions", "hello"))
    conn = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
    for _ in range(200):  # warm up the worker, the connection and V8's compiler
        get(conn, "/fn/warm?name=w")
    lat = []
    for _ in range(n):
        resp, ms = get(conn, "/fn/warm?name=w")
        if resp.status != 200:
            raise RuntimeError("warm request failed: %d" % resp.status)
        lat.append(ms)
    # Throughput: `clients` connections, each sending back to back.
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i):
        c = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
        while time.perf_counter() < stop:
            get(c, "/fn/warm?name=w")
            counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rps = sum(counts) / (time.perf_counter() - t0)
    return {"warm_p50": pct(lat, 50), "warm_p99": pct(lat, 99), "rps": rps}


def cold(flintd, samples):
    name = "cold"
    flintd.cli("deploy", name, os.path.join(ROOT, "functions", "hello"), "--keep-alive", "100ms")
    conn = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)

    def ready():
        node = flintd.pools()
        pool = next((p for p in node["pools"] if p["name"] == name), None)
        workers = 0 if pool is None else sum(pool["workers"].values())
        return workers == 0 and node["node"]["generic_ready"] >= 1

    e2e = []
    for _ in range(samples):
        wait_for(ready)
        resp, ms = get(conn, "/fn/%s?name=cold" % name)
        if resp.status != 200:
            raise RuntimeError("cold request failed: %d" % resp.status)
        if resp.getheader("x-flint-cold-start") == "true":
            e2e.append(ms)
    server = flintd.pool(name)["cold_start_ms"]
    return {"cold_samples": len(e2e), "cold_p50": pct(e2e, 50), "cold_p99": pct(e2e, 99),
            "cold_server_p50": server["p50"], "cold_server_p99": server["p99"]}


def run(build, isolated, args):
    flintd = Flintd(build, ["--prewarm", "1"] + ([] if isolated else ["--no-isolation"]))
    try:
        r = warm(flintd, args.warm, args.clients, args.seconds)
        r.update(cold(flintd, args.cold))
        return r
    finally:
        flintd.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--warm", type=int, default=3000, help="sequential warm requests")
    ap.add_argument("--clients", type=int, default=4, help="connections for req/s")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the req/s run")
    ap.add_argument("--cold", type=int, default=100, help="cold-start samples")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("isolation.py: isolation needs root (flintd refuses to isolate otherwise)")

    results = {}
    for isolated in (True, False):
        label = "on" if isolated else "off"
        log("isolation %s: %d warm requests, %gs at %d clients, %d cold starts" % (
            label, args.warm, args.seconds, args.clients, args.cold))
        results[label] = run(args.build, isolated, args)

    on, off = results["on"], results["off"]
    rows = [("warm p50 (ms)", "warm_p50"), ("warm p99 (ms)", "warm_p99"),
            ("warm req/s (%d clients)" % args.clients, "rps"),
            ("cold e2e p50 (ms)", "cold_p50"), ("cold e2e p99 (ms)", "cold_p99"),
            ("cold server p50 (ms)", "cold_server_p50"),
            ("cold server p99 (ms)", "cold_server_p99")]
    print("\nIsolation on vs off (functions/hello, JavaScript)")
    print("| measure | isolation on | isolation off | on / off | on - off |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for title, key in rows:
        ratio = on[key] / off[key] if off[key] else float("nan")
        print("| %s | %.3f | %.3f | %.3f | %+.3f |" % (title, on[key], off[key], ratio,
                                                       on[key] - off[key]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
