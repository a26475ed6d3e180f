"""The Unix listening socket: private from the first instant, never stolen."""

import errno
import os
import socket
import stat
from contextlib import suppress


class SocketInUse(Exception):
    """Another live process owns the socket path, or it is not a socket."""


def _remove_stale(path):
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SocketInUse(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
            os.unlink(path)
            return
        raise
    finally:
        probe.close()
    raise SocketInUse(f"{path} is in use by a running billmgrd")


def ensure_private_dir(path):
    """Create ``path`` as 0750; tighten it only if we created it."""
    with suppress(FileExistsError):
        os.makedirs(path, mode=0o750)
        os.chmod(path, 0o750)     # makedirs' mode is filtered by the umask


def bind(path, backlog=128):
    ensure_private_dir(os.path.dirname(path))
    _remove_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o117)   # the socket is born 0660
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    sock.listen(backlog)
    return sock


def peer_uid(conn):
    """The uid of the process at the other end (SO_PEERCRED)."""
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid
