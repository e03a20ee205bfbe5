"""Invocation traces for the keep-alive experiments: generated days in several families, trace
files, and the per-minute (or hourly) counts format of the public Azure Functions 2019 trace.

A trace is a list of calls (time_ms, function, duration_ms), sorted by time, and a name and a
description per function. Files:

  - trace file: one call per line, "t_ms function [duration_ms]" (function: any token without
    spaces; duration default --duration-ms), sorted by time. What read_trace reads and
    write_trace writes; keep_alive_sim reads the same with function indices.
  - Azure Functions 2019 counts (invocations_per_function_md.anon.dNN.csv): a header, then one
    row per function, "HashOwner,HashApp,HashFunction,Trigger,c1,...,cN" with N = 1440
    (per-minute counts) or 24 (hourly). read_azure expands each count into calls with a stated
    inter-arrival model (below) and, given function_durations_percentiles.anon.dNN.csv, draws
    each call's duration from its function's percentiles.

Generated families: every function is one of these kinds, with its own rate, pattern and mean
duration (log-normal per call around it):

  - poisson: calls at a constant rate (exponential gaps);
  - diurnal: a Poisson process whose rate follows the day (a sine of a random phase and depth);
  - timer:   every `period` seconds, a little jitter, sometimes several calls at once (fan-out);
  - bursty:  bursts arriving as a Poisson process, each a few to tens of calls, either seconds
             apart or all at once (a fan-out that needs as many workers);
  - spiky:   a busy function at a base rate with spikes of 10x its rate for a few minutes.

Families (FAMILIES below), 300 functions each unless --functions says otherwise:

  - sitw:     the Azure Functions characterisation in Shahrad et al., "Serverless in the Wild",
              USENIX ATC 2020 (section 3): log10 of a function's daily calls from N(1.6, 1.55)
              (44% called at most hourly, 84% at most once a minute; no cap, so a few are called
              many times a second), 30% timers, 50% Poisson, 20% bursty; mean durations with
              log10(ms) from N(2.3, 0.8) (median 200 ms);
  - poisson:  90% Poisson functions with daily calls log-uniform from 1 to 100,000, 10% timers;
  - bursty:   50% bursty (half of them fan-outs), 25% Poisson, 25% timers;
  - periodic: 65% timers (periods of 1 minute to a day, a fifth of them fanning out 2-10 calls,
              a tenth irregular by +-10%), 35% Poisson;
  - busy:     25 very busy functions (15 diurnal at 0.2-5 calls a second, 10 spiky), the rest
              as in sitw: tens of workers busy at once at their peaks.

Generation is deterministic for a (family, seed, functions) triple: each function draws from
its own random stream, so the first N functions of a day are the same whatever `functions`.
"""
import bisect
import csv
import math
import random

DAY_S = 86400.0
# Bumped whenever generate() would produce other days (cached traces carry it in their name).
VERSION = 1


class Trace:
    def __init__(self, calls, names, kinds):
        self.calls = calls  # [(t_ms, function index, duration_ms)], sorted by time
        self.names = names  # function index -> name
        self.kinds = kinds  # function index -> description (kind and parameters)

    def per_function_counts(self):
        counts = [0] * len(self.names)
        for _, f, _ in self.calls:
            counts[f] += 1
        return counts

    def prefix(self, functions):
        """The first `functions` functions only."""
        return Trace([c for c in self.calls if c[1] < functions], self.names[:functions],
                     self.kinds[:functions])

    def until(self, hours):
        limit = hours * 3600_000.0
        return Trace([c for c in self.calls if c[0] < limit], self.names, self.kinds)


# ---- generated days ----

def _duration_model(rng, mu=2.3, sigma=0.8):
    """A function's mean duration (ms), and a per-call draw around it (log-normal, sigma 0.5,
    mean preserved)."""
    mean = min(10 ** rng.gauss(mu, sigma), 300_000.0)
    s = 0.5
    return mean, lambda r: max(1.0, mean * math.exp(r.gauss(-s * s / 2, s)))


def _poisson(rng, rate_per_s, out, start=0.0, end=DAY_S):
    if rate_per_s <= 0:
        return
    t = start + rng.expovariate(rate_per_s)
    while t < end:
        out.append(t)
        t += rng.expovariate(rate_per_s)


def _diurnal(rng, mean_rate, depth, phase, out):
    """Poisson with rate mean_rate * (1 + depth * sin(2 pi (t / day + phase))), by thinning."""
    peak = mean_rate * (1 + depth)
    t = rng.expovariate(peak)
    while t < DAY_S:
        rate = mean_rate * (1 + depth * math.sin(2 * math.pi * (t / DAY_S + phase)))
        if rng.random() * peak < rate:
            out.append(t)
        t += rng.expovariate(peak)


def _timer(rng, period, fanout, irregular, out):
    t = rng.uniform(0, period)
    while t < DAY_S:
        for _ in range(fanout):
            out.append(t + rng.uniform(0.0, 1.0))
        t += period * (rng.uniform(0.9, 1.1) if irregular else 1.0)


