"""Frames sent raw to the Unix socket, valid ones mutated by hypothesis: the
daemon answers each with a reply that is not ``internal`` (or, for a frame
that never completes, with silence), and still answers a normal call after.

Covered: truncated frames, header sizes past the limit or not matching the
data, wrong magic and version, JSON nested thousands deep, bytes that are not
UTF-8 in the JSON or the payload, JSON that is not an object, lone surrogates
(as JSON escapes), and wrong types for ``op``, ``params``, ``func``, ``lang``
and ``shift``.  At the end, the log holds no traceback and no ERROR record.
"""

import json
import socket
import struct

import pytest
from conftest import Daemon
from hypothesis import given
from hypothesis import strategies as st
from reliability import Keeper, Wire, answers, brief, frame, fuzz_settings, log_faults, log_size

from billmgr import protocol

EXAMPLES = 400

# -- messages -------------------------------------------------------------------

text = st.one_of(st.text(max_size=12), st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10 ** 400, 10 ** 400),
              st.floats(allow_nan=True, allow_infinity=True), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)
ops = st.one_of(st.sampled_from(["call", "describe", "status", "clock"]), json_values)
pair = st.lists(text, min_size=2, max_size=2)
params = st.one_of(st.lists(st.one_of(pair, json_values), max_size=5),
                   st.lists(pair, max_size=4).map(lambda ps: [["func", "whoami"], *ps]), json_values)
# the test clock moves forward by at most a year over the whole run, so that a
# shift the daemon rightly accepts never breaks the examples after it
shifts = st.one_of(json_values.filter(lambda v: not isinstance(v, (int, float)) or isinstance(v, bool)),
                   st.integers(-10 ** 400, 10 ** 400).filter(lambda v: abs(v) > 10 ** 18),
                   st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, -1e300]),
                   st.floats(0, 30_000), st.integers(-30_000, 30_000))
messages = st.fixed_dictionaries({"op": ops}, optional={
    "params": params, "func": st.one_of(json_values, st.sampled_from(["whoami", "account.edit"])),
    "lang": json_values, "shift": shifts, "body": json_values})


def nested(depth, kind):
    """JSON ``depth`` levels deep: in place of the whole message, of params, or of a value."""
    core = "[" * depth + "]" * depth if kind != "object" else '{"a":' * depth + "1" + "}" * depth
    return {"whole": core, "object": core,
            "params": f'{{"op":"call","params":{core}}}',
            "value": f'{{"op":"call","params":[["func","whoami"],["x",{core}]]}}',
            "func": f'{{"op":"describe","func":{core}}}'}[kind].encode()


# -- frames ---------------------------------------------------------------------

def resized(message, change):
    """A frame whose header gives its JSON ``change`` more bytes than it has."""
    meta = json.dumps(message).encode()
    return frame(meta, sizes=(max(0, len(meta) + change), 0))


# frames the daemon receives whole: each must get a reply
complete = st.one_of(
    messages.map(frame),
    st.builds(frame, messages, st.binary(min_size=1, max_size=40)),
    st.builds(nested, st.integers(900, 100_000), st.sampled_from(["whole", "object", "params", "value", "func"])
              ).map(frame),
    json_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: frame(json.dumps(v).encode())),
    st.binary(max_size=60).map(frame),
    st.builds(lambda m, magic, version: frame(m, magic=magic, version=version), messages,
              st.binary(min_size=2, max_size=2), st.integers(0, 255)).filter(
        lambda f: f[:3] != protocol.MAGIC + bytes([protocol.VERSION])),
    st.builds(lambda m, extra: frame(m, sizes=(protocol.MAX_FRAME - extra, extra + 1)), messages,
              st.integers(0, 1000)),
    st.builds(lambda m, sizes: frame(m, sizes=sizes), messages,
              st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 2 ** 32 - 1))).filter(
        lambda f: sum(struct.unpack("!II", f[3:11])) > protocol.MAX_FRAME),
    st.builds(resized, messages, st.integers(-30, -1)),
)
# frames that never complete before the client stops sending: silence, or a protocol error
incomplete = st.one_of(
    st.builds(lambda f, cut: f[:min(cut, len(f) - 1)], messages.map(frame), st.integers(0, 60)),
    st.builds(resized, messages, st.integers(1, 1000)),
)


def short(data):
    return brief([("frame", data.decode("latin-1"))])


@pytest.fixture(scope="module")
def keeper(tmp_path_factory):
    k = Keeper(Daemon(tmp_path_factory.mktemp("frames"), settings="Option TestClock\n").start())
    yield k
    k.stop()


