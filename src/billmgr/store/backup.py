"""Copies of the SQLite database: online backup and the swap of a restore.

A copy reads the source page by page with SQLite's backup API from inside one
read transaction, so it is the snapshot at its start however many writes a
running daemon commits meanwhile: WAL readers never block the writer, and the
held snapshot keeps the backup from restarting after each of them.
"""

import os
import sqlite3

from .. import files

STEP_PAGES = 1024


def open_existing(path):
    """A read-only connection to a database file that must already exist."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such database file")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA query_only = ON")
    return db


def _fsync_dir(path):
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy(source, target, mode, progress=lambda done, total: None):
    """Copy database ``source`` to ``target`` atomically, as a file of ``mode`` in rollback-journal mode.

    ``progress(done, total)`` is called with page counts after each step.
    """
    partial = f"{target}.partial-{os.getpid()}"
    os.close(files.open_fd(partial, os.O_WRONLY | os.O_EXCL, mode))
    try:
        src = open_existing(source)
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()   # takes the snapshot
            src.backup(dst, pages=STEP_PAGES,
                       progress=lambda _status, remaining, total: progress(total - remaining, total))
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode = DELETE")   # one self-contained file
        finally:
            src.close()
            dst.close()
        with open(partial, "rb") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
        _fsync_dir(target)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


def swap_in(new, live, keep):
    """Put database file ``new`` in place of ``live``; the old one, checkpointed, becomes ``keep``."""
    if os.path.exists(live):
        old = sqlite3.connect(live, isolation_level=None)
        try:
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            old.close()
        os.replace(live, keep)
    for leftover in (f"{live}-wal", f"{live}-shm"):   # they belong to the old file
        if os.path.exists(leftover):
            os.unlink(leftover)
    os.replace(new, live)
    _fsync_dir(live)
