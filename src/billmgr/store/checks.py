"""``billmgrd check``: what must hold in a database, checked in order.

A check is a function of a read-only connection and the database's schema
version that yields each problem it finds as a sentence; yielding nothing
means it passed.  A new invariant (say, every cached balance equals the sum
of its journal) is one more function in BOOKS, next to the code that keeps
it.  The books' checks run on either store; the file's own (its pages, its
foreign keys, which PostgreSQL enforces itself) on SQLite.
"""

from .. import distribution, ledger
from . import migrations


def integrity(db, _version):
    """SQLite's own structure: pages, indexes, constraints."""
    for (line,) in db.execute("PRAGMA integrity_check"):
        if line != "ok":
            yield line


def foreign_keys(db, _version):
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
        yield f"{table} row {rowid} refers to a missing {parent}"


def schema_version(_db, version):
    if version != len(migrations.MIGRATIONS):
        yield (f"schema version {version}, this billmgr expects {len(migrations.MIGRATIONS)}: "
               "run billmgrd migrate")


def balances(db, version):
    """Every cached balance equals the sum of its journal (on the current schema only)."""
    if version == len(migrations.MIGRATIONS):
        yield from ledger.consistency(db)


def payments(db, version):
    """Every payment's usedamount is its distributions' sum, every expense's notpayd its amount less
    what paid it, and every credited payment has exactly one credit in the journal."""
    if version == len(migrations.MIGRATIONS):
        yield from distribution.consistency(db)


SQLITE_FILE = [("integrity", integrity), ("foreign keys", foreign_keys)]
BOOKS = [("schema version", schema_version), ("balances", balances), ("payments", payments)]
