"""The PostgreSQL store: several billmgrd processes, on one host or several, share one database.

The same SQL runs here as on SQLite.  Statements are written with ``?``
placeholders; the connection turns them into psycopg's ``%s`` (and a
literal ``%`` into ``%%``) once per SQL text, and quotes the identifier
``user`` (billmgr's table and columns keep BILLmanager's name, which
PostgreSQL reserves for ``current_user``).  Sums of integer columns come
back as ``int``, as SQLite gives them, not as ``Decimal``.

There is no single writer to hide behind.  A write transaction runs at READ
COMMITTED; code that reads a row in order to change it locks it
(``dialect.for_update``: the ledger its subaccount, a payment's status
change the payment), uniqueness is the database's constraints, and a
transaction that loses a race -- a serialization failure, a deadlock, a
unique key another transaction took first -- is run again whole by the
dispatcher (``retry``), a bounded number of times.  A read transaction is a
REPEATABLE READ, READ ONLY snapshot, as consistent as SQLite's.

Caches of list replies (``changes``) cannot see what other hosts commit:
any WAL position we have not seen counts as a change of every table.
"""

import hashlib
import logging
import re
import threading
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache

import psycopg
import psycopg_pool
from psycopg import errors as pgerrors
from psycopg.types.numeric import NumericLoader

from .. import errors
from . import dialect
from .changes import Changes

log = logging.getLogger("billmgr.store")

POOL_SIZE = 16
# SQLSTATE classes of a transaction that lost a race: running it again may succeed
LOST_RACE = (pgerrors.SerializationFailure, pgerrors.DeadlockDetected, pgerrors.UniqueViolation)
IntegrityError = pgerrors.IntegrityError

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%|\buser\b", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql):
    """``sql`` as psycopg takes it: placeholders, percent signs and ``user`` outside quotes."""
    def token(match):
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        if text.lower() == "user":
            return '"user"'
        return text.replace("%", "%%")     # a quoted literal or identifier, as written
    return _TOKENS.sub(token, sql)


class _WholeNumbers(NumericLoader):
    """NUMERIC as int when it is whole: what sum() of a BIGINT column gives."""

    def load(self, data):
        value = super().load(data)
        return int(value) if isinstance(value, Decimal) and value == value.to_integral_value() else value


class Connection:
    """One pooled connection inside a transaction, with sqlite3's ``execute`` shape."""

    __slots__ = ("_conn",)

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql, args=()):
        cursor = self._conn.cursor()
        cursor.execute(translate(sql), tuple(args))
        return cursor

    def executemany(self, sql, seq):
        cursor = self._conn.cursor()
        cursor.executemany(translate(sql), [tuple(args) for args in seq])
        return cursor


def conninfo(config):
    """The libpq connection string of the DB* settings."""
    parts = {"host": config.db_host, "port": config.db_port, "dbname": config.db_name,
             "user": config.db_user, "password": config.db_password}
    return psycopg.conninfo.make_conninfo(**{key: value for key, value in parts.items() if value})


def _configure(conn):
    conn.adapters.register_loader("numeric", _WholeNumbers)


def connect(info):
    """One connection of our own (admin commands, migrations), in autocommit: we say BEGIN."""
    conn = psycopg.connect(info, autocommit=True)
    _configure(conn)
    return conn


@contextmanager
def _unreachable_is_an_error():
    try:
        yield
    except psycopg.OperationalError as exc:
        if isinstance(exc, LOST_RACE):
            raise
        if not isinstance(exc, pgerrors.LockNotAvailable):   # (waited past WriterWait for a row lock)
            log.warning("database unreachable: %s", exc)
        raise errors.busy() from None
    except psycopg_pool.PoolTimeout:
        raise errors.busy() from None


class Search:
    """Substring search on PostgreSQL: ILIKE served by pg_trgm indexes, no narrowing needed."""

    @staticmethod
    def narrow(*_):
        return None


class PostgresStore:
    dialect = dialect.PostgreSQL
    IntegrityError = IntegrityError
    LOST_RACE = LOST_RACE
    search = Search()

    def __init__(self, info, writer_wait=10.0):
        from . import migrations

        self.info = info
        self.writer_wait = writer_wait
        self.changes = Changes()
        self._held = None            # the connection that holds our advisory locks (``hold``)
        self._held_names = set()
        self._held_lock = threading.Lock()
        self._seen_lsn = None
        self._seen_lock = threading.Lock()
        try:
            with connect(info) as conn:
                migrations.apply_postgres(conn)
        except psycopg.OperationalError as exc:     # (billmgrd start reports these without a traceback)
            raise RuntimeError(f"cannot reach the PostgreSQL database: {str(exc).strip()}") from None
        except psycopg.Error as exc:
            raise RuntimeError(f"the PostgreSQL database is not usable: {str(exc).strip()}") from None
        with _unreachable_is_an_error():
            self._pool = psycopg_pool.ConnectionPool(
                info, min_size=1, max_size=POOL_SIZE, timeout=writer_wait, configure=_configure,
                kwargs={"autocommit": True}, open=True, name="billmgr")

    @contextmanager
    def transaction(self, write=False, statements=None):
        """A connection inside one transaction, committed only if the block succeeds.

        (``statements`` is not kept: every change counts as a change of every table.)
        """
        begin = ("BEGIN ISOLATION LEVEL READ COMMITTED" if write else
                 "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with _unreachable_is_an_error(), self._pool.connection() as conn:
            conn.execute(f"{begin}; SET LOCAL lock_timeout = '{int(self.writer_wait * 1000)}ms'")
            try:
                yield Connection(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if write:
            self.changes.wrote_everything()

    def tables_read(self, _statements):
        return frozenset()      # every change counts as a change of every table (see notice_outside_commits)

    def notice_outside_commits(self):
        """Any commit anywhere moves the WAL: one we have not seen counts as a change of everything."""
        with _unreachable_is_an_error(), self._pool.connection() as conn:
            lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        with self._seen_lock:
            if lsn != self._seen_lsn:
                self._seen_lsn = lsn
                self.changes.wrote_everything()

    def hold(self, name):
        """Whether this process holds (or now takes) the lock ``name`` that one daemon at a time may hold:
        the task worker's, the nightly run's.  Held until the daemon stops, or dies: PostgreSQL lets go of
        a session's advisory locks when its connection ends, and another daemon takes over."""
        with self._held_lock, _unreachable_is_an_error():
            try:
                if self._held is not None and self._held.execute("SELECT 1").fetchone() and name in self._held_names:
                    return True
            except psycopg.OperationalError:     # the connection, and with it the locks, are gone
                self._held.close()
            if self._held is None or self._held.closed:
                self._held, self._held_names = connect(self.info), set()
            key = int.from_bytes(hashlib.sha256(f"billmgr {name}".encode()).digest()[:8], "big", signed=True)
            if self._held.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                self._held_names.add(name)
                return True
            return False

    def read_one(self, sql, args=()):
        with self.transaction() as db:
            return db.execute(sql, args).fetchone()

    def schema_version(self):
        with self.transaction() as db:
            return db.execute("SELECT version FROM schema_version").fetchone()[0]

    def close(self):
        with self._held_lock:
            if self._held is not None:
                self._held.close()
        self._pool.close()
