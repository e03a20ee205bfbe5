"""Game day: a real flintd under mixed load while faults are injected in turn, then the
invariants checked and a table printed (docs/operations.md, "Game day").

Run through tools/gameday.sh. Everything it makes is its own: a temporary directory with a tmpfs
mounted on the data directory (root only; unmounted at the end),
one flintd and the workers it starts (the only processes it signals), and, for the fork fault,
the pids limit of that flintd's own cgroup under the flint subtree (reset at the end).

Load: sync calls of two functions, async events, topic publishes, an "@every 2s" schedule and a
deploy every few seconds. Faults, each held for a share of the time and then cleared:
  disk-full      the data directory's tmpfs filled with one file, then the file removed
  sqlite-locked  another process holds the database's write lock (BEGIN IMMEDIATE)
  fork-fails     pids.max of flintd's worker cgroup lowered to what it holds, workers killed
  worker-kill    SIGKILL of every worker of the called functions, every second
  worker-stop    SIGSTOP of those workers, SIGCONT when cleared
  flintd-stop    SIGSTOP of flintd, SIGCONT when cleared
  flintd-kill    SIGKILL of flintd, started again on the same data directory when cleared
Clock steps are not injected (they would move the clock of every program on the machine): the
cron rule for them is covered by tests/unit/scheduler/events/cron_test.cc. Nor is a missing
worker binary (the build's own binary is shared): tests/integration/faults covers it.

Invariants: every accepted event ran at least once (its invocation succeeded); every answered
sync call has exactly one ledger record; flintd never died unless the tool killed it; no fault
was answered 500 (io_error); the service recovered (readyz 200, a sync call 200, an async event
202) within RECOVERY_LIMIT_S after each fault cleared.
"""
import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

RECOVERY_LIMIT_S = 30
ECHO = "export const handler = async (event) => ({ got: event });\n"


