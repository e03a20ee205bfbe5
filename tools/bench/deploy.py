#!/usr/bin/env python3
"""Deploy time of a function with a 20 MB node_modules/ folder, against a tiny function's.

It builds (offline) a function folder whose node_modules/ holds real npm packages: the
compatibility suite's unbundled packages (jsonwebtoken and its dependencies, uuid, nanoid,
itty-router...) and, to reach the size, copies of the suite's JavaScript bundles as further
packages (each copy made unique, so nothing is deduplicated). Its index.js requires
jsonwebtoken, so the deploy's load check loads a package from node_modules/.

Then, on one flintd (a free port, a temporary data directory), it alternates deploys of that
folder and of a one-file function, changing index.js each time so every deploy stores new code,
and reports for each the p50, min and max of the wall time of `flint deploy` (pack, upload,
unpack and store, load check in a worker), the CPU time the flint CLI and flintd spent on it
(less sensitive to a busy machine than wall time), the ratio big/tiny of the wall-time p50s, and
the load average before and after (the machine is shared: read figures with it).

  python3 tools/bench/deploy.py                      # build/, 7 deploys each, 20 MB
  python3 tools/bench/deploy.py --build build --runs 11 --megabytes 20 --json out.json
  python3 tools/bench/deploy.py --plain-esm          # entries that load nothing

Needs a built flintd, flint-worker and flint in --build (tools/build.sh).
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flintd_launch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPAT = os.path.join(ROOT, "tests", "compat", "handlers")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def build_big(dest, megabytes):
    """A function folder with a node_modules/ of about `megabytes` MiB; returns (files, bytes)."""
    modules = os.path.join(dest, "node_modules")
    os.makedirs(modules)
    for handler in sorted(os.listdir(COMPAT)):
        src = os.path.join(COMPAT, handler, "node_modules")
        if not os.path.isdir(src):
            continue
        for package in sorted(os.listdir(src)):
            target = os.path.join(modules, package)
            if not os.path.exists(target):
                shutil.copytree(os.path.join(src, package), target)
    bundles = []
    for handler in sorted(os.listdir(COMPAT)):
        for name in ("index.js", "index.mjs"):
            path = os.path.join(COMPAT, handler, name)
            if os.path.isfile(path) and os.path.getsize(path) > 20000:
                with open(path, "rb") as f:
                    bundles.append((handler, f.read()))
    total = sum(size_of(modules))
    n = 0
    while total < megabytes << 20:
        handler, text = bundles[n % len(bundles)]
        package = os.path.join(modules, "filler-%04d-%s" % (n, handler))
        os.makedirs(os.path.join(package, "dist"))
        with open(os.path.join(package, "package.json"), "w") as f:
            json.dump({"name": "filler-%04d" % n, "version": "1.0.0", "main": "dist/index.js"}, f)
        # Split each bundle into a few files, as packages ship them, each made unique.
        step = max(1, len(text) // 8)
        for i in range(0, len(text), step):
            with open(os.path.join(package, "dist", "part-%d.js" % (i // step)), "wb") as f:
                f.write(b"/* filler %d */\n" % n + text[i:i + step])
        with open(os.path.join(package, "dist", "index.js"), "w") as f:
            f.write("module.exports = %d;\n" % n)
        total = sum(size_of(modules))
        n += 1
    files = sum(len(fs) for _, _, fs in os.walk(dest))
    return files, sum(size_of(dest))


def size_of(path):
    for d, _, files in os.walk(path):
        for name in files:
            yield os.path.getsize(os.path.join(d, name))


def write_index(folder, run, with_require, plain_esm):
    if plain_esm:  # loads nothing from node_modules/: the upload and storage alone
        with open(os.path.join(folder, "index.mjs"), "w") as f:
            f.write("// deploy benchmark, run %d\nexport const handler = async () => 1;\n" % run)
        return
    with open(os.path.join(folder, "index.js"), "w") as f:
        f.write("// deploy benchmark, run %d\n" % run)
        if with_require:
            f.write("const jwt = require('jsonwebtoken');\n")
            f.write("exports.handler = async () => ({ ok: typeof jwt.sign === 'function' });\n")
        else:
            f.write("exports.handler = async () => ({ ok: true });\n")


def process_cpu(pid):
    """User + system CPU seconds of a process so far (flintd: its own threads, not workers)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_deploy(flintd, name, folder):
    """(wall seconds, CPU seconds of the flint CLI, CPU seconds of flintd) of one deploy."""
    env = dict(os.environ, FLINT_DATA_DIR=flintd.data)
    cli_before, flintd_before = children_cpu(), process_cpu(flintd.proc.pid)
    start = time.perf_counter()
    r = subprocess.run([os.path.join(flintd.build, "tools", "cli", "flint"), "deploy", name,
                        folder], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise RuntimeError("flint deploy %s failed: %s%s" % (name, r.stdout, r.stderr))
    return (elapsed, children_cpu() - cli_before, process_cpu(flintd.proc.pid) - flintd_before)


def summary(samples):
    walls = [w for w, _, _ in samples]
    return {"p50_ms": round(statistics.median(walls) * 1000, 1),
            "min_ms": round(min(walls) * 1000, 1), "max_ms": round(max(walls) * 1000, 1),
            "cli_cpu_p50_ms": round(statistics.median(c for _, c, _ in samples) * 1000, 1),
            "flintd_cpu_p50_ms": round(statistics.median(f for _, _, f in samples) * 1000, 1),
            "runs": len(samples)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--plain-esm", action="store_true",
                        help="entries are ES modules that import nothing (measures the upload and "
                             "storage alone, and runs on a runtime without CommonJS)")
    parser.add_argument("--flintd-arg", action="append", default=[],
                        help="extra flintd argument (repeatable)")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="flint-bench-deploy-")
    flintd = None
    try:
        big = os.path.join(work, "big")
        files, size = build_big(big, args.megabytes)
        tiny = os.path.join(work, "tiny")
        os.makedirs(tiny)
        extra = list(args.flintd_arg)
        if os.geteuid() != 0 and "--no-isolation" not in extra:
            extra.append("--no-isolation")
        load_before = loadavg()
        flintd = flintd_launch.BenchFlintd(args.build, extra, prefix="flint-bench-deploy-")
        times = {"big": [], "tiny": []}
        for run in range(args.runs):
            write_index(big, run, with_require=True, plain_esm=args.plain_esm)
            times["big"].append(timed_deploy(flintd, "big", big))
            write_index(tiny, run, with_require=False, plain_esm=args.plain_esm)
            times["tiny"].append(timed_deploy(flintd, "tiny", tiny))
        load_after = loadavg()
        result = {
            "package": {"files": files, "megabytes": round(size / (1 << 20), 1)},
            "big": summary(times["big"]),
            "tiny": summary(times["tiny"]),
            "ratio_p50": round(statistics.median(w for w, _, _ in times["big"]) /
                               statistics.median(w for w, _, _ in times["tiny"]), 1),
            "loadavg_before": load_before,
            "loadavg_after": load_after,
        }
        for key, what in (("big", "a %.1f MB function (%d files, node_modules/)" % (
                size / (1 << 20), files)), ("tiny", "a one-file function")):
            r = result[key]
            print("deploy of %s: p50 %.0f ms (min %.0f, max %.0f, %d runs); CPU p50: flint %.0f "
                  "ms, flintd %.0f ms" % (what, r["p50_ms"], r["min_ms"], r["max_ms"], r["runs"],
                                          r["cli_cpu_p50_ms"], r["flintd_cpu_p50_ms"]))
        print("ratio big/tiny (p50): %.1fx" % result["ratio_p50"])
        print("load average: before %s, after %s" % (load_before, load_after))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        if flintd is not None:
            flintd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
