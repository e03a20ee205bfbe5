"""Starts a flintd for a benchmark: a free port, a temporary data directory, its log in there.

Shared by the scripts in tools/bench/, which import it from their own directory."""
import os
import shutil
import signal
import subprocess
import tempfile
import time


def launch(build, extra_args=(), prefix="flint-bench-"):
    """Returns (data_dir, log_file, process, url) once flintd has written its URL file."""
    data = tempfile.mkdtemp(prefix=prefix)
    log = open(os.path.join(data, "flintd.log"), "w")
    # Quiet unless the caller asks for another level (e.g. debug: every cold start's timings).
    level = [] if "--log-level" in extra_args else ["--log-level", "warn"]
    proc = subprocess.Popen(
        [os.path.join(build, "scheduler", "flintd"), "--listen", "127.0.0.1:0",
         "--data-dir", data, *level, *extra_args],
        stdout=log, stderr=log, start_new_session=True)
    url_file = os.path.join(data, "flintd.url")
    deadline = time.time() + 20
    while not (os.path.exists(url_file) and os.path.getsize(url_file) > 0):
        if time.time() > deadline or proc.poll() is not None:
            raise RuntimeError("flintd did not start; see " + log.name)
        time.sleep(0.02)
    return data, log, proc, open(url_file).read().strip()


class BenchFlintd:
    """A launched flintd: cli() runs the flint CLI against it, stop() ends it (SIGTERM) and
    removes its data directory."""

    def __init__(self, build, extra_args=(), prefix="flint-bench-"):
        self.build = build
        self.data, self.log, self.proc, self.url = launch(build, extra_args, prefix)

    def cli(self, *args):
        env = dict(os.environ, FLINT_DATA_DIR=self.data)
        subprocess.run([os.path.join(self.build, "tools", "cli", "flint"), *args], env=env,
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        shutil.rmtree(self.data, ignore_errors=True)
