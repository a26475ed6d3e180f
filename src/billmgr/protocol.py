"""The frame format spoken over the Unix socket by mgrctl and billmgrd.

A frame is a 7-byte header -- magic ``BM``, a version byte and a 32-bit
big-endian body length -- followed by a UTF-8 JSON body.  Several frames may
travel over one connection, one request answered by one reply.  Only the
standard library is used: mgrctl imports this on every call.
"""

import json
import struct

MAGIC = b"BM"
VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
_HEADER = struct.Struct("!2sBI")


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame."""


def encode(message):
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return _HEADER.pack(MAGIC, VERSION, len(body)) + body


def _read_exactly(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock, max_size=MAX_FRAME):
    """The next message from ``sock``, or None when the peer closed cleanly."""
    header = sock.recv(_HEADER.size, 0)
    if not header:
        return None
    if len(header) < _HEADER.size:
        rest = _read_exactly(sock, _HEADER.size - len(header))
        if rest is None:
            raise ProtocolError("truncated frame header")
        header += rest
    magic, version, size = _HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError("not a billmgr frame")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if size > max_size:
        raise ProtocolError(f"frame of {size} bytes exceeds {max_size}")
    body = _read_exactly(sock, size)
    if body is None:
        raise ProtocolError("truncated frame body")
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"frame body is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame body is not an object")
    return message


def write_frame(sock, message):
    sock.sendall(encode(message))