def probe_problem(keeper):
    """What is wrong with the daemon after an example: it must answer whoami and tell the (test) time."""
    if not answers(keeper.daemon):
        return "the daemon no longer answers whoami"
    with Wire(keeper.daemon.socket, timeout=20) as wire:
        wire.send(frame({"op": "clock", "shift": 0}))
        reply = wire.reply()
    if reply is None or reply.get("error") == "internal":
        return f"the daemon's clock is broken: {reply}"
    return None


def exchange(daemon, data, whole):
    """Send ``data`` on a new connection (then stop sending, if ``whole`` is
    false); the reply, None when the daemon closed, or the socket's error.
    A daemon may refuse a frame by its header and close before the rest is
    sent: the refusal still counts as the reply."""
    with Wire(daemon.socket, timeout=20) as wire:
        failure = None
        try:
            wire.send(data)
            if not whole:
                wire.sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            failure = exc
        try:
            return wire.reply() or failure
        except OSError as exc:
            return failure or exc


def judge(keeper, data, whole):
    """Send one frame to a live daemon; fail with a message naming the frame
    if the reply is wrong or the daemon is not well after it."""
    keeper.revive()
    reply = exchange(keeper.daemon, data, whole)
    faults = []
    if whole and not isinstance(reply, dict):
        faults.append(f"no reply ({reply!r})")
    if not whole and not (reply is None or isinstance(reply, dict) and reply.get("error") == "protocol"):
        faults.append(f"{reply!r} to an incomplete frame")
    if isinstance(reply, dict) and reply.get("error") == "internal":
        faults.append("an internal error")
    problem = probe_problem(keeper)
    if problem:
        faults.append(problem)
    assert not faults, f"{'; '.join(faults)} -- answering {short(data)}"


KNOWN = {   # frames that once broke the daemon, each always tried
    "nested-1000": frame(nested(1_000, "whole")),
    "nested-objects-100000": frame(nested(100_000, "object")),
    "nested-in-a-value": frame(nested(5_000, "value")),
    "nested-func": frame(nested(2_000, "func")),
    "surrogate-unechoed": frame({"op": "call", "params": [["func", "whoami"], ["x", "\ud800"]]}),
    "surrogate-echoed": frame({"op": "call", "params": [["func", "account.edit"], ["elid", "\udfff"]]}),
    "surrogate-in-func": frame({"op": "call", "params": [["func", "\ud800"]]}),
    "describe-func-list": frame({"op": "describe", "func": ["account"]}),
    "describe-lang-object": frame({"op": "describe", "func": "account", "lang": {"en": 1}}),
    "clock-shift-text": frame({"op": "clock", "shift": "soon"}),
    "clock-shift-huge": frame({"op": "clock", "shift": 10 ** 400}),
    "clock-shift-infinite": frame({"op": "clock", "shift": float("inf")}),
    "op-list": frame({"op": ["call"], "params": [["func", "whoami"]]}),
}


@pytest.mark.parametrize("name", KNOWN)
def test_a_known_bad_frame_gets_an_answer(keeper, name):
    judge(keeper, KNOWN[name], True)


def test_generated_frames_never_break_the_daemon(keeper):
    since = log_size(keeper.daemon)

    @fuzz_settings(EXAMPLES)
    @given(st.one_of(complete.map(lambda f: (f, True)), incomplete.map(lambda f: (f, False))))
    def fuzz(sent):
        judge(keeper, *sent)

    fuzz()
    assert log_faults(keeper.daemon, since) == [], "bad frames are worth a WARNING, never an error or a traceback"


def test_an_unpaged_list_over_the_frame_limit_arrives_whole(daemon):
    """Only requests have a size limit (DESIGN.md): a list reply of more than
    16 MiB reaches mgrctl whole, and the daemon lives on."""
    name, rows = "名" * 255, 14_000     # 765 bytes of UTF-8 a name, shown twice a row with the email
    daemon.stored("WITH RECURSIVE n (i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) "
                  "INSERT INTO account (name, email, project, registration_date) "
                  "SELECT ?, ? || CAST(i AS VARCHAR(8)) || '@example.com', 1, '2026-01-01 00:00:00' FROM n",
                  rows, name, name[:200])
    result = daemon.mgrctl("-m", "billmgr", "-o", "JSONdata", "account")
    assert result.returncode == 0, result.stderr[-500:]
    assert len(result.stdout.encode()) > protocol.MAX_FRAME
    assert len(json.loads(result.stdout)["elem"]) == rows
    assert answers(daemon)
    assert log_faults(daemon) == []
