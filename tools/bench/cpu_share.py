#!/usr/bin/env python3
"""CPU weights (the default) against Lambda's proportional quota, in the same run.

It starts two flintd at once with isolation on (needs root): one with the default
`--cpu-mode weight` (each worker's cgroup gets a CPU weight in proportion to its memory, no
quota) and one with `--cpu-mode proportional-quota` (also a hard CFS quota in proportion to
memory: 7.2 ms of CPU per 100 ms at 128 MB). Both serve functions/hello at the default memory
size (128 MB) and are measured alternately:

  - hello, wrk -t1 at 1 and at 50 connections for --duration seconds (req/s, p50, p99, p99.9);
  - the neighbour test: a C++ function (tests/functions/hostile-cpp, 1769 MB, a weight of one
    vCPU) spins on every core for --spin-ms while the 128 MB hello answers requests sent back
    to back on one connection (p50, p99, max), and what CPU the spinner got.

It prints both modes and their ratios (weight / proportional-quota) with the load average.

  sudo python3 tools/bench/cpu_share.py --build build-release
  sudo python3 tools/bench/cpu_share.py --build build --duration 3 --reps 1 --spin-ms 2000
"""
import argparse
import importlib.util
import os
import statistics
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


coldstart = load("coldstart")
bench = load("bench")
Flintd, RawHttp, pct, log = coldstart.Flintd, coldstart.RawHttp, coldstart.pct, coldstart.log

MODES = ["weight", "proportional-quota"]


def hello_runs(flintds, args):
    """wrk at 1 and 50 connections, modes alternating; the median of --reps runs each."""
    out = {}
    for conns in (50, 1):
        runs = {mode: [] for mode in MODES}
        for rep in range(args.reps):
            order = MODES if rep % 2 == 0 else list(reversed(MODES))
            for mode in order:
                url = "http://127.0.0.1:%d/fn/hello" % flintds[mode].port
                bench.wrk(url, conns, 1)  # warm-up, not recorded: scales the pool up
                runs[mode].append(bench.wrk(url, conns, args.duration))
        for mode in MODES:
            out[(mode, conns)] = bench.median_runs(runs[mode])
    return out


def neighbour(flintd, args):
    """The neighbour's latencies (ms) while the spinner spins, and the spinner's answer."""
    conn = RawHttp(flintd.port)
    for _ in range(50):
        conn.get("/fn/hello")
    answer = {}

    def spin():
        spinner = RawHttp(flintd.port)
        status, _, body = spinner.get("/fn/spinner?do=spin-all&arg=%d" % args.spin_ms)
        answer["status"], answer["body"] = status, body.decode()
        answer["done"] = True

    thread = threading.Thread(target=spin)
    thread.start()
    deadline = time.time() + 30
    while (flintd.pool("spinner") or {}).get("workers", {}).get("busy", 0) == 0:
        if time.time() > deadline:
            raise RuntimeError("the spinner never started")
        time.sleep(0.01)
    lat = []
    while not answer.get("done"):
        t0 = time.perf_counter()
        status, _, _ = conn.get("/fn/hello")
        ms = (time.perf_counter() - t0) * 1000.0
        if status != 200:
            raise RuntimeError("neighbour request failed: %d" % status)
        if not answer.get("done"):
            lat.append(ms)
    thread.join()
    cpu_us, wall_us, threads = (float(x) for x in answer["body"].split())
    return lat, cpu_us / wall_us, int(threads)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    ap.add_argument("--reps", type=int, default=2, help="wrk runs per mode and connection count")
    ap.add_argument("--spin-ms", type=int, default=3000, help="how long the spinner spins")
    ap.add_argument("--spins", type=int, default=2, help="neighbour runs per mode")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("cpu_share.py needs root (cgroups): run it with sudo")

    load_start = os.getloadavg()
    flintds = {mode: Flintd(args.build, ["--cpu-mode", mode]) for mode in MODES}
    try:
        for mode, flintd in flintds.items():
            flintd.cli("deploy", "hello", os.path.join(ROOT, "functions", "hello"))
            flintd.cli("deploy", "spinner",
                       os.path.join(ROOT, "tests", "functions", "hostile-cpp", "hostile.cc"),
                       "--memory", "1769", "--timeout", "60s")
            flintd.cli("invoke", "spinner")  # warm
        log("hello at 128 MB, wrk %ds x %d per mode and connection count" %
            (args.duration, args.reps))
        hello = hello_runs(flintds, args)
        log("neighbour test: spinning %d ms, %d runs per mode" % (args.spin_ms, args.spins))
        near = {mode: ([], []) for mode in MODES}
        for rep in range(args.spins):
            order = MODES if rep % 2 == 0 else list(reversed(MODES))
            for mode in order:
                lat, share, threads = neighbour(flintds[mode], args)
                near[mode][0].extend(lat)
                near[mode][1].append(share)
    finally:
        for flintd in flintds.values():
            flintd.stop()
    load_end = os.getloadavg()

    print("\nload average %.2f %.2f %.2f at the start, %.2f %.2f %.2f at the end\n" %
          (*load_start, *load_end))
    print("hello (JavaScript, 128 MB), median of %d wrk runs of %d s:\n" % (args.reps,
                                                                              args.duration))
    print("| conns | cpu mode | req/s | p50 ms | p99 ms | p99.9 ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for conns in (1, 50):
        for mode in MODES:
            r = hello[(mode, conns)]
            print("| %d | %s | %.0f | %.3f | %.3f | %.3f |" %
                  (conns, mode, r["rps"], r["p50"], r["p99"], r["p99.9"]))
    print("\n| conns | weight / quota req/s | p50 | p99 | p99.9 |")
    print("|---:|---:|---:|---:|---:|")
    for conns in (1, 50):
        w, q = hello[("weight", conns)], hello[("proportional-quota", conns)]
        print("| %d | %.2fx | %.2fx | %.2fx | %.2fx |" %
              (conns, w["rps"] / q["rps"], w["p50"] / q["p50"], w["p99"] / q["p99"],
               w["p99.9"] / q["p99.9"]))
    print("\nneighbour (hello, 128 MB, requests back to back) while a 1769 MB function spins "
          "on every core (%d ms, %d runs):\n" % (args.spin_ms, args.spins))
    print("| cpu mode | requests | p50 ms | p99 ms | max ms | spinner CPU / wall |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode in MODES:
        lat, shares = near[mode]
        print("| %s | %d | %.3f | %.3f | %.3f | %.2f |" %
              (mode, len(lat), pct(lat, 50), pct(lat, 99), max(lat), statistics.median(shares)))


if __name__ == "__main__":
    main()
