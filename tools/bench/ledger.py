#!/usr/bin/env python3
"""Ledger benchmark: how many invocation records per second the ledger stores, through the real
path, against bare SQLite measured in the same run (docs/billing.md, "Figures").

Runs build/scheduler/meter/flint-ledger-bench (built with flintd; scheduler/meter/ledger_bench.cc),
which, per rep and on fresh databases, inserts --records records with bare SQLite (one prepared
statement, one transaction: the baseline), then pushes the same records through a Meter (journal
append on the loop thread, writer thread, billing, batches of one transaction each) and times
them until the last one is committed. Prints the median of each figure over --reps reps, the
ratio to the baseline, and the verdict against the issue's target (50,000 records/s).

  tools/bench/ledger.py --build build-bill --records 200000 --reps 5
  tools/bench/ledger.py --build build-bill --random-ids   # version-4 ids, as before v7 ids
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = 50_000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--random-ids", action="store_true")
    ap.add_argument("--dir", help="where the temporary databases go (default: $TMPDIR or /tmp)")
    args = ap.parse_args()
    cmd = [os.path.join(args.build, "scheduler", "meter", "flint-ledger-bench"), "--records",
           str(args.records), "--reps", str(args.reps)]
    if args.random_ids:
        cmd.append("--random-ids")
    if args.dir:
        cmd += ["--dir", args.dir]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    summary = None
    for line in out.splitlines():
        if line.startswith("FLINT_LEDGER_BENCH "):
            summary = json.loads(line.split(" ", 1)[1])
        else:
            print(line)
    runs = summary["runs"]

    def med(key):
        return statistics.median(r[key] for r in runs)

    rate, base = med("meter_per_s"), med("baseline_per_s")
    print("ledger, %d records x %d reps (medians), %s ids:" % (
        summary["records"], len(runs), "random v4" if args.random_ids else "time-ordered v7"))
    print("  bare SQLite, one transaction:        %8.0f records/s  %.1f us CPU per record"
          % (base, med("baseline_cpu_us")))
    print("  meter -> journal -> writer -> SQLite: %8.0f records/s  %.1f us CPU per record "
          "(writer thread %.1f)" % (rate, med("meter_cpu_us"), med("writer_cpu_us")))
    print("  ratio to bare SQLite: %.2fx; mean batch %.0f records; loop append %.0f ns"
          % (statistics.median(r["meter_per_s"] / r["baseline_per_s"] for r in runs),
             med("mean_batch"), med("append_ns")))
    print("  target %d records/s: %s" % (TARGET, "met" if rate >= TARGET else "NOT MET"))


if __name__ == "__main__":
    main()
