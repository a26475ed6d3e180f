"""The frame format spoken over the Unix socket by mgrctl and billmgrd.

A frame is an 11-byte header -- magic ``BM``, a version byte, the length of
a UTF-8 JSON object and the length of a raw payload, both 32-bit big-endian
-- then the JSON object, then the payload.  A message's ``body`` (the
rendered document of a reply) travels as the payload, so a large reply is
never escaped into JSON and parsed back.  Several frames may travel over one
connection, one request answered by one reply.  Standard library only:
mgrctl imports this on every call.

Decoding is total: whatever bytes arrive, the reader gets a message or a
ProtocolError.  Encoding cannot fail either: text that has no UTF-8 form (a
lone surrogate, which JSON's ``"\\ud800"`` can carry into a str) is written
with U+FFFD in its place, by the ``REPLACE`` error policy that every writer of
reply bytes uses.

Requests are limited to MAX_FRAME; replies have no limit.  A long reply
streams as several frames: the first carries the reply's fields and the
start of its body, each but the last has ``"more": true``, and the body is
the concatenation of their payloads (each whole UTF-8 on its own).  The
last frame may carry an ``error`` of its own: the reply failed half-way.
"""

import codecs
import json
import math
import struct

MAGIC = b"BM"
VERSION = 1
MAX_FRAME = 16 * 1024 * 1024
_HEADER = struct.Struct("!2sBII")
HEADER_SIZE = _HEADER.size


REPLACE = "billmgr.replace"
codecs.register_error(REPLACE, lambda exc: ("\ufffd".encode() * (exc.end - exc.start), exc.end))


def utf8(text):
    """``text`` as UTF-8 bytes; never raises (see ``REPLACE``)."""
    return text.encode("utf-8", REPLACE)


def scrub(text):
    """``text`` with every code point UTF-8 cannot carry replaced by U+FFFD."""
    return utf8(text).decode()


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame."""


def encode(message):
    body = message.get("body")
    payload = b""
    if isinstance(body, str):
        message = {k: v for k, v in message.items() if k != "body"}
        payload = utf8(body)
    meta = utf8(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
    return _HEADER.pack(MAGIC, VERSION, len(meta), len(payload)) + meta + payload


def _sizes(header, max_size):
    magic, version, meta_size, payload_size = _HEADER.unpack_from(header)
    if magic != MAGIC:
        raise ProtocolError("not a billmgr frame")
    if version != VERSION:
        raise ProtocolError(f"unsupported protocol version {version}")
    if max_size is not None and meta_size + payload_size > max_size:
        raise ProtocolError(f"frame of {meta_size + payload_size} bytes exceeds {max_size}")
    return meta_size, payload_size


def _decode(meta, payload):
    try:
        message = json.loads(meta.decode())
    except Exception as exc:   # also RecursionError from deep nesting: no input may escape as anything else
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a JSON object")
    if payload:
        try:
            message["body"] = payload.decode()
        except UnicodeDecodeError:
            raise ProtocolError("frame payload is not UTF-8") from None
    return message


def _pairs(value):
    return isinstance(value, list) and all(
        type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is str for p in value)


def _finite(value):
    return type(value) is int or (type(value) is float and math.isfinite(value))


# what each field of a request may hold when present (None counts as absent)
REQUEST_FIELDS = {
    "op": lambda v: type(v) is str,
    "func": lambda v: type(v) is str,
    "lang": lambda v: type(v) is str,
    "out": lambda v: type(v) is str,
    "params": _pairs,
    "shift": _finite,
}


def bad_field(message):
    """The name of the first request field whose value has the wrong type, or None.

    A frame that decodes is a JSON object; whether its fields make sense is
    for the daemon to answer with a typed error, so this only names the field.
    """
    for name, valid in REQUEST_FIELDS.items():
        value = message.get(name)
        if value is not None and not valid(value):
            return name
    return None


def parse_frame(buffer, max_size=MAX_FRAME):
    """(message, bytes used) from the start of ``buffer``; (None, 0) if incomplete.

    The header is checked as soon as it is there, so an oversized frame is
    refused before its body is read.
    """
    if len(buffer) < HEADER_SIZE:
        return None, 0
    meta_size, payload_size = _sizes(buffer, max_size)
    end = HEADER_SIZE + meta_size + payload_size
    if len(buffer) < end:
        return None, 0
    return _decode(bytes(buffer[HEADER_SIZE:HEADER_SIZE + meta_size]),
                   bytes(buffer[HEADER_SIZE + meta_size:end])), end


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
    """The next message from a blocking ``sock``, or None when the peer closed cleanly."""
    header = sock.recv(HEADER_SIZE)
    if not header:
        return None
    if len(header) < HEADER_SIZE:
        rest = _read_exactly(sock, HEADER_SIZE - len(header))
        if rest is None:
            raise ProtocolError("truncated frame header")
        header += rest
    meta_size, payload_size = _sizes(header, max_size)
    data = _read_exactly(sock, meta_size + payload_size)
    if data is None:
        raise ProtocolError("truncated frame")
    return _decode(data[:meta_size], data[meta_size:])


def read_reply(sock):
    """The frames of one reply from a blocking ``sock``, as they arrive (no size limit).

    Raises ProtocolError if the peer closes before the last frame.
    """
    while True:
        message = read_frame(sock, max_size=None)
        if message is None:
            raise ProtocolError("the reply ended before its last frame")
        yield message
        if not message.get("more"):
            return


def write_frame(sock, message):
    sock.sendall(encode(message))
