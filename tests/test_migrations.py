"""Upgrades: a database of every released schema version migrates to the
current one with every row kept, passes ``billmgrd check`` and serves.

tests/schemas/vN.sql holds a database of schema version N as that release
wrote it (see tests/schemas/snapshot.py).  Appending migration N+1 makes
vN.sql required here.
"""

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import BILLMGRD, Daemon

from billmgr.store import migrations

pytestmark = pytest.mark.sqlite   # upgrades of released SQLite databases (tests/schemas/)

SCHEMAS = Path(__file__).parent / "schemas"
CURRENT = len(migrations.MIGRATIONS)


def snapshots():
    found = {int(m.group(1)): path for path in SCHEMAS.glob("v*.sql")
             if (m := re.fullmatch(r"v(\d+)\.sql", path.name))}
    return [found[v] for v in sorted(found)]


def rows(db):
    """{table: set of rows as (column, value) tuples}, for every table."""
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
    result = {}
    for table in tables:
        cursor = db.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        result[table] = {tuple(zip(columns, row)) for row in cursor}
    return result


def test_every_earlier_schema_version_has_a_snapshot():
    have = {int(path.stem[1:]) for path in snapshots()}
    missing = set(range(1, CURRENT)) - have
    assert not missing, (f"no tests/schemas/v{min(missing)}.sql: run tests/schemas/snapshot.py --checkout "
                         f"<a checkout of the last commit with schema version {min(missing)}>")
    assert max(have) <= CURRENT


@pytest.mark.parametrize("snapshot", snapshots(), ids=lambda path: path.stem)
def test_migration_keeps_every_row_and_passes_check(tmp_path, snapshot):
    d = Daemon(tmp_path)
    with sqlite3.connect(d.db) as db:
        db.executescript(snapshot.read_text())
        before = rows(db)
    version = int(snapshot.stem[1:])

    migrate = subprocess.run([BILLMGRD, "migrate"], env=d.env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    assert migrate.stdout.startswith(f"schema version {CURRENT}")
    assert (f"migrated from {version}" in migrate.stdout) == (version < CURRENT)

    with sqlite3.connect(d.db) as db:
        after = rows(db)
    for table, old_rows in before.items():
        assert table in after, f"table {table} of schema version {version} is gone"
        columns = [c for c, _ in next(iter(old_rows))] if old_rows else []
        kept = {tuple(pair for pair in row if pair[0] in columns) for row in after[table]}
        assert old_rows <= kept, f"rows of {table} changed or vanished"

    check = subprocess.run([BILLMGRD, "check"], env=d.env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout

    d.start()
    try:
        emails = {row["email"] for row in d.call("account", out="JSONdata")["elem"]}
        old_emails = {dict(row)["email"] for row in before["account"]}
        assert old_emails and old_emails <= emails
    finally:
        assert d.stop() == 0


@pytest.mark.parametrize("snapshot", [s for s in snapshots() if int(s.stem[1:]) >= 2], ids=lambda path: path.stem)
def test_staff_of_an_earlier_version_are_employees_with_full_access(tmp_path, snapshot):
    """Schema 2 kept staff as user rows of level admin; upgraded, they log in as employees
    with every right, and ``user`` lists only the clients' logins."""
    d = Daemon(tmp_path)
    with sqlite3.connect(d.db) as db:
        db.executescript(snapshot.read_text())
    d.start()
    try:
        as_staff = "authinfo=staff:Staff-pass1"    # made by tests/schemas/snapshot.py
        assert d.call("whoami", as_staff, out="JSONdata") == {"name": "staff", "level": "admin"}
        staff = d.call("employee", as_staff, out="JSONdata")["elem"]
        assert ("1", "staff", "Old Staff", "full access") in [(e["id"], e["name"], e.get("realname"), e.get("status"))
                                                             for e in staff]
        assert d.call("paramlist", as_staff, out="JSONdata")["elem"]
        logins = d.call("user", as_staff, out="JSONdata")["elem"]
        assert "staff" not in {u["name"] for u in logins}
        assert {u["name"]: u["account_id"] for u in logins}["alice-helper"] == "1"
        assert d.call("account.edit", "elid=2", as_staff, out="JSONdata")["employee"] == "1"
        sid = d.call("auth", "username=staff", "password=Staff-pass1", out="sjson")["auth"]["$id"]
        assert d.call("whoami", f"auth={sid}", out="JSONdata")["name"] == "staff"
    finally:
        assert d.stop() == 0
