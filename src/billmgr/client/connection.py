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
        try:
            protocol.write_frame(self.sock, message)
            reply = protocol.read_frame(self.sock)
        except (OSError, protocol.ProtocolError) as exc:
            raise Unreachable(f"{self.path}: {exc}") from None
        if reply is None:
            raise Unreachable(f"{self.path}: the daemon closed the connection")
        return reply

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
