"""Who may read billmgr's files -- the database with its -wal and -shm, the
log, the pid file, backups: billmgr's own user, and its group only where the
directory lets the group in; never every local user.

A directory billmgr creates is 0700.  A file gets the mode its directory
calls for: 0640 in a directory open to its group but not to others (a
packaged install's 0750 /var/lib/billmgr, group billmgr, read by LocalAdmin
users), else 0600 (the embedded default).  Files are created with that mode, never opened wider
first; SQLite gives -wal and -shm the database's own mode.  At start, files
of ours found more open are narrowed, and a directory every local user may
enter is reported.
"""

import logging
import os
import stat

log = logging.getLogger("billmgr.daemon")

DIR_MODE = 0o700
FILE_MODE, GROUP_FILE_MODE = 0o600, 0o640


def restrict_umask():
    """Nothing this process creates is open to other users, whatever umask it was started with."""
    os.umask(os.umask(0) | 0o007)


def make_dir(path):
    """``path`` as a directory: created 0700 (with its parents) when missing, left alone when there."""
    if os.path.isdir(path):
        return
    os.makedirs(path, mode=DIR_MODE, exist_ok=True)
    os.chmod(path, DIR_MODE)     # makedirs' mode is filtered by the umask


def mode_for(path):
    """The mode of a billmgr file at ``path``: 0640 if its directory lets its group in (and
    nobody else: a directory open to all is no group's), else 0600."""
    directory = stat.S_IMODE(os.stat(os.path.dirname(os.path.abspath(path))).st_mode)
    return GROUP_FILE_MODE if directory & 0o070 and not directory & 0o007 else FILE_MODE


def open_fd(path, flags, mode=None):
    """``os.open`` that creates a missing file with exactly ``mode`` (default: ``mode_for``)."""
    mode = mode_for(path) if mode is None else mode
    fd = os.open(path, flags | os.O_CREAT, mode)
    info = os.fstat(fd)
    if info.st_size == 0 and stat.S_IMODE(info.st_mode) != mode and info.st_uid == os.geteuid():
        os.fchmod(fd, mode)      # new (empty): its mode exactly, whatever the umask took away
    return fd


def create(path):
    """Make sure file ``path`` exists, created with its mode (before SQLite creates it 0644)."""
    os.close(open_fd(path, os.O_RDONLY))


def write(path, text):
    """Replace the contents of the small file ``path`` (the pid file), created with its mode."""
    with os.fdopen(open_fd(path, os.O_WRONLY | os.O_TRUNC), "w") as file:
        file.write(text)


def tighten(paths):
    """Narrow each existing file of ours in ``paths`` that is more open than its mode, and warn
    about every directory of them that all local users may enter."""
    for path in paths:
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        current, allowed = stat.S_IMODE(info.st_mode), mode_for(path)
        if not current & ~allowed:
            continue
        if info.st_uid != os.geteuid():
            log.warning("%s is mode %04o, open beyond billmgr, and not ours to change", path, current)
            continue
        os.chmod(path, current & allowed)
        log.warning("%s was mode %04o, open beyond billmgr; now %04o", path, current, current & allowed)
    for directory in sorted({os.path.dirname(os.path.abspath(p)) for p in paths}):
        if not os.path.isdir(directory):
            continue
        mode = stat.S_IMODE(os.stat(directory).st_mode)
        if mode & 0o007:
            log.warning("%s is open to every local user (mode %04o); billmgr's files in it are not, but make it "
                        "0700 (or 0750 for a group of LocalAdmin users)", directory, mode)
