#!/usr/bin/env python3
"""Where a warm request's time goes, per process and per step (tools/bench/profile.sh).

Two ways, both against a flintd started here (temporary data directory), the function deployed
at --memory MB:

  perf       flintd with isolation (as root), wrk at --conns connections for --seconds while
             `perf record` samples flintd and its workers (cpu-clock, DWARF call graphs);
             writes folded stacks and a flame graph (SVG) per process to --out, and prints each
             process's share of the samples by step.
  callgrind  flintd --no-isolation and its worker each under valgrind's callgrind, counting
             instructions only while --requests requests are sent one after another on one
             connection; prints instructions per request per process and per step. Counts do
             not depend on what else the machine runs, so they compare builds on a busy
             machine. (Isolation adds no user-space instructions per request: what it costs is
             in the kernel, which `perf` shows.)

Steps are named by the functions a sample or an instruction count falls in (STEPS below): a
sample counts for the innermost frame that names a step; the rest is "other".

  tools/bench/profile.sh perf --function hello --conns 50 --seconds 8
  tools/bench/profile.sh callgrind --function hello-cpp --requests 2000
"""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import flintd_launch  # noqa: E402
from procs import descendants  # noqa: E402

# (step, regex on a frame's symbol). Order matters only for the report.
STEPS = [
    ("http parse", r"llhttp|HttpConnection::(OnRead|Execute|ParsePending|CommitHeader)|"
                   r"HttpConnection::Settings"),
    ("routing", r"Flintd::(Handle|HandleInvoke)|Dispatcher::(Invoke|FindLive)|Pool::Admit"),
    ("dispatch + framing", r"Dispatcher::Dispatch|InvokeRequest::Encode|AppendFrame|"
                           r"FrameChannel::(Send|Flush)|WorkerFleet::Invoke|Worker::Invoke"),
    ("result handling", r"FrameChannel::OnRead|FrameDecoder|InvokeResult::Decode|"
                        r"Worker::OnFrame|OnWorkerResult|ResponseFromResult|Dispatcher::Finish"),
    ("metering", r"meter::|Meter::|Journal::|WorkerUsage|BuildRecord|NewInvocationId"),
    ("response assembly", r"HttpConnection::(Respond|Serialize|Flush|AfterResponse)|"
                          r"HttpResponder::Send"),
    ("worker: decode", r"InvokeRequest::Decode|runtime::Worker::HandleInvoke"),
    ("worker: event", r"MakeHttpEvent|ParseHttpEvent|BuildHttpEventJson|v8::JSON::Parse|"
                      r"JsonParser|makeContext"),
    ("worker: handler", r"Builtins_|JSEntry|v8::Function::Call|Execution::Call|Interpreter"),
    ("worker: microtasks", r"PerformMicrotaskCheckpoint|MicrotaskQueue"),
    ("worker: result", r"MapHandlerResult|StringToUtf8|InvokeResult::Encode|SendStats|"
                       r"Worker::OnResult"),
    ("worker: native handler", r"NativeHost::Invoke|flint_handler|FlintAbi"),
    ("event loop", r"uv__io_poll|uv_run|uv__run_timers|uv__io_feed"),
    ("kernel: wake-up/sleep", r"^(__)?schedule|^__x64_sys_epoll_wait|^do_epoll_wait|^futex_|"
                              r"^__x64_sys_futex|^try_to_wake_up|^finish_task_switch|"
                              r"^_raw_spin_unlock_irqrestore"),
    ("kernel: socket I/O", r"^__x64_sys_(read|write|writev|readv|recvfrom|sendto|recvmsg|"
                           r"sendmsg)|^tcp_|^unix_stream|^sock_|^__tcp_|^ip_"),
    ("allocation", r"^(malloc|free|_int_malloc|_int_free|cfree|tcache)|^operator (new|delete)"),
]
STEP_RES = [(name, re.compile(pattern)) for name, pattern in STEPS]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def step_of(frames):
    """The step of the innermost frame (frames: leaf first) that names one."""
    for frame in frames:
        for name, rx in STEP_RES:
            if rx.search(frame):
                return name
    return "other"


def deploy(build, data, url, args):
    env = dict(os.environ, FLINT_DATA_DIR=data, FLINT_URL=url)
    cmd = [os.path.join(build, "tools", "cli", "flint"), "deploy", args.function,
           os.path.join(ROOT, "functions", args.function), "--memory", str(args.memory)]
    if args.concurrency > 1:
        cmd += ["--concurrency", str(args.concurrency)]
    if args.runtime:
        cmd += ["--runtime", args.runtime]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)


def request_args(args, url):
    path = url + "/fn/" + args.function
    body = None
    if args.function.startswith("json-transform"):
        body = os.path.join(ROOT, "functions", "json-transform", "sample.json")
    return path, body


def wrk(url, conns, seconds, body):
    env = dict(os.environ, BODY_FILE=body or "")
    return subprocess.Popen(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "-s",
                             os.path.join(HERE, "percentiles.lua"), url], env=env,
                            stdout=subprocess.PIPE, text=True)