def _bursty(rng, daily, mean_size, gap_s, at_once, out):
    burst_rate = daily / mean_size / DAY_S
    if burst_rate <= 0:
        return
    t = rng.expovariate(burst_rate)
    while t < DAY_S:
        n = 1 + int(rng.expovariate(1.0 / max(mean_size - 1, 0.01)))
        s = t
        for _ in range(n):
            if s >= DAY_S:
                break
            out.append(s)
            s += rng.uniform(0.0, 0.05) if at_once else rng.expovariate(1.0 / gap_s)
        t += rng.expovariate(burst_rate)


def _spiky(rng, base_rate, spikes, out):
    _poisson(rng, base_rate, out)
    for _ in range(spikes):
        start = rng.uniform(0, DAY_S - 600)
        _poisson(rng, base_rate * 9, out, start, start + rng.uniform(60, 600))


def _sitw_function(rng, out):
    """One function of the sitw mix; returns its description."""
    u = rng.random()
    if u < 0.30:
        period = rng.choice([60, 300, 600, 900, 1800, 3600, 7200, 21600, 86400])
        _timer(rng, period, 1, False, out)
        return "timer %ds" % period
    daily = 10 ** rng.gauss(1.6, 1.55)
    if u < 0.80:
        _poisson(rng, daily / DAY_S, out)
        return "poisson %.1f/day" % daily
    _bursty(rng, daily, 5.0, 2.0, False, out)
    return "bursty %.1f/day" % daily


def _family_function(family, index, rng, out):
    if family == "sitw":
        return _sitw_function(rng, out)
    if family == "poisson":
        if rng.random() < 0.9:
            daily = 10 ** rng.uniform(0, 5)
            _poisson(rng, daily / DAY_S, out)
            return "poisson %.1f/day" % daily
        period = rng.choice([60, 300, 600, 1800, 3600, 21600])
        _timer(rng, period, 1, False, out)
        return "timer %ds" % period
    if family == "bursty":
        u = rng.random()
        if u < 0.5:
            daily = 10 ** rng.uniform(1, 4.5)
            at_once = rng.random() < 0.5
            size = rng.choice([3, 5, 10, 20, 40])
            gap = rng.choice([0.5, 2.0, 10.0])
            _bursty(rng, daily, size, gap, at_once, out)
            return "bursty %.1f/day, %d a burst, %s" % (
                daily, size, "at once" if at_once else "%gs apart" % gap)
        if u < 0.75:
            daily = 10 ** rng.gauss(1.6, 1.55)
            _poisson(rng, daily / DAY_S, out)
            return "poisson %.1f/day" % daily
        period = rng.choice([60, 300, 900, 3600])
        fanout = rng.choice([1, 1, 4, 16])
        _timer(rng, period, fanout, False, out)
        return "timer %ds x%d" % (period, fanout)
    if family == "periodic":
        if rng.random() < 0.65:
            period = rng.choice([60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400])
            fanout = rng.randint(2, 10) if rng.random() < 0.2 else 1
            irregular = rng.random() < 0.1
            _timer(rng, period, fanout, irregular, out)
            return "timer %ds x%d%s" % (period, fanout, " irregular" if irregular else "")
        daily = 10 ** rng.gauss(1.6, 1.55)
        _poisson(rng, daily / DAY_S, out)
        return "poisson %.1f/day" % daily
    if family == "busy":
        if index < 15:
            rate = 10 ** rng.uniform(math.log10(0.2), math.log10(5))
            depth = rng.uniform(0.3, 0.9)
            _diurnal(rng, rate, depth, rng.random(), out)
            return "diurnal %.2f/s (depth %.1f)" % (rate, depth)
        if index < 25:
            rate = 10 ** rng.uniform(math.log10(0.05), math.log10(1))
            spikes = rng.randint(2, 12)
            _spiky(rng, rate, spikes, out)
            return "spiky %.2f/s, %d spikes" % (rate, spikes)
        return _sitw_function(rng, out)
    raise ValueError("unknown family %r (known: %s)" % (family, ", ".join(FAMILIES)))


FAMILIES = ("sitw", "poisson", "bursty", "periodic", "busy")


def generate(family, seed, functions=300):
    """A generated day of `family` (see the module's comment)."""
    calls, names, kinds = [], [], []
    for f in range(functions):
        rng = random.Random("%s/%d/%d" % (family, seed, f))
        times = []
        kind = _family_function(family, f, rng, times)
        # The busy family's heavy functions run shorter on average (50 ms - 3 s): their
        # concurrency is set by rate x duration.
        if family == "busy" and f < 25:
            _, draw = _duration_model(rng, mu=2.4, sigma=0.5)
        else:
            _, draw = _duration_model(rng)
        for t in times:
            if t < DAY_S:
                calls.append((t * 1000.0, f, draw(rng)))
        names.append("f%03d" % f)
        kinds.append(kind)
    calls.sort()
    return Trace(calls, names, kinds)


