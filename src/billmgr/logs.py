"""The log file: one line per request and per job, levels, and reopening for logrotate.

One file per configuration (``path log``).  A request line is::

    2026-11-23 10:00:00,123 INFO billmgr.request: root account.edit email=a@b.c passwd=*** -> ok 2.4ms

that is: time, level, caller, function, parameters (secrets already masked
by the dispatcher), result (``ok`` or the error type) and duration.  A job
line (a task from the outbox, later the billing runs) is alike::

    2026-11-23 10:00:01,456 WARNING billmgr.job: task.mail 7 -> failed "no SmtpServer is configured" 0.1ms

A value with spaces, quotes or control characters is written as a JSON
string and a long one is cut, so a caller can never forge a line or flood
the file.
"""

import json
import logging
import os
import re

from . import files

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_VALUE = 200            # characters of a parameter value kept in the log

_requests = logging.getLogger("billmgr.request")
_jobs = logging.getLogger("billmgr.job")
_plain = re.compile(r"[^\s\"'=\\\x00-\x1f\x7f]*")

# an error of these types is worth an operator's attention
_LEVELS = {"auth": logging.WARNING, "busy": logging.WARNING, "internal": logging.ERROR}


class LogFile(logging.FileHandler):
    """A log file as private as the database (see files) that reopens on demand (after logrotate moved it)."""

    def _open(self):
        return os.fdopen(files.open_fd(self.baseFilename, os.O_WRONLY | os.O_APPEND), "a", encoding="utf-8",
                         errors="backslashreplace")   # any text can be logged

    def reopen(self):
        self.acquire()
        try:
            if self.stream:
                self.stream.close()
            self.stream = self._open()
        finally:
            self.release()


def setup(config):
    """Send every billmgr log record to the configuration's log file."""
    files.make_dir(os.path.dirname(config.log))
    handler = LogFile(config.log)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    set_level(config.log_level)


def set_level(level):
    logging.getLogger().setLevel(level.upper())


def reopen():
    """Reopen the log files (SIGUSR1): logrotate has renamed the old one."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, LogFile):
            handler.reopen()


def _quote(text):
    if len(text) > MAX_VALUE:
        text = f"{text[:MAX_VALUE]}...({len(text)} chars)"
    return text if _plain.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def request(caller, func, pairs, result, seconds):
    """Log one finished request; ``pairs`` are its parameters with secrets masked."""
    level = _LEVELS.get(result, logging.INFO)
    if not _requests.isEnabledFor(level):
        return
    params = "".join(f" {_quote(k)}={_quote(v)}" for k, v in pairs if k != "func")
    _requests.log(level, "%s %s%s -> %s %.1fms", _quote(caller), _quote(func or "-"), params,
                  result, seconds * 1000)


def job(name, subject, error, seconds):
    """Log one finished job: what ran, on what, ``None`` or why it failed, how long it took."""
    outcome = f"failed {_quote(error)}" if error else "ok"
    _jobs.log(logging.WARNING if error else logging.INFO, "%s %s -> %s %.1fms", _quote(name), _quote(str(subject)),
              outcome, seconds * 1000)