def stop(proc, data):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    shutil.rmtree(data, ignore_errors=True)


# ---- perf ---------------------------------------------------------------------------------

def fold_perf_script(text):
    """perf script output -> {comm: Counter(folded stack -> samples)}."""
    out = collections.defaultdict(collections.Counter)
    for block in text.split("\n\n"):
        lines = [l for l in block.splitlines() if l.strip()]
        if not lines:
            continue
        comm = lines[0].split()[0]
        frames = []
        for l in lines[1:]:
            parts = l.strip().split(None, 1)
            if len(parts) < 2:
                continue
            sym = re.sub(r"\+0x[0-9a-f]+", "", parts[1])
            sym = re.sub(r"\s+\(.*\)$", "", sym)
            frames.append(sym)
        if frames:
            out[comm][";".join(reversed(frames))] += 1
    return out


def run_perf(args):
    if shutil.which("perf") is None:
        raise SystemExit("perf is missing: run tools/setup.sh --profiling")
    extra = [] if os.geteuid() == 0 else ["--no-isolation"]
    data, _, proc, url = flintd_launch.launch(args.build, extra, "flint-profile-")
    os.makedirs(args.out, exist_ok=True)
    try:
        deploy(args.build, data, url, args)
        path, body = request_args(args, url)
        wrk(path, args.conns, 2, body).wait()  # warm-up: the pool scales up
        load = wrk(path, args.conns, args.seconds + 2, body)
        time.sleep(1)
        pids = ",".join(str(p) for p in descendants(proc.pid))
        raw = os.path.join(args.out, "perf.data")
        subprocess.run(["perf", "record", "-q", "-F", str(args.frequency), "-g",
                        "--call-graph", "dwarf,16384", "-p", pids, "-o", raw, "--",
                        "sleep", str(args.seconds)], check=True, stderr=subprocess.DEVNULL)
        result = load.communicate()[0]
        script = subprocess.run(["perf", "script", "-i", raw, "-F", "comm,ip,sym"],
                                capture_output=True, text=True).stdout
    finally:
        stop(proc, data)
    rps = re.search(r"FLINT requests (\d+) duration_us (\d+)", result or "")
    stacks = fold_perf_script(script)
    total = sum(sum(c.values()) for c in stacks.values())
    print("\n## perf: %s at %d MB, %d connections, %d s, load average %.2f" %
          (args.function, args.memory, args.conns, args.seconds, os.getloadavg()[0]))
    if rps:
        print("wrk: %.0f req/s over the whole run" % (int(rps.group(1)) /
                                                       (int(rps.group(2)) / 1e6)))
    for comm, counter in sorted(stacks.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counter.values())
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", comm)
        folded = os.path.join(args.out, name + ".folded")
        with open(folded, "w") as f:
            for stack, count in counter.most_common():
                f.write("%s %d\n" % (stack, count))
        with open(os.path.join(args.out, name + ".svg"), "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "flamegraph.py"), folded,
                            "--title", "%s: %s, %d connections" % (comm, args.function,
                                                                   args.conns)],
                           stdout=f, check=True)
        by_step = collections.Counter()
        for stack, count in counter.items():
            by_step[step_of(list(reversed(stack.split(";"))))] += count
        print("\n### %s: %d samples (%.0f%% of all)\n" % (comm, n, 100.0 * n / max(1, total)))
        print("| step | share |")
        print("|---|---:|")
        for step, count in by_step.most_common():
            print("| %s | %.1f%% |" % (step, 100.0 * count / n))
    print("\nfolded stacks and flame graphs in %s" % args.out)


# ---- callgrind ----------------------------------------------------------------------------

