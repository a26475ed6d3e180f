"""cgi and xml handlers: executables in the addon directory, run per request.

A handler name is a file name inside the addon directory, never a path; a
name that would lead out of it is refused when the metadata is loaded.
Whatever goes wrong with a run -- it cannot start, hangs, exits non-zero,
prints too much or prints something that is not a result document -- is
a ``plugin`` error naming the handler, and the daemon carries on.  A
document holding an ``<error>`` is the handler's own answer and reaches
the caller as it is.
"""

import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from .. import protocol, render
from ..doc import Doc
from ..errors import MgrError
from . import document, process
from .environment import environment

log = logging.getLogger("billmgr.plugin")

DEFAULT_TIMEOUT = 30.0          # seconds; <handler timeout="N"> changes it
MAX_TIMEOUT = 3600.0
MAX_OUTPUT = 4 * 1024 * 1024    # bytes a handler may print


def locate(addon_dir, name):
    """The executable behind handler ``name``; ValueError says why there is none."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise ValueError(f"handler name {name!r} must be a file name in the addon directory, not a path")
    if not addon_dir:
        raise ValueError(f"handler {name!r}: no addon directory is configured")
    path = Path(addon_dir) / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ValueError(f"handler {name!r}: {path} is not an executable file")
    return str(path)


def _body(out):
    """The document, without the CGI headers (``Content-Type: ...`` and a blank line) a script may print first."""
    if out.lstrip()[:1] in (b"<", b""):
        return out
    _, blank, body = out.replace(b"\r\n", b"\n").partition(b"\n\n")
    return body if blank else out


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


@dataclass(frozen=True)
class Script:
    """One executable; ``action``, ``before`` and ``after`` are what a function or event calls."""

    name: str
    path: str
    type: str                   # cgi: prints a document; xml: also reads the current one on stdin
    timeout: float = DEFAULT_TIMEOUT

    def action(self, req):
        """The function's reply; a list without paging figures gets them for all its rows."""
        doc = self._run(req, "action", Doc())
        if doc is None:
            raise self._fault(req, "msg_error_plugin_empty")
        if doc.rows is not None and not any(name == "p_elems" for name, _ in doc.fields):
            count = str(len(doc.rows))
            doc.fields += [("p_elems", count), ("p_num", "1"), ("p_cnt", count)]
        return doc

    def before(self, req):
        """Let the call go on, or refuse it with an error document."""
        self._run(req, "before", Doc())

    def after(self, req, doc):
        """The reply as the handler changed it; the same one when it printed nothing."""
        return self._run(req, "after", doc)

    def _fault(self, req, message, value="", detail="", stderr=b""):
        log.warning("handler %s (%s, %s) failed: %s %s %s; stderr: %r", self.name, self.type, req.spec.name,
                    message, value, detail, stderr.decode(errors="replace").strip()[-1000:])
        return MgrError("plugin", self.name, value, message, detail)

    def _run(self, req, event, current):
        stdin = b""
        if self.type == "xml":
            current.func, current.lang = req.spec.name, req.lang
            stdin = protocol.utf8(render.render(current, "xml")[1])
        try:
            status, out, err = process.run([self.path], environment(req, event), os.path.dirname(self.path),
                                           stdin, self.timeout, MAX_OUTPUT)
        except OSError as exc:
            raise self._fault(req, "msg_error_plugin_start", detail=exc.strerror or str(exc)) from None
        except process.Timeout:
            raise self._fault(req, "msg_error_plugin_timeout", f"{self.timeout:g}") from None
        except process.TooLarge:
            raise self._fault(req, "msg_error_plugin_size", str(MAX_OUTPUT)) from None
        if status < 0:
            raise self._fault(req, "msg_error_plugin_signal", _signal_name(-status), stderr=err)
        if status > 0:
            raise self._fault(req, "msg_error_plugin_exit", str(status), stderr=err)
        if err.strip():
            log.info("handler %s (%s) said on stderr: %r", self.name, req.spec.name,
                     err.decode(errors="replace").strip()[-1000:])
        body = _body(out)
        if not body.strip():
            return None
        try:
            doc = document.parse(body, req.spec.column_names, listing=req.spec.kind == "list")
        except document.DocumentError as exc:
            raise self._fault(req, "msg_error_plugin_document", detail=str(exc), stderr=err) from None
        if doc.error:
            e = doc.error
            if not e.type:   # an error of no type: the handler's own failure
                raise MgrError("plugin", self.name, e.value, text=e.msg)
            raise MgrError(e.type, e.object, e.value, text=e.msg)
        return doc