def log(*args):
    print("[gameday %s]" % time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


class Flintd:
    def __init__(self, build, root, isolation):
        self.build = build
        self.root = root
        self.data = os.path.join(root, "data")
        self.isolation = isolation
        self.proc = None
        self.url = None
        self.host = None
        self.port = None
        self.crashes = []  # exit statuses the tool did not cause
        self.killed_by_us = False

    def start(self):
        url_file = os.path.join(self.data, "flintd.url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        logf = open(os.path.join(self.root, "flintd.log"), "a")
        args = [os.path.join(self.build, "scheduler", "flintd"), "--listen", "127.0.0.1:0",
                "--data-dir", self.data]
        if not self.isolation:
            args.append("--no-isolation")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, start_new_session=True)
        self.killed_by_us = False
        deadline = time.time() + 60
        while not (os.path.exists(url_file) and open(url_file).read().endswith("\n")):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("flintd did not start; see " + logf.name)
            time.sleep(0.05)
        self.url = open(url_file).read().strip()
        hostport = self.url.split("//")[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.token = open(os.path.join(self.data, "admin.token")).read().strip()

    def alive(self):
        if self.proc is None:
            return False
        status = self.proc.poll()
        if status is not None and not self.killed_by_us:
            self.crashes.append(status)
            self.killed_by_us = True  # counted once
        return status is None

    def kill9(self):
        self.killed_by_us = True
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # Its workers die with it (parent-death signal); wait for them so the next start is clean.
        time.sleep(1)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.killed_by_us = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def request(self, method, path, body=None, headers=None, timeout=15):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def api(self, method, path, body=None):
        return self.request(method, path, body, {"Authorization": "Bearer " + self.token})

    def cli(self, *args):
        env = dict(os.environ, FLINT_DATA_DIR=self.data)
        env.pop("FLINT_URL", None)
        env.pop("FLINT_TOKEN", None)
        return subprocess.run([os.path.join(self.build, "tools", "cli", "flint"), *args], env=env,
                              capture_output=True, text=True, timeout=120)

    def workers(self, needle):
        """PIDs of this flintd's workers whose command line contains needle."""
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ").decode()
                stat = open("/proc/%s/stat" % pid).read()
            except OSError:
                continue
            if needle in cmd and self.descends(int(pid)):
                pids.append(int(pid))
        return pids

    def descends(self, pid):
        for _ in range(8):
            try:
                ppid = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if ppid == self.proc.pid:
                return True
            if ppid <= 1:
                return False
            pid = ppid
        return False


class Load:
    """Mixed load from a few threads; every answer is recorded against the current phase."""

    def __init__(self, flintd, fn_dir):
        self.f = flintd
        self.fn_dir = fn_dir
        self.phase = "setup"
        self.lock = threading.Lock()
        self.answers = collections.defaultdict(collections.Counter)  # phase -> "op status" -> n
        self.answered_sync = set()  # request ids of sync calls answered 200
        self.accepted = set()  # invocation ids of accepted events (async and topic)
        self.five_hundreds = collections.defaultdict(list)
        self.stop = False
        self.threads = []

    def record(self, op, status, body=b""):
        with self.lock:
            self.answers[self.phase]["%s %s" % (op, status)] += 1
            if status == 500:
                self.five_hundreds[self.phase].append(body[:200].decode(errors="replace"))

    def one(self, rng):
        op = rng.choices(["sync", "sync2", "async", "publish"], [50, 15, 25, 10])[0]
        try:
            if op in ("sync", "sync2"):
                name = "echo" if op == "sync" else "echo2"
                status, headers, body = self.f.request("POST", "/fn/" + name, '{"n": 1}')
                if status == 200 and "x-flint-request-id" in headers:
                    with self.lock:
                        self.answered_sync.add(headers["x-flint-request-id"])
            elif op == "async":
                status, headers, body = self.f.request(
                    "POST", "/fn/echo", '{"n": 2}', {"X-Flint-Invocation-Type": "Event"})
                if status == 202:
                    with self.lock:
                        self.accepted.add(json.loads(body)["invocation_id"])
            else:
                status, headers, body = self.f.api("POST", "/v1/topics/gameday", '{"n": 3}')
                if status == 202:
                    with self.lock:
                        for d in json.loads(body)["deliveries"]:
                            self.accepted.add(d["invocation_id"])
            self.record(op, status, body)
        except (OSError, http.client.HTTPException):
            self.record(op, "conn-error")
            time.sleep(0.2)

    def run_requests(self, seed):
        rng = random.Random(seed)
        while not self.stop:
            self.one(rng)
            time.sleep(0.02)

    def run_deploys(self):
        n = 0
        while not self.stop:
            n += 1
            try:
                r = self.f.cli("deploy", "deployed", self.fn_dir)
                self.record("deploy", 200 if r.returncode == 0 else self.deploy_status(r))
            except subprocess.TimeoutExpired:
                self.record("deploy", "timeout")
            for _ in range(30):
                if self.stop:
                    break
                time.sleep(0.1)

    @staticmethod
    def deploy_status(r):
        # The CLI ends flintd's error message with its HTTP status: "flint: ... is full (503)".
        found = re.findall(r"\((\d{3})\)", r.stdout + r.stderr)
        return int(found[-1]) if found else "cli-error"

    def start(self, threads):
        for i in range(threads):
            t = threading.Thread(target=self.run_requests, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self.run_deploys, daemon=True)
        t.start()
        self.threads.append(t)

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join(timeout=60)


def mount_tmpfs(path, size):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size, "flint-gameday",
                    path], check=True)


def fill(path):
    with open(os.path.join(path, ".gameday-fill"), "wb") as out:
        block = b"x" * (1 << 20)
        try:
            while True:
                out.write(block)
                out.flush()
        except OSError:
            pass


def unfill(path):
    try:
        os.unlink(os.path.join(path, ".gameday-fill"))
    except FileNotFoundError:
        pass


def worker_pids_cgroup(flintd):
    """The pids.max file of flintd's worker subtree (flint/<pid>), or None."""
    for candidate in ("/sys/fs/cgroup/flint/%d/pids.max", "/sys/fs/cgroup/pids/flint/%d/pids.max"):
        path = candidate % flintd.proc.pid
        if os.path.exists(path):
            return path
    return None


