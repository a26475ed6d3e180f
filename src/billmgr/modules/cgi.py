"""Payment modules' CGI scripts, served at ``/mancgi/<script>`` (CGI/1.1, RFC 3875).

A script is a file name in ``path cgi``.  A name holding a ``/``, ``.`` or
``..``, or a file whose real path leaves the directory (a symlink out), is
not found (404) -- the same answer as a name that is not there, so the
directory cannot be probed.  The script gets the request as CGI variables
and the body on stdin, runs with the limits of plugin handlers, and what it
prints -- header lines (``Status:``, ``Location:``, ``Content-Type:``...), a
blank line, the body -- is the HTTP answer.  It calls billmgr back through
``mgrctl`` (``BILLMGR_CONF`` and ``PATH`` lead it to this daemon).
"""

import logging
import os
import re

from ..plugins import environment as plugin_environment
from ..plugins import process

log = logging.getLogger("billmgr.cgi")

PREFIX = "/mancgi/"
TIMEOUT = 60.0                  # seconds a script may take
MAX_OUTPUT = 4 * 1024 * 1024    # bytes a script may print
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOP = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})   # the server's to set


class ScriptFailed(Exception):
    """The script could not answer: (HTTP status, reason); the reason is logged, the client sees the status."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def locate(cgi_dir, name):
    """The executable behind ``/mancgi/<name>``, or None."""
    if not cgi_dir or not name or name in (".", "..") or "/" in name or "\0" in name:
        return None
    root = os.path.realpath(cgi_dir)
    path = os.path.realpath(os.path.join(root, name))
    if os.path.dirname(path) != root or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None
    return path


def environment(config, request):
    """The CGI variables of ``request`` (a dict: method, path, query, headers as (bytes, bytes) pairs,
    remote address, server host and port, body length)."""
    env = plugin_environment.base(config)
    env.update(GATEWAY_INTERFACE="CGI/1.1", SERVER_PROTOCOL=request.get("protocol", "HTTP/1.1"),
               SERVER_SOFTWARE="billmgr", REQUEST_METHOD=request["method"], SCRIPT_NAME=request["path"],
               PATH_INFO="", QUERY_STRING=request["query"], REMOTE_ADDR=request["remote"],
               SERVER_NAME=request["server"][0], SERVER_PORT=str(request["server"][1]),
               CONTENT_LENGTH=str(request["length"]) if request["length"] else "")
    for raw_name, raw_value in request["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name == "content-type":
            env["CONTENT_TYPE"] = value
        elif name != "content-length" and _TOKEN.fullmatch(name):
            key = "HTTP_" + name.upper().replace("-", "_")
            env[key] = f"{env[key]}, {value}" if key in env else value
    env.pop("HTTP_PROXY", None)     # never let a client's Proxy: header reach a script's HTTP library
    return env


def run(path, env, body):
    """(HTTP status, headers as (bytes, bytes), body) of one run of the script at ``path``."""
    try:
        status, out, err = process.run([path], env, os.path.dirname(path), body, TIMEOUT, MAX_OUTPUT)
    except OSError as exc:
        raise ScriptFailed(502, f"cannot start: {exc.strerror or exc}") from None
    except process.Timeout:
        raise ScriptFailed(504, f"no answer within {TIMEOUT:g} s") from None
    except process.TooLarge:
        raise ScriptFailed(502, f"printed more than {MAX_OUTPUT} bytes") from None
    tail = err.decode(errors="replace").strip()[-1000:]
    if status != 0:
        raise ScriptFailed(502, f"exit status {status}; stderr: {tail!r}")
    if tail:
        log.info("%s said on stderr: %r", os.path.basename(path), tail)
    return parse(out)


def parse(out):
    """A CGI answer: header lines, a blank line, the body (a document response, or a redirect)."""
    ends = [(found, len(blank)) for blank in (b"\r\n\r\n", b"\n\n") if (found := out.find(blank)) >= 0]
    if not ends:
        raise ScriptFailed(502, "printed no header lines and blank line")
    end, length = min(ends)
    head, body = out[:end], out[end + length:]
    status, headers = None, []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        name, colon, value = line.decode("latin-1").partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not _TOKEN.fullmatch(name):
            raise ScriptFailed(502, f"bad header line {line[:100]!r}")
        if name.lower() == "status":
            code = value.split(" ", 1)[0]
            if not (code.isdigit() and 100 <= int(code) <= 599):
                raise ScriptFailed(502, f"bad Status: {value[:100]!r}")
            status = int(code)
        elif name.lower() not in _HOP:
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    names = {name for name, _ in headers}
    if b"content-type" not in names and b"location" not in names:
        raise ScriptFailed(502, "printed neither Content-Type nor Location")
    if status is None:
        status = 302 if b"location" in names else 200
    return status, headers, body
