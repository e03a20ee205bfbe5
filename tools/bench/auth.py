#!/usr/bin/env python3
"""The cost of authentication on warm throughput: one private function called with a token
(checked on every request: SHA-256 of the token, a constant-time compare, the per-token rate
limit) against its public twin called without one, in the same run on the same flintd.

Both functions are the same handler at the same settings; wrk drives them in alternating slices
(--reps of each, --duration seconds each, after an uncounted warm-up slice of each) so machine
noise falls on both alike. Prints each side's median req/s and p50/p99, and the ratio
private/public (target: at least 0.97, a cost of at most 3%). A twin of the public function,
measured the same way, shows how far two identical functions differ in the same run: a
private/public ratio within that is not a cost of the token check. Record `uptime`'s load
average with the figures: on a busy machine the ratio is noisier than the cost it measures.

  python3 tools/bench/auth.py --build build
  python3 tools/bench/auth.py --build build --duration 5 --reps 5 --conns 50 --runtime cpp
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import flintd_launch  # noqa: E402

HANDLER = "export const handler = async () => ({ statusCode: 200, body: 'ok' });\n"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wrk(url, conns, duration, headers=()):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--latency",
           "-s", os.path.join(HERE, "percentiles.lua")]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [url], env=dict(os.environ, BODY_FILE=""), capture_output=True,
                         text=True, check=True).stdout
    r = {}
    for line in out.splitlines():
        m = re.match(r"FLINT (\S+) (\S+)", line)
        if not m:
            continue
        if m.group(1) == "requests":
            parts = line.split()
            r["rps"] = int(parts[2]) / (int(parts[4]) / 1e6)
            r["errors"] = int(parts[6]) + int(parts[8])
        else:
            r[m.group(1)] = int(m.group(2)) / 1000.0
    return r


def create_token(url, admin, name, scopes):
    req = urllib.request.Request(url + "/v1/tokens", method="POST",
                                 data=json.dumps({"name": name, "scopes": scopes}).encode(),
                                 headers={"Authorization": "Bearer " + admin,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())["secret"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--duration", type=int, default=5, help="seconds per slice")
    ap.add_argument("--reps", type=int, default=5, help="slices of each side")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--runtime", default="node", help="node, v8 (same handler) or cpp")
    ap.add_argument("--flintd-arg", action="append", default=[],
                    help="extra flintd argument (repeatable), e.g. --flintd-arg=--no-isolation")
    args = ap.parse_args()

    flintd = flintd_launch.BenchFlintd(args.build, args.flintd_arg, prefix="flint-auth-")
    try:
        code = tempfile.mkdtemp(prefix="flint-auth-code-")
        if args.runtime == "cpp":
            src = os.path.join(ROOT, "functions", "hello-cpp")
        else:
            src = os.path.join(code, "index.mjs")
            with open(src, "w") as f:
                f.write(HANDLER)
        common = ["--concurrency", "1", "--max-instances", "4"]
        if args.runtime != "cpp":
            common += ["--runtime", args.runtime]
        flintd.cli("deploy", "open", src, *common)
        flintd.cli("deploy", "twin", src, *common)
        flintd.cli("deploy", "closed", src, *common, "--private")
        admin = open(os.path.join(flintd.data, "admin.token")).read().strip()
        token = create_token(flintd.url, admin, "bench", ["invoke"])
        auth = ["Authorization: Bearer " + token]

        # "twin" is a second public function identical to "open": how far two functions with
        # nothing between them differ is the floor below which the private/public ratio says
        # nothing about the token check.
        sides = {"public": (flintd.url + "/fn/open", ()),
                 "private": (flintd.url + "/fn/closed", auth),
                 "twin": (flintd.url + "/fn/twin", ())}
        for name, (url, headers) in sides.items():  # warm-up, not counted
            wrk(url, args.conns, 2, headers)
        runs = {name: [] for name in sides}
        names = list(sides)
        for i in range(args.reps):
            order = names[i % 3:] + names[:i % 3]
            for name in order:
                url, headers = sides[name]
                r = wrk(url, args.conns, args.duration, headers)
                if r.get("errors"):
                    raise RuntimeError("%s: %d errors or non-2xx answers" % (name, r["errors"]))
                runs[name].append(r)
                log("slice %d %-7s %8.0f req/s p50 %.2f ms p99 %.2f ms" %
                    (i + 1, name, r["rps"], r["p50"], r["p99"]))
        load = open("/proc/loadavg").read().split()[:3]
        med = {n: {k: statistics.median(r[k] for r in v) for k in ("rps", "p50", "p99")}
               for n, v in runs.items()}
        ratios = [p["rps"] / q["rps"] for p, q in zip(runs["private"], runs["public"])]
        print("| side | req/s | p50 ms | p99 ms |")
        print("| --- | --- | --- | --- |")
        for n in names:
            print("| %s | %.0f | %.2f | %.2f |" % (n, med[n]["rps"], med[n]["p50"], med[n]["p99"]))
        ratio = statistics.median(ratios)
        twin = statistics.median(t["rps"] / q["rps"] for t, q in zip(runs["twin"], runs["public"]))
        print("twin/public req/s: %.3f (two identical public functions: the noise floor)" % twin)
        print("private/public req/s: %.3f (median of %d paired slices; cost %.1f%%); "
              "p99 ratio %.2f; load average %s" %
              (ratio, len(ratios), (1 - ratio) * 100, med["private"]["p99"] / med["public"]["p99"],
               " ".join(load)))
    finally:
        flintd.stop()


if __name__ == "__main__":
    main()
