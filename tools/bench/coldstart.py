#!/usr/bin/env python3
"""Cold-start latency of Flint: a function whose pool is at zero gets one request, many times.

For each (function, pre-warmed pool on/off) it starts its own flintd, deploys the function with
a 100 ms keep-alive, and for every sample waits until the function has no worker left, the last
one's process has exited (see settled()) and, with the pre-warmed pool, a generic worker is
ready again, then sends one request. It reports
p50/p99/p99.9 of

  - e2e:    the client's time for the whole HTTP request (what a caller sees; a keep-alive
            connection and a plain-socket client, RawHttp, so that little of it is the
            client's own work), and
  - server: flintd's own measure, request needing a worker -> LOADED (GET /v1/pools keeps the
            last 1024 samples per pool; p50/p99 only).

  python3 tools/bench/coldstart.py --build build-scale --samples 200
  python3 tools/bench/coldstart.py --build build-scale --samples 50 --json out.json
  python3 tools/bench/coldstart.py --build build-scale --samples 50 --no-spawn \
      --flintd-arg=--log-level --flintd-arg=debug --keep-logs /tmp/cold   # each step's time

Functions: functions/hello (JavaScript) and functions/hello-cpp (C++, compiled by flintd at
deploy) when it exists. Needs a built flintd, flint-worker and flint in --build.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile."""
    values = sorted(values)
    if not values:
        return float("nan")
    k = max(1, min(len(values), int(-(-p * len(values) // 100))))
    return values[k - 1]


class Flintd:
    """A flintd on a free port with a temporary data directory; stop() removes everything."""

    def __init__(self, build, extra_args=(), keep_log=None):
        self.build = build
        self.keep_log = keep_log  # copy flintd's log there when stopping
        self.data, self.log, self.proc, self.url = flintd_launch.launch(
            build, extra_args, "flint-bench-")
        self.port = int(self.url.rsplit(":", 1)[1])
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()
        self.api = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def cli(self, *args):
        env = dict(os.environ, FLINT_DATA_DIR=self.data, FLINT_URL=self.url)
        out = subprocess.run([os.path.join(self.build, "tools", "cli", "flint"), *args],
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("flint %s: %s" % (" ".join(args), out.stderr.strip()))
        return out.stdout

    def get_json(self, path):
        for attempt in range(2):
            try:
                self.api.request("GET", path, headers={"Authorization": "Bearer " + self.token})
                r = self.api.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError("GET %s: %d %s" % (path, r.status, body[:200]))
                return json.loads(body)
            except (http.client.HTTPException, ConnectionError):
                if attempt:
                    raise
                self.api = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def pools(self):
        return self.get_json("/v1/pools")

    def pool(self, name):
        for p in self.pools()["pools"]:
            if p["name"] == name:
                return p
        return None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.keep_log:
            shutil.copy(os.path.join(self.data, "flintd.log"), self.keep_log)
        shutil.rmtree(self.data, ignore_errors=True)


class RawHttp:
    """A keep-alive HTTP/1.1 client on a plain socket, for timing: http.client's own work (its
    header parsing alone) adds about 0.15 ms to every request here, a sixth of a C++ cold start.
    Handles what flintd sends: a status line, headers and a Content-Length body."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def get(self, path):
        """Returns (status, {lower-case header: value}, body)."""
        self.sock.sendall(b"GET %s HTTP/1.1\r\nHost: flint\r\n\r\n" % path.encode())
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self.recv()
        lines = self.buf[:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError("response without Content-Length: %r" % lines[0])
        total = end + 4 + int(headers["content-length"])
        while len(self.buf) < total:
            self.recv()
        body, self.buf = self.buf[end + 4:total], self.buf[total:]
        return int(lines[0].split()[1]), headers, body

    def recv(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed by flintd")
        self.buf += chunk


def settled(node, name, prewarm):
    """The function `name` has no worker, `prewarm` generic workers are ready, and no other
    worker process is alive than those the pools count: the previous sample's worker has not
    only left its pool (which it does when told to stop) but exited and been reaped, with its
    cgroup removed. Otherwise a sample measures the cold start racing the last one's teardown
    (an exiting V8 process, the sandbox's PID 1, the cgroup's removal) for the 2 CPUs."""
    pool = next((p for p in node["pools"] if p["name"] == name), None)
    workers = 0 if pool is None else sum(pool["workers"].values())
    in_pools = sum(sum(p["workers"].values()) for p in node["pools"])
    generic = node["node"]["generic_ready"]
    return workers == 0 and generic >= prewarm and node["node"]["workers"] == generic + in_pools


def wait_for(cond, timeout=30, interval=0.01):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise RuntimeError("timed out waiting")
        time.sleep(interval)


def measure(build, path, prewarm, samples, extra=(), memory=None, keep_log=None):
    # One pre-warmed generic worker per runtime (JS and C++), or none at all.
    flintd = Flintd(build, ["--prewarm", str(prewarm), "--prewarm-cpp", str(prewarm), *extra],
                    keep_log)
    try:
        name = "cold"
        flintd.cli("deploy", name, path, "--keep-alive", "100ms",
                   *(["--memory", str(memory)] if memory else []))
        conn = RawHttp(flintd.port)
        e2e, misses = [], 0

        def ready():
            return settled(flintd.pools(), name, 2 * prewarm)

        for i in range(samples):
            wait_for(ready)
            t0 = time.perf_counter()
            status, headers, _ = conn.get("/fn/%s?name=cold" % name)
            elapsed = (time.perf_counter() - t0) * 1000.0
            if status != 200:
                raise RuntimeError("cold request failed: %d" % status)
            if headers.get("x-flint-cold-start") == "true":
                e2e.append(elapsed)
            else:
                misses += 1
            if (i + 1) % 50 == 0:
                log("  %d/%d" % (i + 1, samples))
        server = flintd.pool(name)["cold_start_ms"]
        return {"samples": len(e2e), "not_cold": misses,
                "e2e_p50": pct(e2e, 50), "e2e_p99": pct(e2e, 99), "e2e_p999": pct(e2e, 99.9),
                "server_p50": server["p50"], "server_p99": server["p99"]}
    finally:
        flintd.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--no-cpp", action="store_true", help="skip the C++ function")
    ap.add_argument("--no-js", action="store_true", help="skip the JavaScript function")
    ap.add_argument("--memory", type=int,
                    help="deploy with this memory size (MB; default: the function's, 128)")
    ap.add_argument("--no-spawn", action="store_true",
                    help="pre-warmed pool only (skip the --prewarm 0 cases)")
    ap.add_argument("--keep-logs", metavar="DIR",
                    help="keep each flintd's log in DIR (with --flintd-arg=--log-level "
                         "--flintd-arg=debug: every cold start's steps)")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()

    functions = [] if args.no_js else [("js", os.path.join(ROOT, "functions", "hello"))]
    cpp = os.path.join(ROOT, "functions", "hello-cpp", "index.cc")
    if os.path.exists(cpp) and not args.no_cpp:
        functions.append(("cpp", cpp))
    load_before = os.getloadavg()
    results = []
    for runtime, path in functions:
        for prewarm in ((1,) if args.no_spawn else (1, 0)):
            label = "%s, %s" % (runtime, "pre-warmed pool" if prewarm else "no pool (spawn)")
            log("cold starts: %s (%d samples)" % (label, args.samples))
            try:
                keep_log = None
                if args.keep_logs:
                    os.makedirs(args.keep_logs, exist_ok=True)
                    keep_log = os.path.join(args.keep_logs, "flintd-%s-%s.log" % (
                        runtime, "prewarm" if prewarm else "spawn"))
                r = measure(args.build, path, prewarm, args.samples, args.flintd_arg,
                            args.memory, keep_log)
            except RuntimeError as e:
                log("  skipped: %s" % e)
                continue
            r.update(runtime=runtime, prewarm=prewarm, label=label)
            results.append(r)

    load_after = os.getloadavg()
    print("\nCold start latency (pool at zero, one request; ms); load average %s at the start, "
          "%s at the end" % (" ".join("%.2f" % x for x in load_before),
                             " ".join("%.2f" % x for x in load_after)))
    print("| function | workers | samples | e2e p50 | e2e p99 | e2e p99.9 | server p50 | server p99 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print("| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            r["runtime"], "pre-warmed" if r["prewarm"] else "spawned", r["samples"],
            r["e2e_p50"], r["e2e_p99"], r["e2e_p999"], r["server_p50"], r["server_p99"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after,
                       "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
