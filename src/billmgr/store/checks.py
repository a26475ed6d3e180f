"""``billmgrd check``: what must hold in a database, checked in order.

A check is a function of a read-only connection that yields each problem it
finds as a sentence; yielding nothing means it passed.  A new invariant (say,
every cached balance equals the sum of its journal) is one more function in
CHECKS, next to the code that keeps it.
"""

from .. import distribution, ledger
from . import migrations


def integrity(db):
    """SQLite's own structure: pages, indexes, constraints."""
    for (line,) in db.execute("PRAGMA integrity_check"):
        if line != "ok":
            yield line


def foreign_keys(db):
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check"):
        yield f"{table} row {rowid} refers to a missing {parent}"


def schema_version(db):
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version != len(migrations.MIGRATIONS):
        yield (f"schema version {version}, this billmgr expects {len(migrations.MIGRATIONS)}: "
               "run billmgrd migrate")


def balances(db):
    """Every cached balance equals the sum of its journal (on the current schema only)."""
    if db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS):
        yield from ledger.consistency(db)


def payments(db):
    """Every payment's usedamount is its distributions' sum, every expense's notpayd its amount less
    what paid it, and every credited payment has exactly one credit in the journal."""
    if db.execute("PRAGMA user_version").fetchone()[0] == len(migrations.MIGRATIONS):
        yield from distribution.consistency(db)


CHECKS = [
    ("integrity", integrity),
    ("foreign keys", foreign_keys),
    ("schema version", schema_version),
    ("balances", balances),
    ("payments", payments),
]
