"""The store: the SQLite file by default, or PostgreSQL (``open``).

The SQLite store: one writer, readers beside it, one transaction per request.

WAL mode with ``synchronous=FULL`` so every committed write survives a power
cut; foreign keys on; a busy timeout.  Writers queue on one lock and use
``BEGIN IMMEDIATE``; readers take a pooled ``query_only`` connection and see a
consistent snapshot.  A handler never commits: leaving the ``transaction``
block commits, an exception rolls everything back.

A write that gets no turn within the writer wait -- another request holds the
writer, or another process SQLite's write lock -- fails as a ``busy`` error,
rolled back, which the caller may simply retry.

The store also knows which tables each commit wrote (``changes``, for
caches) and which tables a read transaction read (``transaction(statements=)``
and ``tables_read``), and offers substring search over the columns indexed
for it (``search``).
"""

import queue
import sqlite3
import threading
from contextlib import contextmanager

from .. import errors, files
from . import dialect, migrations
from .changes import Changes
from .search import Search

WRITER_WAIT = 10.0   # seconds a write waits for its turn before it fails (WriterWait)
_LOCKED = ("database is locked", "database is busy", "database table is locked")


def open_store(config):
    """The store the configuration names: PostgreSQL when DBName or DBHost is set, else ``path db``."""
    if config.postgresql:
        from .postgres import PostgresStore, conninfo

        return PostgresStore(conninfo(config), writer_wait=config.writer_wait)
    return Store(config.db, writer_wait=config.writer_wait)


_WRITES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}


def connect(path, readonly=False, wait=WRITER_WAIT, cached_statements=256):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=wait,
                           cached_statements=cached_statements)
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


class _Recording:
    """A connection that notes the SQL text of every statement run through it."""

    __slots__ = ("_conn", "statements")

    def __init__(self, conn, statements):
        self._conn, self.statements = conn, statements

    def execute(self, sql, args=()):
        self.statements.append(sql)
        return self._conn.execute(sql, args)

    def executemany(self, sql, args):
        self.statements.append(sql)
        return self._conn.executemany(sql, args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


class Store:
    dialect = dialect.SQLite
    IntegrityError = sqlite3.IntegrityError
    LOST_RACE = ()       # one writer at a time: a transaction never loses a race to another

    def __init__(self, path, writer_wait=WRITER_WAIT):
        self.path = str(path)
        self.writer_wait = writer_wait
        files.create(self.path)     # private from the start; SQLite would create it 0644
        self._writer = connect(self.path, wait=writer_wait)
        migrations.apply(self._writer)
        self.search = Search(self._writer)
        self.changes = Changes()
        self._write_lock = threading.Lock()
        self._readers = queue.SimpleQueue()
        # _tables prepares each SQL text once with an authorizer: no statement cache there
        self._probe = connect(self.path, readonly=True, cached_statements=0)
        self._probe_lock = threading.Lock()
        self._tables_of = {}       # SQL text -> (tables it reads, tables it writes)
        self._watch = connect(self.path, readonly=True)     # sees every commit's data_version
        self._watch_lock = threading.Lock()
        self._seen_version = self._writer.execute("PRAGMA data_version").fetchone()[0]
        self._watched_version = self._watch.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def transaction(self, write=False, statements=None):
        """A connection inside one transaction, committed only if the block succeeds.

        The SQL text of every statement a read transaction runs is added to
        the list ``statements``, when one is given (see ``tables_read``).  A
        write transaction always notes them: its commit tells ``changes``
        which tables it wrote.
        """
        with _busy_is_an_error():
            if write:
                # Bounded, so that a handler holding the writer while it waits for a
                # write it started elsewhere (mgrctl) fails instead of hanging for ever.
                if not self._write_lock.acquire(timeout=self.writer_wait):
                    raise errors.busy()
                try:
                    written = []
                    yield from self._run(self._writer, "BEGIN IMMEDIATE", _Recording(self._writer, written))
                    if written:
                        self.changes.wrote(set().union(*(self._tables(sql)[1] for sql in set(written))))
                finally:
                    self._write_lock.release()
            else:
                conn = self._reader()
                try:
                    yield from self._run(conn, "BEGIN", None if statements is None else _Recording(conn, statements))
                finally:
                    self._readers.put(conn)

    def tables_read(self, statements):
        """The tables the SQL texts ``statements`` read."""
        return set().union(*(self._tables(sql)[0] for sql in set(statements)))

    def _tables(self, sql):
        """(tables read, tables written) by statement ``sql``, with its triggers and
        foreign-key cascades: learnt once per SQL text from an authorizer while
        SQLite prepares it (on a connection of its own: nothing runs)."""
        known = self._tables_of.get(sql)
        if known is not None:
            return known
        read, written = set(), set()

        def note(action, table, _column, _db, _trigger):
            if action == sqlite3.SQLITE_READ and table:
                read.add(table)
            elif action in _WRITES:
                written.add(table)
            return sqlite3.SQLITE_OK

        with self._probe_lock:
            self._probe.set_authorizer(note)
            try:
                self._probe.execute(f"EXPLAIN {sql}")
            except sqlite3.ProgrammingError:
                pass               # no values bound: the statement was prepared all the same
            finally:
                self._probe.set_authorizer(None)
        if len(self._tables_of) > 10_000:     # SQL made per object, in case a handler inlines ids
            self._tables_of.clear()
        self._tables_of[sql] = found = (frozenset(read), frozenset(written))
        return found

    def notice_outside_commits(self):
        """Count a commit by another process (an admin's sqlite3) as a change of every table.

        ``data_version`` on a connection of our own moves with every commit,
        ours included; on the writer it moves only with the commits of
        other connections.  While our writer is busy it cannot be asked, and
        any move counts as outside.
        """
        with self._watch_lock:
            version = self._watch.execute("PRAGMA data_version").fetchone()[0]
            if version == self._watched_version:
                return
            self._watched_version = version
        if not self._write_lock.acquire(blocking=False):
            self.changes.wrote_everything()
            return
        try:
            seen = self._writer.execute("PRAGMA data_version").fetchone()[0]
            if seen != self._seen_version:
                self._seen_version = seen
                self.changes.wrote_everything()
        finally:
            self._write_lock.release()

    def _reader(self):
        try:
            return self._readers.get_nowait()
        except queue.Empty:
            return connect(self.path, readonly=True, wait=self.writer_wait)

    @staticmethod
    def hold(_name):
        """Whether this process may run what one daemon at a time may run: always, as only one
        daemon serves a SQLite file."""
        return True

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
    def _run(conn, begin, shown=None):
        conn.execute(begin)
        try:
            yield conn if shown is None else shown
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def schema_version(self):
        return self._writer.execute("PRAGMA user_version").fetchone()[0]

    def close(self):
        with self._write_lock:
            self._writer.close()
        with self._probe_lock:
            self._probe.close()
        with self._watch_lock:
            self._watch.close()
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break