def recovery(flintd, cleared_at):
    """Seconds from cleared_at until readyz, a sync call and an async event all succeed."""
    deadline = cleared_at + 120
    while time.time() < deadline:
        try:
            ok = (flintd.request("GET", "/readyz", timeout=5)[0] == 200 and
                  flintd.request("POST", "/fn/echo", "{}", timeout=10)[0] == 200 and
                  flintd.request("POST", "/fn/echo", "{}", {"X-Flint-Invocation-Type": "Event"},
                                 timeout=10)[0] == 202)
            if ok:
                return time.time() - cleared_at
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2, help="request threads (each ~40/s at most)")
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "build"))
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    root_user = os.geteuid() == 0

    root = tempfile.mkdtemp(prefix="flint-gameday-")
    data = os.path.join(root, "data")
    os.makedirs(data)
    fn_dir = os.path.join(root, "fn")
    os.makedirs(fn_dir)
    with open(os.path.join(fn_dir, "index.mjs"), "w") as out:
        out.write(ECHO)

    mounted = False
    flintd = Flintd(build, root, isolation=root_user)
    pids_file = None
    load = None
    try:
        if root_user:
            mount_tmpfs(data, 160 << 20)
            mounted = True
        flintd.start()
        log("flintd", flintd.url, "data", data, "isolation", flintd.isolation)
        for name in ("echo", "echo2"):
            r = flintd.cli("deploy", name, fn_dir)
            if r.returncode != 0:
                raise RuntimeError("deploy failed: " + r.stdout + r.stderr)
        flintd.cli("subscribe", "echo2", "gameday")
        r = flintd.cli("schedule", "add", "echo2", "@every 2s")
        if r.returncode != 0:
            raise RuntimeError("schedule failed: " + r.stdout + r.stderr)

        faults = ["baseline", "disk-full", "sqlite-locked", "fork-fails",
                  "worker-kill", "worker-stop", "flintd-stop", "flintd-kill"]
        if not root_user:
            faults.remove("disk-full")
            faults.remove("fork-fails")
        phase_s = max(12.0, args.minutes * 60 / len(faults))
        hold_s = phase_s * 0.6
        load = Load(flintd, fn_dir)
        load.start(args.threads)
        rows = []
        for fault in faults:
            load.phase = fault
            started = time.time()
            note = ""
            db = None
            log("fault", fault, "for %.0f s" % hold_s)
            if fault == "disk-full":
                fill(data)
            elif fault == "sqlite-locked":
                db = sqlite3.connect(os.path.join(data, "flint.db"), timeout=30,
                                     isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
            elif fault == "fork-fails":
                pids_file = worker_pids_cgroup(flintd)
                if pids_file is None:
                    note = "no pids controller for flint/<pid>; skipped"
                else:
                    current = open(pids_file.replace("pids.max", "pids.current")).read().strip()
                    # No new process may join it: every worker start fails (EAGAIN), as
                    # when the machine is out of processes.
                    with open(pids_file, "w") as out:
                        out.write("0")
                    log("pids.max of", pids_file, "set to 0; it held", current)
            # Repeated actions while the fault holds.
            while time.time() - started < hold_s:
                if fault in ("worker-kill", "fork-fails"):
                    for pid in flintd.workers("flint-worker echo"):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                if fault == "worker-stop":
                    for pid in flintd.workers("flint-worker echo"):
                        try:
                            os.kill(pid, signal.SIGSTOP)
                        except ProcessLookupError:
                            pass
                if fault == "flintd-stop" and flintd.proc.poll() is None:
                    os.kill(flintd.proc.pid, signal.SIGSTOP)
                if fault == "flintd-kill" and flintd.proc.poll() is None:
                    flintd.kill9()
                if fault not in ("flintd-kill",) and not flintd.alive():
                    note += " flintd died (%s)" % flintd.crashes[-1]
                    break
                time.sleep(1)
            # Clear it.
            cleared = time.time()
            if fault == "disk-full":
                unfill(data)
            elif fault == "sqlite-locked":
                db.execute("ROLLBACK")
                db.close()
            elif fault == "fork-fails" and pids_file:
                with open(pids_file, "w") as out:
                    out.write("max")
            elif fault == "worker-stop":
                for pid in flintd.workers("flint-worker echo"):
                    try:
                        os.kill(pid, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            elif fault == "flintd-stop":
                os.kill(flintd.proc.pid, signal.SIGCONT)
            elif fault == "flintd-kill":
                flintd.start()
            rec = recovery(flintd, cleared)
            # Let the rest of the phase run recovered, under load.
            while time.time() - started < phase_s:
                time.sleep(0.5)
            alive = flintd.alive()
            rows.append((fault, time.time() - started, rec, alive, note.strip()))
            log("fault", fault, "recovered in", "%.1f s" % rec if rec is not None else "never")
        load.phase = "drain"
        load.finish()

        # Every accepted event ran at least once. The queue is read from the database itself
        # (WAL: a reader beside flintd): asking flintd for each of tens of thousands of ids
        # took longer than the wait.
        db_path = os.path.join(data, "flint.db")

        def queued():
            db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
            try:
                return db.execute("SELECT COUNT(*) FROM events WHERE state = 'queued'").fetchone()[0]
            finally:
                db.close()

        deadline = time.time() + 300
        left = queued()
        while left and time.time() < deadline:
            time.sleep(2)
            left = queued()
        log("queue drained" if not left else "%d events still queued after 300 s" % left)
        flintd.stop()
        exit_status = flintd.proc.returncode
        db = sqlite3.connect(db_path)
        ledger = set(r[0] for r in db.execute("SELECT id FROM invocations"))
        states = dict(db.execute("SELECT id, state FROM events"))
        db.close()
        pending = set(i for i in load.accepted if states.get(i) not in ("succeeded", "dead"))
        failed = set(i for i in load.accepted if states.get(i) == "dead")
        missing = load.answered_sync - ledger

        total = collections.Counter()
        print()
        print("| fault | seconds | answers during the phase | recovery | invariants |")
        print("| --- | ---: | --- | ---: | --- |")
        for fault, seconds, rec, alive, note in rows:
            answers = load.answers[fault]
            total.update(answers)
            summary = ", ".join("%s: %d" % (k, v) for k, v in sorted(answers.items()))
            inv = []
            if load.five_hundreds.get(fault):
                inv.append("500 answered (%s)" % load.five_hundreds[fault][0])
            if rec is None or rec > RECOVERY_LIMIT_S:
                inv.append("no recovery within %d s" % RECOVERY_LIMIT_S)
            if not alive:
                inv.append("flintd died")
            if note:
                inv.append(note)
            print("| %s | %.0f | %s | %s | %s |" % (
                fault, seconds, summary, "%.1f s" % rec if rec is not None else "never",
                "; ".join(inv) if inv else "held"))
        print()
        print("requests: %d; sync calls answered 200: %d; events accepted: %d" % (
            sum(total.values()), len(load.answered_sync), len(load.accepted)))
        print("events accepted that never ran: %d (dead-lettered: %d)" % (len(pending),
                                                                         len(failed)))
        print("sync calls answered without a ledger record: %d" % len(missing))
        print("flintd crashes (not killed by the game day): %d; exit status at the end: %s" % (
            len(flintd.crashes), exit_status))
        print("load average at the end: %s" % open("/proc/loadavg").read().strip())
        ok = (not pending and not failed and not missing and not flintd.crashes and
              exit_status == 0 and all(r[2] is not None and r[2] <= RECOVERY_LIMIT_S
                                       for r in rows) and not load.five_hundreds)
        print("invariants:", "held" if ok else "BROKEN")
        return 0 if ok else 1
    finally:
        if load is not None:
            load.stop = True
        if pids_file:
            try:
                with open(pids_file, "w") as out:
                    out.write("max")
            except OSError:
                pass
        if flintd.proc is not None and flintd.proc.poll() is None:
            try:
                os.kill(flintd.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            flintd.stop()
        unfill(data)
        if mounted:
            subprocess.run(["umount", "-l", data])
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
