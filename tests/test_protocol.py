"""The frame format: what goes in comes out, and bad frames are refused."""

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr import protocol
from billmgr.params import Params

values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(st.lists(st.tuples(values, values), max_size=20))
def test_params_survive_a_frame_in_order(pairs):
    left, right = socket.socketpair()
    with left, right:
        protocol.write_frame(left, {"op": "call", "params": pairs})
        message = protocol.read_frame(right)
    assert [tuple(p) for p in message["params"]] == pairs
    params = Params(message["params"])
    for key in {k for k, _ in pairs}:
        assert params.getall(key) == [v for k, v in pairs if k == key]


def test_clean_close_is_none_and_truncation_is_an_error():
    left, right = socket.socketpair()
    left.close()
    assert protocol.read_frame(right) is None
    left, right = socket.socketpair()
    left.sendall(struct.pack("!2sBII", b"BM", 1, 10, 0) + b"{}")
    left.close()
    with pytest.raises(protocol.ProtocolError, match="truncated"):
        protocol.read_frame(right)


def test_group_ids_accept_comma_with_or_without_space():
    assert Params([("elid", "1, 2,3"), ("elid", "4")]).ids() == [1, 2, 3, 4]


def test_a_body_travels_as_raw_payload():
    frame = protocol.encode({"error": None, "body": 'ünïcode "quoted" <xml/>'})
    assert frame.endswith('ünïcode "quoted" <xml/>'.encode())
    message, used = protocol.parse_frame(bytearray(frame) + b"next")
    assert used == len(frame) and message == {"error": None, "body": 'ünïcode "quoted" <xml/>'}
    assert protocol.parse_frame(bytearray(frame[:-1])) == (None, 0)


def test_a_long_reply_comes_in_frames_flagged_more():
    left, right = socket.socketpair()
    with left, right:
        for frame in ({"error": None, "more": True, "body": "<doc>ü"}, {"more": True, "body": "x" * 70_000},
                      {"body": "</doc>"}):
            protocol.write_frame(left, frame)
        frames = list(protocol.read_reply(right))
    assert "".join(f["body"] for f in frames) == "<doc>ü" + "x" * 70_000 + "</doc>"
    assert [bool(f.get("more")) for f in frames] == [True, True, False]
    left, right = socket.socketpair()
    with right:
        protocol.write_frame(left, {"more": True, "body": "<doc>"})
        left.close()
        with pytest.raises(protocol.ProtocolError, match="before its last frame"):
            list(protocol.read_reply(right))
