#!/usr/bin/env python3
"""What isolation costs: warm and cold invocations with isolation on and off, in the same run.

It starts two flintd at once (isolation on: the default, needs root; off: flintd
--no-isolation), deploys functions/hello (JavaScript) on both with the same memory size, and
measures them interleaved -- alternating blocks of requests, so that whatever else the machine
is doing weighs on both alike:

  - warm: one keep-alive connection per flintd sending requests back to back to a warm worker
          (p50/p99/p99.9 latency), then --clients connections at once for --seconds (req/s);
  - cold: the pool at zero and a pre-warmed generic worker ready, one request (p50/p99 of the
          client's end-to-end time and of flintd's own request -> LOADED measure).

and prints both and their ratios (on / off).

Memory: --memory (default 1769 MB, a weight of one full vCPU: 1 vCPU per 1769 MB, as on
Lambda; tools/bench/bench.py deploys with the same). flintd's default --cpu-mode weight sets
no CPU quota at any size; with --cpu-mode proportional-quota (tools/bench/cpu_share.py
compares the two) smaller sizes are throttled when requests come back to back (128 MB buys 7.2
ms of CPU per 100 ms), which measures the quota, not isolation's overhead.

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


def interleaved(modes, block, total, run_block):
    """Calls run_block(mode, n) for each mode in turn, in blocks of `block`, until each mode has
    had `total`; the order of the modes alternates from one round to the next."""
    done = 0
    rnd = 0
    while done < total:
        n = min(block, total - done)
        order = modes if rnd % 2 == 0 else list(reversed(modes))
        for mode in order:
            run_block(mode, n)
        done += n
        rnd += 1


def warm(flintds, args):
    conns, lat, counts = {}, {}, {}
    for mode, flintd in flintds.items():
        flintd.cli("deploy", "warm", os.path.join(ROOT, "functions", "hello"),
                   "--memory", str(args.memory))
        conns[mode] = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
        lat[mode] = []
        for _ in range(200):  # warm up the worker, the connection and V8's compiler
            get(conns[mode], "/fn/warm?name=w")

    def sequential(mode, n):
        for _ in range(n):
            resp, ms = get(conns[mode], "/fn/warm?name=w")
            if resp.status != 200:
                raise RuntimeError("warm request failed: %d" % resp.status)
            lat[mode].append(ms)

    interleaved(list(flintds), 100, args.warm, sequential)

    # Throughput: `clients` connections, each sending back to back, in 4 alternating slices,
    # after a first slice that is not counted: it scales each pool up to `clients` workers
    # (cold starts, and with isolation their cgroups and sandboxes), which is not warm work.
    def throughput(mode, slices, seconds=args.seconds / 4, count=True):
        for _ in range(slices):
            c_counts = [0] * args.clients
            stop = time.perf_counter() + seconds

            def client(i):
                c = http.client.HTTPConnection("127.0.0.1", flintds[mode].port, timeout=60)
                while time.perf_counter() < stop:
                    get(c, "/fn/warm?name=w")
                    c_counts[i] += 1

            threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if count:
                done, secs = counts.get(mode, (0, 0.0))
                counts[mode] = (done + sum(c_counts), secs + time.perf_counter() - t0)

    for mode in flintds:
        throughput(mode, 1, seconds=1.0, count=False)
    interleaved(list(flintds), 1, 4, throughput)
    return {mode: {"warm_p50": pct(lat[mode], 50), "warm_p99": pct(lat[mode], 99),
                   "warm_p999": pct(lat[mode], 99.9),
                   "rps": counts[mode][0] / counts[mode][1]} for mode in flintds}


def cold(flintds, args):
    name = "cold"
    conns, e2e = {}, {}
    for mode, flintd in flintds.items():
        flintd.cli("deploy", name, os.path.join(ROOT, "functions", "hello"), "--keep-alive",
                   "100ms", "--memory", str(args.memory))
        conns[mode] = http.client.HTTPConnection("127.0.0.1", flintd.port, timeout=60)
        e2e[mode] = []

    def ready(flintd):
        return coldstart.settled(flintd.pools(), name, 1)

    def sample(mode, n):
        for _ in range(n):
            wait_for(lambda: ready(flintds[mode]))
            resp, ms = get(conns[mode], "/fn/%s?name=cold" % name)
            if resp.status != 200:
                raise RuntimeError("cold request failed: %d" % resp.status)
            if resp.getheader("x-flint-cold-start") == "true":
                e2e[mode].append(ms)

    interleaved(list(flintds), 1, args.cold, sample)
    out = {}
    for mode, flintd in flintds.items():
        server = flintd.pool(name)["cold_start_ms"]
        out[mode] = {"cold_samples": len(e2e[mode]), "cold_p50": pct(e2e[mode], 50),
                     "cold_p99": pct(e2e[mode], 99), "cold_server_p50": server["p50"],
                     "cold_server_p99": server["p99"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--warm", type=int, default=3000, help="sequential warm requests")
    ap.add_argument("--clients", type=int, default=4, help="connections for req/s")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the req/s run")
    ap.add_argument("--cold", type=int, default=100, help="cold-start samples")
    ap.add_argument("--memory", type=int, default=1769,
                    help="memory size (MB) of the functions; 1769 = one full vCPU")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("isolation.py: isolation needs root (flintd refuses to isolate otherwise)")

    log("isolation on and off, interleaved: %d warm requests each (%d MB), %gs at %d clients, "
        "%d cold starts" % (args.warm, args.memory, args.seconds, args.clients, args.cold))
    load_before = os.getloadavg()
    flintds = {}
    try:
        flintds["on"] = Flintd(args.build, ["--prewarm", "1"])
        flintds["off"] = Flintd(args.build, ["--prewarm", "1", "--no-isolation"])
        results = {mode: {} for mode in flintds}
        for mode, r in warm(flintds, args).items():
            results[mode].update(r)
        for mode, r in cold(flintds, args).items():
            results[mode].update(r)
    finally:
        for flintd in flintds.values():
            flintd.stop()
    load_after = os.getloadavg()

    on, off = results["on"], results["off"]
    rows = [("warm p50 (ms)", "warm_p50"), ("warm p99 (ms)", "warm_p99"),
            ("warm p99.9 (ms)", "warm_p999"),
            ("warm req/s (%d clients)" % args.clients, "rps"),
            ("cold e2e p50 (ms)", "cold_p50"), ("cold e2e p99 (ms)", "cold_p99"),
            ("cold server p50 (ms)", "cold_server_p50"),
            ("cold server p99 (ms)", "cold_server_p99")]
    print("\nIsolation on vs off (functions/hello, JavaScript, %d MB); load average %s at the "
          "start, %s at the end" % (args.memory, " ".join("%.2f" % x for x in load_before),
                                    " ".join("%.2f" % x for x in load_after)))
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
