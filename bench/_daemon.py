"""Shared by the benchmarks: a throwaway billmgrd, and concurrent frame clients.

``Daemon(bin_dir)`` runs ``BIN_DIR/billmgrd run`` with a temporary data
directory (pointed to by $BILLMGR_CONF), waits until its socket accepts and
stops it with SIGTERM.  ``run_clients`` drives it from separate processes,
each holding one connection open, the way a busy plugin or cron job would.
"""

import argparse
import http.client
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

try:
    from billmgr import protocol
except ImportError:  # run by an interpreter without billmgr: the checkout's (stdlib-only) module
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from billmgr import protocol


def bin_dir(venv=None):
    """Where billmgrd/mgrctl live: VENV/bin, else beside the running interpreter."""
    return Path(venv, "bin") if venv else Path(sys.executable).parent


class Daemon:
    def __init__(self, bin_dir, settings=""):
        self.billmgrd = Path(bin_dir) / "billmgrd"
        self.root = Path(tempfile.mkdtemp(prefix="billmgr-bench-"))
        self.conf = self.root / "billmgr.conf"
        self.conf.write_text(f"path data {self.root}\n{settings}")
        self.socket = self.root / "billmgr.sock"
        self.db = self.root / "billmgr.db"
        self.env = dict(os.environ, BILLMGR_CONF=str(self.conf))
        self.process = None

    def __enter__(self):
        with open(self.root / "stderr", "wb") as stderr:
            self.process = subprocess.Popen([str(self.billmgrd), "run"], env=self.env,
                                            stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"billmgrd exited: {(self.root / 'stderr').read_text()}")
            try:
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.connect(str(self.socket))
                return self
            except OSError:
                time.sleep(0.02)
        self.__exit__()
        raise RuntimeError("billmgrd did not start accepting within 30 s")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def cpu_seconds(self):
        """User + system CPU the daemon has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(self.socket))
        return sock


def call(sock, params):
    """Send one call frame and return the reply message."""
    protocol.write_frame(sock, {"op": "call", "params": params})
    return protocol.read_frame(sock)


def unix_caller(daemon):
    """A call function over one kept Unix socket connection."""
    sock = daemon.connect()
    return lambda params: call(sock, params)


def http_caller(port):
    """A call function over one kept-alive HTTP connection to 127.0.0.1:port."""
    def opener(daemon):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def call_http(params):
            conn.request("GET", "/billmgr?" + urlencode([tuple(p) for p in params]))
            response = conn.getresponse()
            body = response.read()
            return {"error": response.getheader("X-Billmgr-Error"), "body": body}
        return call_http
    return opener


def _client(daemon, index, make_params, start_at, seconds, results, opener):
    ok, errors, first_error = 0, 0, None
    cpu = time.process_time()
    try:
        send = opener(daemon)
        time.sleep(max(0.0, start_at - time.time()))
        cpu = time.process_time()
        while time.time() < start_at + seconds:
            reply = send(make_params(index, ok + errors))
            if reply is None:
                raise ConnectionError("the daemon closed the connection")
            if reply.get("error"):
                errors += 1
                first_error = first_error or reply
            else:
                ok += 1
    except Exception as exc:
        errors, first_error = errors + 1, f"client {index}: {exc!r}"
    results.put((ok, errors, first_error, time.time() - start_at, time.process_time() - cpu))


def run_clients(daemon, make_params, clients=8, seconds=5.0, opener=unix_caller):
    """Run ``clients`` processes, each calling make_params(client, n) in a loop
    over one connection (made by ``opener``) for ``seconds``.  Returns ok,
    errors, first_error, elapsed (s), daemon_cpu and clients_cpu (CPU seconds
    used meanwhile)."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    start_at = time.time() + 1.0     # every client connected and waiting before the clock starts
    procs = [ctx.Process(target=_client, args=(daemon, i, make_params, start_at, seconds, results, opener))
             for i in range(clients)]
    for p in procs:
        p.start()
    cpu_before = daemon.cpu_seconds()
    outcome = [results.get(timeout=seconds + 120) for _ in procs]
    daemon_cpu = daemon.cpu_seconds() - cpu_before
    for p in procs:
        p.join()
    return SimpleNamespace(ok=sum(o[0] for o in outcome), errors=sum(o[1] for o in outcome),
                           first_error=next((o[2] for o in outcome if o[2]), None),
                           elapsed=max(o[3] for o in outcome), daemon_cpu=daemon_cpu,
                           clients_cpu=sum(o[4] for o in outcome))


def report(run, target):
    """Print the figures of one run_clients() result; exit non-zero on error replies."""
    rate = run.ok / run.elapsed
    print(f"  replies: {run.ok} ok, {run.errors} errors in {run.elapsed:.2f} s")
    for who, cpu in (("daemon", run.daemon_cpu), ("clients", run.clients_cpu)):
        print(f"  {who} CPU: {cpu / run.elapsed:.0%} of one core, "
              f"{cpu / max(run.ok, 1) * 1e6:,.0f} us per reply")
    verdict = f"   (target >= {target:,} req/s: {'MET' if rate >= target else 'MISSED'})" if target else ""
    print(f"  throughput: {rate:,.0f} req/s{verdict}")
    if run.errors:
        raise SystemExit(f"error replies, first: {run.first_error}")


def load_options(doc):
    """--seconds, --clients and --venv, shared by the throughput benchmarks."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--venv", help="use billmgrd from this venv (default: beside this python)")
    return parser.parse_args()
