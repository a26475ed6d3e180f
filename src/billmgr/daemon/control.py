"""billmgrd start | stop | status | reload | clock: managing a daemon in the background."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime

from .. import files
from ..client.connection import Connection, Unreachable
from ..clock import FORMAT


class ControlError(Exception):
    """What went wrong, in a sentence for the admin."""


def running_pid(config):
    """The pid of the live billmgrd owning this configuration, or None."""
    import psutil

    try:
        with open(config.pid) as pidfile:
            pid = int(pidfile.read().strip())
    except (OSError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        if "billmgr" in " ".join(process.cmdline()):
            return pid
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return None


def ask(config, message, timeout=60):
    with Connection(config.socket, timeout=timeout) as conn:
        return conn.request(message)


def start(config, wait=30.0):
    pid = running_pid(config)
    if pid:
        raise ControlError(f"billmgrd is already running (pid {pid})")
    files.make_dir(config.data)
    command = [sys.executable, "-m", "billmgr.daemon.cli", "run"]
    if config.source:
        command += ["--config", config.source]
    # the child finds billmgr where this process did (a package keeps it off the default path)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (here, os.environ.get("PYTHONPATH")))))
    # What the daemon prints before its log is open, or as it dies, is kept until it answers.
    errors_path = os.path.join(config.data, "billmgrd.start.err")
    with os.fdopen(files.open_fd(errors_path, os.O_WRONLY | os.O_TRUNC), "wb") as errors:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errors, start_new_session=True, cwd="/", env=env)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ControlError(f"billmgrd exited at start: {_said(errors_path)}")
        try:
            ask(config, {"op": "status"}, timeout=5)
            os.unlink(errors_path)
            return process.pid
        except Unreachable:
            time.sleep(0.05)
    said = _said(errors_path)
    raise ControlError(f"billmgrd did not answer on {config.socket} within {wait:.0f}s"
                       + (f"; it said: {said}" if said else f"; see {config.log}"))


def _said(path):
    """The end of what the daemon printed on stderr."""
    with open(path, errors="replace") as errors:
        return errors.read()[-4000:].strip()


def stop(config, wait=60.0):
    pid = running_pid(config)
    if not pid:
        raise ControlError("billmgrd is not running")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if running_pid(config) is None:
            return pid
        time.sleep(0.05)
    raise ControlError(f"billmgrd (pid {pid}) did not stop within {wait:.0f}s")


def status(config):
    """Lines describing the running daemon, from psutil and the daemon itself."""
    import psutil

    pid = running_pid(config)
    if not pid:
        raise ControlError(f"billmgrd is not running (socket {config.socket})")
    process = psutil.Process(pid)
    with process.oneshot():
        rss = process.memory_info().rss
        threads = process.num_threads()
        started = process.create_time()
    state = ask(config, {"op": "status"}, timeout=10)["status"]
    db_size = sum(os.path.getsize(path) for path in (config.db, config.db + "-wal")
                  if os.path.exists(path))
    return [
        ("pid", pid),
        ("uptime", f"{int(time.time() - started)}s"),
        ("rss", f"{rss / 1048576:.1f} MiB"),
        ("threads", threads),
        ("connections", state["connections"]),
        ("requests", state["requests"]),
        ("suspended", "yes" if state["suspended"] else "no"),
        ("database", f"{config.db} ({db_size / 1048576:.2f} MiB)"),
        ("registry", f"{state['functions']} functions from {state['files']} files"),
        ("socket", config.socket),
        ("log", config.log),
    ]


def reload(config):
    reply = ask(config, {"op": "reload", "out": "text"})
    if reply.get("error"):
        raise ControlError(reply.get("body", "").strip())


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (86400, 3600, 60, 1)


def _shift(config, seconds):
    reply = ask(config, {"op": "clock", "shift": seconds, "out": "text"})
    if reply.get("error"):
        raise ControlError(reply.get("body", "").strip())
    return reply["body"]


def clock(config, when):
    """Move a daemon's test clock forward by a duration (``1d``, ``2h30m``, ``90s``) or to a date
    (``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS``, UTC); the daemon's new time.  Only a daemon
    started with ``Option TestClock`` obeys; its clock never moves back."""
    duration = _DURATION.fullmatch(when.strip())
    if duration and when.strip():
        return _shift(config, sum(int(n or 0) * unit for n, unit in zip(duration.groups(), _UNITS)))
    for layout in (FORMAT, "%Y-%m-%d"):
        try:
            target = datetime.strptime(when.strip(), layout)
            break
        except ValueError:
            continue
    else:
        raise ControlError(f"{when!r} is neither a duration (1d, 2h30m, 90s) nor a date (YYYY-MM-DD [HH:MM:SS])")
    now = datetime.strptime(_shift(config, 0), FORMAT)
    if target < now:
        raise ControlError(f"the clock does not go back: the daemon's time is already {now:{FORMAT}}")
    return _shift(config, int((target - now).total_seconds()))
