"""Talking to a running billmgrd over its Unix socket."""

import socket

from .. import protocol


class Unreachable(Exception):
    """No daemon answers at the socket path."""


class Connection:
    def __init__(self, path, timeout=None):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(self.path)
        except OSError as exc:
            self.sock.close()
            raise Unreachable(f"{self.path}: {exc.strerror or exc}") from None

    def request(self, message):
        """The whole reply to ``message``, its body gathered from every frame."""
        frames = list(self.frames(message))
        reply = dict(frames[0])
        reply.pop("more", None)
        if len(frames) > 1:
            reply["body"] = "".join(frame.get("body", "") for frame in frames)
            reply["error"] = reply.get("error") or frames[-1].get("error")
        return reply

    def frames(self, message):
        """The frames of the reply to ``message`` as they arrive: its head, then its continuations."""
        try:
            protocol.write_frame(self.sock, message)
            first = protocol.read_frame(self.sock, max_size=None)
            if first is None:
                raise Unreachable(f"{self.path}: the daemon closed the connection")
            yield first
            if first.get("more"):
                yield from protocol.read_reply(self.sock)
        except (OSError, protocol.ProtocolError) as exc:
            raise Unreachable(f"{self.path}: {exc}") from None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
