#!/usr/bin/env python3
"""Events benchmark: accepted async events/s (time to 202, durably stored) and end-to-end
events/s through a trivial function with the durable queue, beside synchronous throughput in
the same run (docs/triggers.md, docs/benchmarks.md).

Starts one flintd (temporary data directory), deploys a trivial JS function, then for each of
--reps rounds: (1) drives synchronous POST /fn/NAME with wrk; (2) drives async POST /fn/NAME
with "X-Flint-Invocation-Type: Event" with wrk, each 202 sent only after the event's batch
committed to SQLite; then waits until the queue is empty. Accepted events/s is wrk's rate of
202s; end-to-end events/s is the events accepted in the round divided by the time from the
start of the round's wrk run until the last of them has run (polled in flint.db). Medians of the
rounds are printed with the ratios to synchronous throughput.

  tools/bench/events.py --build build-ev --duration 5 --reps 3
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

LUA = r"""
local async = os.getenv("FLINT_ASYNC") == "1"
wrk.method = "POST"
wrk.body = '{"n":1}'
wrk.headers["Content-Type"] = "application/json"
if async then wrk.headers["X-Flint-Invocation-Type"] = "Event" end
local non202 = 0
response = function(status, headers, body)
  if async and status ~= 202 then non202 = non202 + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("FLINT requests %d duration_us %d errors %d non2xx %d p99 %d\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(99)))
end
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Flintd(flintd_launch.BenchFlintd):
    def __init__(self, build, extra):
        super().__init__(build, extra, "flint-events-")
        self.db = sqlite3.connect(os.path.join(self.data, "flint.db"), timeout=10)

    def events(self, state):
        return self.db.execute("SELECT COUNT(*) FROM events WHERE state = ?", (state,)).fetchone()[0]

    def stop(self):
        self.db.close()
        super().stop()


def wrk(url, conns, duration, lua, is_async):
    env = dict(os.environ, FLINT_ASYNC="1" if is_async else "0")
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "-s", lua, url],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"FLINT requests (\d+) duration_us (\d+) errors (\d+) non2xx (\d+) p99 (\d+)", out)
    requests, dur = int(m.group(1)), int(m.group(2))
    if int(m.group(3)) or int(m.group(4)):
        raise RuntimeError("errors during the run: " + out)
    return requests, requests / (dur / 1e6), int(m.group(5))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--max-instances", type=int, default=2)
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()

    fn = tempfile.mkdtemp(prefix="flint-events-fn-")
    os.makedirs(os.path.join(fn, "trivial"))
    with open(os.path.join(fn, "trivial", "index.mjs"), "w") as f:
        f.write("export const handler = async (event) => ({statusCode: 200, body: 'ok'});\n")
    lua = os.path.join(fn, "events.lua")
    with open(lua, "w") as f:
        f.write(LUA)
    d = Flintd(args.build, ["--event-queue-depth", "100000000", *args.flintd_arg])
    try:
        d.cli("deploy", "trivial", os.path.join(fn, "trivial"), "--max-instances",
              str(args.max_instances))
        url = d.url + "/fn/trivial"
        wrk(url, args.conns, 1, lua, False)  # warm up
        sync, accepted, e2e = [], [], []
        for rep in range(args.reps):
            n, rps, p99 = wrk(url, args.conns, args.duration, lua, False)
            sync.append(rps)
            log("rep %d sync      %8.0f req/s     p99 %6d us" % (rep, rps, p99))
            done_before = d.events("succeeded")
            t0 = time.time()
            n, rps, p99 = wrk(url, args.conns, args.duration, lua, True)
            accepted.append(rps)
            log("rep %d accepted  %8.0f events/s  p99 %6d us (time to 202)" % (rep, rps, p99))
            deadline = time.time() + 600
            while d.events("succeeded") - done_before < n:
                if time.time() > deadline:
                    raise RuntimeError("the queue did not drain; see " + d.log.name)
                time.sleep(0.05)
            rate = n / (time.time() - t0)
            e2e.append(rate)
            log("rep %d end-to-end %7.0f events/s  (%d events)" % (rep, rate, n))
        s, a, e = (statistics.median(x) for x in (sync, accepted, e2e))
        print("\n## Events: trivial JS function, max-instances %d, wrk -t1 -c%d, %ds x %d runs (median)\n"
              % (args.max_instances, args.conns, args.duration, args.reps))
        print("| measure | per second | ratio to sync |")
        print("| --- | ---: | ---: |")
        print("| synchronous invocations | %.0f | 1.00 |" % s)
        print("| async events accepted (202 after commit) | %.0f | %.2f |" % (a, a / s))
        print("| async events end to end (accepted -> ran) | %.0f | %.2f |" % (e, e / s))
    finally:
        d.stop()
        subprocess.run(["rm", "-rf", fn])


if __name__ == "__main__":
    main()