def callgrind_totals(path):
    """(total instructions, {function: inclusive instructions}) of a callgrind output file."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    total = 0
    inclusive = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\S+:)?(.+?)(?: \[.*\])?$", line)
        if m and total:
            inclusive.setdefault(m.group(2).strip(), int(m.group(1).replace(",", "")))
    return total, inclusive


def raw_get(sock, request):
    sock.sendall(request)
    buf = b""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"content-length: *(\d+)", buf[:end], re.I)
            need = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= need:
                return buf[:need]
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("flintd closed the connection")
        buf += chunk


def run_callgrind(args):
    import socket
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: run tools/setup.sh --profiling")
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.startswith("callgrind."):
            os.remove(os.path.join(out_dir, f))
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--smc-check=all-non-file",
                "--callgrind-out-file=%s/callgrind.%%q{FLINT_PROFILE_ROLE}.%%p" % out_dir]
    # flintd and the worker each run under valgrind: a wrapper takes flintd's place in a
    # scheduler/ directory of its own, and --worker-path points at a wrapper of the worker.
    wrap = tempfile.mkdtemp(prefix="flint-callgrind-")
    os.makedirs(os.path.join(wrap, "scheduler"))
    flintd_wrapper = os.path.join(wrap, "scheduler", "flintd")
    worker_wrapper = os.path.join(wrap, "flint-worker")
    # valgrind 3.19 does not know pidfd_open, which flintd uses for every child: a shim stands
    # in for it (tools/bench/pidfd_shim.c).
    shim = os.path.join(wrap, "pidfd_shim.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", shim,
                    os.path.join(HERE, "pidfd_shim.c"), "-ldl", "-lpthread"], check=True)
    with open(flintd_wrapper, "w") as f:
        f.write("#!/bin/sh\nFLINT_PROFILE_ROLE=flintd LD_PRELOAD=%s exec %s %s \"$@\"\n" %
                (shim, " ".join(valgrind), os.path.join(args.build, "scheduler", "flintd")))
    with open(worker_wrapper, "w") as f:
        f.write("#!/bin/sh\nFLINT_PROFILE_ROLE=worker exec %s %s \"$@\"\n" %
                (" ".join(valgrind), os.path.join(args.build, "runtime", "flint-worker")))
    os.chmod(flintd_wrapper, 0o755)
    os.chmod(worker_wrapper, 0o755)
    # Generic workers are not pre-warmed: the function's worker is the only one under valgrind.
    extra = ["--no-isolation", "--worker-path", worker_wrapper, "--prewarm", "0",
             "--prewarm-cpp", "0", "--metering", "on"]
    data, _, proc, url = flintd_launch.launch(wrap, extra, "flint-profile-")
    try:
        deploy(args.build, data, url, args)
        path, body = request_args(args, url)
        port = int(url.rsplit(":", 1)[1])
        target = "/fn/" + args.function
        if body:
            payload = open(body, "rb").read()
            request = (b"POST %s HTTP/1.1\r\nHost: flint\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (target.encode(), len(payload), payload))
        else:
            request = b"GET %s HTTP/1.1\r\nHost: flint\r\nUser-Agent: profile\r\n\r\n" % (
                target.encode())
        sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(args.warmup):
            raw_get(sock, request)
        pids = [p for p in descendants(proc.pid) if p != proc.pid]
        roles = {}
        for p in [proc.pid] + pids:
            try:
                env = open("/proc/%d/environ" % p, "rb").read().split(b"\0")
            except OSError:
                continue
            for e in env:
                if e.startswith(b"FLINT_PROFILE_ROLE="):
                    roles[p] = e.split(b"=", 1)[1].decode()
        for p in roles:
            subprocess.run(["callgrind_control", "-i", "on", str(p)], capture_output=True)
        start = time.time()
        for _ in range(args.requests):
            raw_get(sock, request)
        took = time.time() - start
        for p in roles:
            subprocess.run(["callgrind_control", "-d", str(p)], capture_output=True)
            subprocess.run(["callgrind_control", "-i", "off", str(p)], capture_output=True)
        sock.close()
    finally:
        stop(proc, data)
        shutil.rmtree(wrap, ignore_errors=True)
    print("\n## callgrind: %s at %d MB, %d requests one after another (%.1f s under valgrind)" %
          (args.function, args.memory, args.requests, took))
    files = sorted(f for f in os.listdir(out_dir) if f.startswith("callgrind.") and
                   re.search(r"\.\d+\.\d+$", f))
    per_role = collections.defaultdict(list)
    for f in files:
        role = f.split(".")[1]
        per_role[role].append(os.path.join(out_dir, f))
    for role, paths in per_role.items():
        total = 0
        inclusive = collections.Counter()
        for p in paths:
            t, inc = callgrind_totals(p)
            total += t
            for k, v in inc.items():
                inclusive[k] += v
        print("\n### %s: %.0f instructions per request\n" % (role, total / args.requests))
        print("| function (inclusive) | instructions per request | share |")
        print("|---|---:|---:|")
        shown = 0
        for name, ir in inclusive.most_common():
            if shown >= args.top:
                break
            print("| `%s` | %.0f | %.1f%% |" % (name[:110], ir / args.requests,
                                                 100.0 * ir / max(1, total)))
            shown += 1
    print("\ncallgrind files in %s (callgrind_annotate FILE)" % out_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["perf", "callgrind"])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--function", default="hello",
                    help="hello, hello-cpp, json-transform or json-transform-cpp")
    ap.add_argument("--memory", type=int, default=1769)
    ap.add_argument("--runtime", help="deploy with this runtime (callgrind counts flint-worker: "
                    "v8 or cpp, not node)")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--conns", type=int, default=50, help="perf: wrk connections")
    ap.add_argument("--seconds", type=int, default=8, help="perf: seconds sampled")
    ap.add_argument("--frequency", type=int, default=499, help="perf: samples per second")
    ap.add_argument("--requests", type=int, default=2000, help="callgrind: requests counted")
    ap.add_argument("--warmup", type=int, default=300, help="callgrind: requests not counted")
    ap.add_argument("--top", type=int, default=40, help="callgrind: functions listed")
    ap.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "flint-profile"))
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.mode == "perf":
        run_perf(args)
    else:
        run_callgrind(args)


if __name__ == "__main__":
    main()
