"""What the reliability suite (tests/test_reliability_*.py) shares: a raw frame
client, the checks every reply must pass, the daemon's log read for faults,
call tallies reported at the end of the run, and hypothesis settings.

BILLMGR_FUZZ_SCALE multiplies every fuzz test's number of examples (default
1: a few minutes of CI in all); raise it for a long soak on a quiet machine.
"""

import json
import os
import socket
import struct
import time
import xml.etree.ElementTree as ET
from collections import Counter

from hypothesis import HealthCheck, Phase, Verbosity, settings

from billmgr import protocol

SCALE = float(os.environ.get("BILLMGR_FUZZ_SCALE", "1"))


def scaled(examples):
    return max(1, round(examples * SCALE))


# No shrinking: a call that kills the daemon costs a restart each time it is
# tried again, and a shrink runs for minutes.  A failing test names the call
# itself instead, cut down with ``reduced`` and shown with ``brief``; the
# example database replays it first on the next run.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)


def fuzz_settings(examples):
    """Hypothesis settings for a test that talks to a daemon: no deadline (the
    machine is shared), module-scoped daemons, generated values that may be
    large, and the first failure reported as it was found."""
    return settings(max_examples=scaled(examples), deadline=None, phases=PHASES, verbosity=Verbosity.quiet,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.large_base_example],
                    report_multiple_bugs=False)


def frame(meta, payload=b"", magic=protocol.MAGIC, version=protocol.VERSION, sizes=None):
    """A frame built by hand: ``meta`` a message (sent as ASCII JSON, so lone
    surrogates travel as escapes) or raw bytes; ``sizes`` overrides the header's."""
    if not isinstance(meta, bytes):
        meta = json.dumps(meta, ensure_ascii=True).encode()
    meta_size, payload_size = sizes or (len(meta), len(payload))
    return struct.pack("!2sBII", magic, version, meta_size, payload_size) + meta + payload


def call_frame(pairs):
    return frame({"op": "call", "params": [list(p) for p in pairs]})