# ---- files ----

def write_trace(trace, path, names=False):
    """Writes "t_ms function duration_ms" lines (function: its index, or its name)."""
    with open(path, "w") as f:
        for t, fn, d in trace.calls:
            f.write("%d %s %d\n" % (round(t), trace.names[fn] if names else fn, round(d)))


def read_trace(path, duration_ms=1.0):
    """Reads "t_ms function [duration_ms]" lines (blank lines and # comments skipped)."""
    calls, index, names = [], {}, []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) not in (2, 3):
                raise ValueError("%s:%d: expected 't_ms function [duration_ms]', got %r" %
                                 (path, number, line))
            try:
                t = float(parts[0])
                d = float(parts[2]) if len(parts) == 3 else duration_ms
            except ValueError:
                raise ValueError("%s:%d: not a number in %r" % (path, number, line)) from None
            if t < 0 or d < 0:
                raise ValueError("%s:%d: negative time or duration" % (path, number))
            if parts[1] not in index:
                index[parts[1]] = len(names)
                names.append(parts[1])
            calls.append((t, index[parts[1]], d))
    calls.sort()
    return Trace(calls, names, ["trace"] * len(names))


AZURE_MODELS = ("uniform", "even", "start")


def _azure_durations(path):
    """Function key -> (percent points, duration ms) from function_durations_percentiles."""
    out = {}
    points = [0.0, 0.01, 0.25, 0.50, 0.75, 0.99, 1.0]
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["HashOwner"], row["HashApp"], row["HashFunction"])
            values = [float(row[c]) for c in (
                "percentile_Average_0", "percentile_Average_1", "percentile_Average_25",
                "percentile_Average_50", "percentile_Average_75", "percentile_Average_99",
                "percentile_Average_100")]
            out[key] = (points, values)
    return out


def read_azure(path, model="uniform", durations_path=None, duration_ms=1000.0, seed=1,
               functions=None):
    """Expands an Azure Functions 2019 counts file into calls. The inter-arrival model places
    a slot's n calls (a slot: the minute, or the hour, of the column):
      - uniform: each at a uniformly random time in the slot (a Poisson process conditioned on
        its count, as the public simulators do); timer-triggered functions as in "start";
      - even:    evenly spaced, the first half a spacing into the slot;
      - start:   all at the slot's start, 1 ms apart (a timer, or a fan-out).
    Durations: from the durations file's percentiles (linear between them) when given, else
    `duration_ms`. `functions`: keep only the first N rows."""
    if model not in AZURE_MODELS:
        raise ValueError("unknown inter-arrival model %r (known: %s)" %
                         (model, ", ".join(AZURE_MODELS)))
    rng = random.Random(seed)
    dur = _azure_durations(durations_path) if durations_path else {}
    calls, names, kinds = [], [], []
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:4] != ["HashOwner", "HashApp", "HashFunction", "Trigger"]:
            raise ValueError("%s: not an Azure Functions counts file (header %r)" %
                             (path, header[:4]))
        slots = len(header) - 4
        if slots not in (1440, 24):
            raise ValueError("%s: %d count columns; expected 1440 (per minute) or 24 (hourly)" %
                             (path, slots))
        slot_ms = DAY_S * 1000.0 / slots
        for row in reader:
            if functions is not None and len(names) >= functions:
                break
            if len(row) != len(header):
                raise ValueError("%s:%d: %d columns, expected %d" %
                                 (path, reader.line_num, len(row), len(header)))
            key = tuple(row[:3])
            fn = len(names)
            names.append("a%05d" % fn)
            kinds.append("azure %s" % row[3])
            points, values = dur.get(key, (None, None))
            slot_model = "start" if model == "uniform" and row[3] == "timer" else model
            for slot, text in enumerate(row[4:]):
                n = int(text)
                base = slot * slot_ms
                for i in range(n):
                    if slot_model == "uniform":
                        t = base + rng.random() * slot_ms
                    elif slot_model == "even":
                        t = base + (i + 0.5) * slot_ms / n
                    else:
                        t = base + i
                    if points is not None:
                        u = rng.random()
                        k = max(1, bisect.bisect_left(points, u))
                        lo, hi = points[k - 1], points[k]
                        w = (u - lo) / (hi - lo) if hi > lo else 0.0
                        d = values[k - 1] + w * (values[k] - values[k - 1])
                    else:
                        d = duration_ms
                    calls.append((t, fn, max(0.0, d)))
    calls.sort()
    return Trace(calls, names, kinds)


def classify(kinds, counts):
    """Per function, a class for reporting: its kind (the first word of its description) and
    its mean gap between calls over the day."""
    out = []
    for kind, n in zip(kinds, counts):
        gap = DAY_S / n if n else math.inf
        band = ("under 1 s" if gap < 1 else "1-60 s" if gap < 60 else "1-10 min" if gap < 600
                else "10-60 min" if gap < 3600 else "over 1 h")
        out.append("%s, mean gap %s" % (kind.split()[0], band))
    return out
