"""What a cgi or xml handler is told about the request: CGI-style variables.

``PARAM_<name>`` for every parameter (repeated values joined by ", "),
``PARAM_func`` and ``PARAM_lang`` always; the caller as ``AUTH_USER`` and
``AUTH_LEVEL``; ``EVENT_TYPE`` (action, before or after); the parameters
again as ``QUERY_STRING`` with ``REQUEST_METHOD=GET``.  The rest of the
daemon's environment stays out, but for a few basics and ``BILLMGR_CONF``,
so that ``mgrctl`` in the handler reaches the daemon that runs it.
"""

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlencode

INHERITED = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _mgrctl_dir():
    """Where the mgrctl of this billmgr lives: beside the interpreter, or a checkout's bin/."""
    for candidate in (Path(sys.executable).parent, Path(__file__).resolve().parents[3] / "bin"):
        if os.access(candidate / "mgrctl", os.X_OK):
            return str(candidate)
    return None


MGRCTL_DIR = _mgrctl_dir()


def _path():
    path = os.environ.get("PATH") or DEFAULT_PATH
    return f"{MGRCTL_DIR}{os.pathsep}{path}" if MGRCTL_DIR else path


def basic(config):
    """The environment every executable billmgr runs gets: a few basics, and ``BILLMGR_CONF`` so that
    its ``mgrctl`` reaches this daemon."""
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env["PATH"] = _path()
    if config.source:
        env["BILLMGR_CONF"] = config.source
    return env


def environment(req, event):
    """The environment of a handler run for ``req`` at ``event`` (action, before, after)."""
    env = basic(req.config)
    values = {}
    for name, value in req.params.pairs:
        if _NAME.match(name):
            values.setdefault(name, []).append(value.replace("\0", ""))
    values["func"] = [req.spec.name]
    values["lang"] = [req.lang]
    env.update((f"PARAM_{name}", ", ".join(given)) for name, given in values.items())
    env.update(AUTH_USER=req.caller.name, AUTH_LEVEL=req.caller.level, EVENT_TYPE=event,
               QUERY_STRING=urlencode(req.params.pairs), REQUEST_METHOD="GET")
    return env
