"""The SQLite store: one writer, readers beside it, one transaction per request.

WAL mode with ``synchronous=FULL`` so every committed write survives a power
cut; foreign keys on; a busy timeout.  Writers queue on one lock and use
``BEGIN IMMEDIATE``; readers take a pooled ``query_only`` connection and see a
consistent snapshot.  A handler never commits: leaving the ``transaction``
block commits, an exception rolls everything back.

A write that gets no turn within the writer wait -- another request holds the
writer, or another process SQLite's write lock -- fails as a ``busy`` error,
rolled back, which the caller may simply retry.
"""

import queue
import sqlite3
import threading
from contextlib import contextmanager

from .. import errors, files
from . import migrations

WRITER_WAIT = 10.0   # seconds a write waits for its turn before it fails (WriterWait)
_LOCKED = ("database is locked", "database is busy", "database table is locked")


def joined(expr, separator=", "):
    """SQL aggregating the values of ``expr`` into one text (SQLite's spelling of string_agg)."""
    return f"group_concat({expr}, '{separator}')"


def connect(path, readonly=False, wait=WRITER_WAIT):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=wait)
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


@contextmanager
def _busy_is_an_error():
    """SQLite's "database is locked" (another writer kept the lock past the wait) as a ``busy`` error."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if str(exc).startswith(_LOCKED):
            raise errors.busy() from None
        raise


class Store:
    def __init__(self, path, writer_wait=WRITER_WAIT):
        self.path = str(path)
        self.writer_wait = writer_wait
        files.create(self.path)     # private from the start; SQLite would create it 0644
        self._writer = connect(self.path, wait=writer_wait)
        migrations.apply(self._writer)
        self._write_lock = threading.Lock()
        self._readers = queue.SimpleQueue()

    @contextmanager
    def transaction(self, write=False):
        """A connection inside one transaction, committed only if the block succeeds."""
        with _busy_is_an_error():
            if write:
                # Bounded, so that a handler holding the writer while it waits for a
                # write it started elsewhere (mgrctl) fails instead of hanging for ever.
                if not self._write_lock.acquire(timeout=self.writer_wait):
                    raise errors.busy()
                try:
                    yield from self._run(self._writer, "BEGIN IMMEDIATE")
                finally:
                    self._write_lock.release()
            else:
                conn = self._reader()
                try:
                    yield from self._run(conn, "BEGIN")
                finally:
                    self._readers.put(conn)

    def _reader(self):
        try:
            return self._readers.get_nowait()
        except queue.Empty:
            return connect(self.path, readonly=True, wait=self.writer_wait)

    def read_one(self, sql, args=()):
        """The first row of one read-only statement, which is consistent on its own:
        for hot paths that need no transaction around a single lookup."""
        conn = self._reader()
        try:
            with _busy_is_an_error():
                return conn.execute(sql, args).fetchone()
        finally:
            self._readers.put(conn)

    @staticmethod
    def _run(conn, begin):
        conn.execute(begin)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def schema_version(self):
        return self._writer.execute("PRAGMA user_version").fetchone()[0]

    def close(self):
        with self._write_lock:
            self._writer.close()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break
