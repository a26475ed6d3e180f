"""Synthetic clients written straight into a database file, for scale tests and benchmarks.

Creating 100,000 clients through ``account.edit`` takes minutes; this
writes them in one transaction, with the rows a real client has (account,
its provider, its first login) and the store's triggers keeping the
substring indexes, as a provider's imported data would arrive.  Client N
is named "<Given> <Family> N" with email clientN@exampleM.com.
"""

import sqlite3

from . import Store

GIVEN = ("Anna", "Boris", "Clara", "Dmitry", "Elena", "Fedor", "Galina", "Igor", "Julia", "Kirill")
FAMILY = ("Smith", "Ivanov", "Garcia", "Petrova", "Müller", "Kowalski", "Rossi", "Novak", "Sato", "Olsen")


def name(n):
    return f"{GIVEN[n % 10]} {FAMILY[n // 10 % 10]} {n}"


def email(n):
    return f"client{n}@example{n % 97}.com"


def add_clients(path, count):
    """Add ``count`` clients to the database at ``path`` (created and migrated if need be)."""
    Store(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM account").fetchone()[0]
        numbers = range(first, first + count)
        db.executemany(
            "INSERT INTO account (id, name, email, project, registration_date, registration_ip) "
            "VALUES (?, ?, ?, 1, ?, '192.0.2.1')",
            ((n, name(n), email(n),
              f"20{20 + n % 6}-{1 + n % 12:02d}-{1 + n % 28:02d} {n % 24:02d}:{n % 60:02d}:{n % 59:02d}")
             for n in numbers))
        db.execute("INSERT INTO account_project (account, project) SELECT id, 1 FROM account WHERE id >= ?",
                   (first,))
        db.execute("INSERT INTO user (account, name, level, email, created) "
                   "SELECT id, email, 'user', email, registration_date FROM account WHERE id >= ?", (first,))
        db.execute("COMMIT")
    finally:
        db.close()
