"""sd_notify and socket activation, without a dependency."""

import os
import socket
from contextlib import suppress

SD_LISTEN_FDS_START = 3


def notify(state):
    """Tell systemd about a state change (READY=1, RELOADING=1, STOPPING=1); no-op outside it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        with suppress(OSError):   # systemd gone: nobody to tell
            sock.sendto(state.encode(), address)


def inherited_sockets():
    """Listening sockets passed by systemd socket activation (LISTEN_FDS)."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return []
    count = int(os.environ.get("LISTEN_FDS", "0") or 0)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    return [socket.socket(fileno=fd) for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count)]