class Wire:
    """One raw connection to a daemon's Unix socket: bytes out, frames in."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """The next reply, or None if the daemon closed the connection."""
        try:
            return protocol.read_frame(self.sock)
        except ConnectionResetError:
            return None

    def call(self, pairs):
        self.send(call_frame(pairs))
        return self.reply()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def answers(daemon, timeout=10):
    """Whether the daemon answers a normal call on a new connection."""
    try:
        with Wire(daemon.socket, timeout=timeout) as wire:
            reply = wire.call([("func", "whoami"), ("out", "json")])
    except (OSError, protocol.ProtocolError):
        return False
    return reply is not None and reply.get("error") is None and '"root"' in reply.get("body", "")


class Keeper:
    """A daemon and one connection to it, kept answering: after a call that
    broke either, the next one meets a fresh daemon (killed and started
    again), so that each hypothesis example is judged on its own and a
    failure is pinned on the call that caused it."""

    def __init__(self, daemon, timeout=10):
        self.daemon = daemon
        self.timeout = timeout
        self.restarts = 0
        self._wire = None

    def wire(self):
        if self._wire is None:
            self.revive()
            self._wire = Wire(self.daemon.socket, timeout=self.timeout)
        return self._wire

    def revive(self):
        """Start the daemon afresh unless it answers."""
        if not answers(self.daemon):
            self.restart()

    def restart(self):
        process = self.daemon.process
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
        self.daemon.start()
        self.restarts += 1

    def drop(self):
        """Forget the connection: the daemon closed it, or its state is unknown."""
        if self._wire is not None:
            self._wire.close()
            self._wire = None

    def send(self, data):
        """Send raw bytes; the reply, or None if the daemon closed the connection."""
        try:
            self.wire().send(data)
            reply = self._wire.reply()
        except (OSError, protocol.ProtocolError):
            self.drop()
            raise
        if reply is None or reply.get("error") == "protocol":
            self.drop()      # a refused frame ends the connection
        return reply

    def call(self, pairs):
        return self.send(call_frame(pairs))

    def check(self, pairs):
        """Make one call: (its outcome -- error type, "ok" or "closed" --, what is wrong with it or None)."""
        try:
            reply = self.call(pairs)
        except (OSError, protocol.ProtocolError) as exc:
            return "closed", f"the connection failed: {exc!r}"
        return ("closed" if reply is None else reply["error"] or "ok"), fault(reply, out_of(pairs))

    def stop(self):
        self.drop()
        return self.daemon.stop()


CONTENT_TYPES = {"xml": "text/xml", "devel": "text/xml", "json": "application/json",
                 "sjson": "application/json", "JSONdata": "application/json", "bjson": "application/json",
                 "text": "text/plain", "print": "text/html"}


def out_of(pairs):
    """The format a call asked for; anything unknown means xml (COMPAT.md)."""
    out = next((v for k, v in pairs if k == "out"), None)
    return out if out in CONTENT_TYPES else "xml"


def _shown_error(body, out):
    """The error type the body itself names (None for a success), read in its format."""
    if CONTENT_TYPES[out] == "text/xml":
        root = ET.fromstring(body.encode())
        if root.tag != "doc":
            raise ValueError(f"root element {root.tag}")
        error = root.find("error")
        return error.get("type") if error is not None else None
    if out in ("json", "sjson"):
        doc = json.loads(body)["doc"]
        return doc["error"]["$type"] if "error" in doc else None
    if out in ("JSONdata", "bjson"):
        document = json.loads(body)
        return document["error"]["type"] if "error" in document else None
    if out == "print" and not (body.startswith("<!DOCTYPE html>") and body.rstrip().endswith("</html>")):
        raise ValueError("not an HTML page")
    return None


def fault(reply, out):
    """What is wrong with the reply to a call that asked for format ``out``, or
    None: a reply must come, must not be ``internal``, and its body must parse
    in that format and name the same error type as the frame."""
    if reply is None:
        return "the daemon closed the connection instead of answering"
    error, body = reply.get("error"), reply.get("body", "")
    if error == "internal":
        return f"internal error: {body[:200]}"
    if error == "protocol":
        return None      # the frame itself was refused (say, text that is not Unicode scalars): no document
    if not reply.get("content_type", "").startswith(CONTENT_TYPES[out]):
        return f"out={out} answered {reply.get('content_type')}"
    if out in ("text", "print") and error is not None:
        return None      # text and print show the error as prose
    try:
        shown = _shown_error(body, out)
    except (ValueError, KeyError, TypeError, ET.ParseError) as exc:
        return f"the body does not parse as {out}: {exc!r}: {body[:200]!r}"
    if shown != error:
        return f"the frame says error {error}, the {out} body says {shown}"
    return None


def brief(pairs):
    """``pairs`` for a failure message: long values shortened, their length given."""
    return "[" + ", ".join(f"({k!r}, {v[:40]!r}...({len(v)} chars))" if len(v) > 60 else repr((k, v))
                           for k, v in pairs) + "]"


def reduced(pairs, fails, budget=30.0):
    """The fewest of ``pairs`` (dropping one at a time, ``func`` kept) for which
    ``fails(pairs)`` still holds: the call to show in a failure message.
    Gives up after ``budget`` seconds, as a call that hangs the daemon costs a timeout each try."""
    pairs = list(pairs)
    deadline = time.monotonic() + budget
    for i in reversed(range(len(pairs))):
        trial = pairs[:i] + pairs[i + 1:]
        if time.monotonic() > deadline:
            break
        if pairs[i][0] != "func" and fails(trial):
            pairs = trial
    return pairs


def log_size(daemon):
    return daemon.log.stat().st_size if daemon.log.exists() else 0


def log_faults(daemon, since=0):
    """Lines of the daemon's log after offset ``since`` that show a fault in
    serving: a traceback, or any record at ERROR level or above (the daemon
    logs an ``internal`` reply and an unexpected exception at ERROR)."""
    with open(daemon.log, encoding="utf-8", errors="replace") as log:
        log.seek(since)
        return [line.rstrip()[:300] for line in log
                if line.startswith("Traceback") or " ERROR " in line[:40] or " CRITICAL " in line[:40]]


class Tally:
    """Calls made and the error types answered, reported by ``summarize``."""

    def __init__(self, name):
        self.name = name
        self.outcomes = Counter()

    @property
    def calls(self):
        return sum(self.outcomes.values())

    def add(self, outcome):
        self.outcomes[outcome] += 1

    def line(self):
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.outcomes.most_common())
        return f"{self.name}: {self.calls} calls ({kinds})"

    def record(self, record_property):
        """Hand the counts to pytest, which carries them to the end of the run (also from xdist workers)."""
        record_property("reliability", {"name": self.name, "outcomes": dict(self.outcomes)})
        print(self.line())


def summarize(terminalreporter):
    """Print every tally of the run, and the total, after the test results."""
    tallies = [value for reports in terminalreporter.stats.values() for report in reports
               if getattr(report, "when", None) == "call"
               for key, value in getattr(report, "user_properties", ()) if key == "reliability"]
    if not tallies:
        return
    total = Counter()
    terminalreporter.section("reliability: calls and the error types they got")
    for tally in sorted(tallies, key=lambda t: t["name"]):
        outcomes = Counter(tally["outcomes"])
        total += outcomes
        kinds = ", ".join(f"{kind} {count}" for kind, count in outcomes.most_common())
        terminalreporter.write_line(f"{tally['name']}: {sum(outcomes.values())} calls ({kinds})")
    kinds = ", ".join(f"{kind} {count}" for kind, count in total.most_common())
    terminalreporter.write_line(f"TOTAL: {sum(total.values())} calls over {len(tallies)} tallies, "
                                f"{total['internal']} internal ({kinds})")
