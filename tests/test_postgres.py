"""The PostgreSQL store's own promises: the same schema and rows as SQLite's,
migrations past the baseline on both, the admin commands through its own
tools, and several daemons sharing one database.  (Every functional test
also runs on PostgreSQL when ``BILLMGR_TEST_PG`` is set: see conftest.)"""

import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import BILLMGRD, PG, Daemon, _pg

from billmgr.store import Store, migrations
from billmgr.store.migrations import MIGRATIONS

needs_server = pytest.mark.skipif(not PG, reason="needs a PostgreSQL server: set BILLMGR_TEST_PG (CI does)")


def _sqlite_columns(path):
    db = sqlite3.connect(path)
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE '%fts5%' AND name NOT LIKE '%_search_%'")]
    kinds = {"INTEGER": "integer", "BIGINT": "integer", "TEXT": "text", "FLOAT": "real", "REAL": "real"}
    return {table: {(name, kinds[kind.upper()], bool(notnull or pk)) for _, name, kind, notnull, _, pk in
                    db.execute(f'PRAGMA table_info("{table}")')} for table in tables}


def _postgres_columns(dbname):
    kinds = {"bigint": "integer", "text": "text", "double precision": "real"}
    with _pg(dbname) as conn:
        rows = conn.execute("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                            "WHERE table_schema = 'public' AND table_name != 'schema_version'").fetchall()
    columns = {}
    for table, name, kind, nullable in rows:
        columns.setdefault(table, set()).add((name, kinds[kind], nullable == "NO"))
    return columns


@needs_server
def test_a_new_postgresql_database_has_sqlites_tables_columns_and_rows(tmp_path, daemon):
    Store(tmp_path / "model.db").close()
    assert _postgres_columns(daemon.database) == _sqlite_columns(tmp_path / "model.db")
    model = sqlite3.connect(tmp_path / "model.db")
    for table in ("project", "currency", "state"):
        expected = model.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
        assert daemon.stored(f"SELECT * FROM {table} ORDER BY id") == expected, table
    # the ids the baseline's rows took are behind the new ones'
    assert daemon.create("project.edit", "name=Second") == 2


@pytest.mark.parametrize("command", [("check",), ("migrate",), ("backup", "COPY"), ("restore", "COPY")])
def test_the_admin_commands_say_when_the_server_is_unreachable(tmp_path, command):
    conf = tmp_path / "billmgr.conf"
    conf.write_text(f"path data {tmp_path}\nDBHost {tmp_path}/nowhere\nDBName books\n")
    (tmp_path / "copy.dump").write_bytes(b"PGDMP")
    command = [str(tmp_path / "copy.dump") if part == "COPY" else part for part in command]
    result = subprocess.run([BILLMGRD, *command, "--config", str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(("Error: cannot reach the PostgreSQL database:",
                                     "Error: the PostgreSQL database is not usable:",
                                     "Error: pg_dump failed: ", "Error: pg_restore failed: ")), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["billmgr.conf", "copy.dump"]


def test_a_daemon_that_cannot_reach_its_database_says_so_at_start(tmp_path):
    conf = tmp_path / "billmgr.conf"
    conf.write_text(f"path data {tmp_path}\nDBHost {tmp_path}/nowhere\nDBName books\n")
    result = subprocess.run([BILLMGRD, "run", "--config", str(conf)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot start: cannot reach the PostgreSQL database: ")
    assert f"{tmp_path}/nowhere" in result.stderr and "Traceback" not in (tmp_path / "billmgr.log").read_text()


@needs_server
def test_backup_and_restore_through_pg_dump(tmp_path, daemon):
    kept = daemon.new_account("kept@example.com")
    archive = tmp_path / "books.dump"

    def billmgrd(*args):
        return subprocess.run([BILLMGRD, *args, "--config", str(daemon.conf)], capture_output=True, text=True)
    backed = billmgrd("backup", str(archive))
    assert backed.returncode == 0, backed.stderr
    assert backed.stdout.startswith(f"backed up PostgreSQL database {daemon.database} to {archive} "
                                    f"(schema version {len(MIGRATIONS)}, ")
    assert archive.stat().st_mode & 0o777 == 0o600
    daemon.new_account("later@example.com")
    assert billmgrd("restore", str(archive)).returncode == 1          # not while the daemon runs
    daemon.stop()
    not_ours = tmp_path / "other.dump"
    not_ours.write_bytes(b"not an archive")
    refused = billmgrd("restore", str(not_ours))
    assert refused.returncode == 1 and "the database is unchanged" in refused.stderr
    assert daemon.stored("SELECT email FROM account ORDER BY id") == [("kept@example.com",), ("later@example.com",)]
    restored = billmgrd("restore", str(archive))
    assert (restored.returncode, restored.stdout) == (
        0, f"restored {archive} to PostgreSQL database {daemon.database} (schema version {len(MIGRATIONS)})\n")
    assert daemon.stored("SELECT id, email FROM account ORDER BY id") == [(kept, "kept@example.com")]
    daemon.start()
    assert daemon.create("account.edit", "email=after@example.com", "sok=ok") == kept + 1    # as of the backup
    assert billmgrd("check").returncode == 0


@needs_server
def test_check_and_migrate_work_on_the_postgresql_database(daemon):
    account = daemon.new_account("checked@example.com")
    subaccount = daemon.create("subaccount.edit", f"plid={account}")
    daemon.stop()

    def billmgrd(command):
        return subprocess.run([BILLMGRD, command, "--config", str(daemon.conf)], capture_output=True, text=True)
    migrated = billmgrd("migrate")
    assert (migrated.returncode, migrated.stdout) == (0, f"schema version {len(MIGRATIONS)}, up to date\n")
    checked = billmgrd("check")
    assert (checked.returncode, checked.stdout) == (0, "schema version: ok\nbalances: ok\npayments: ok\n")
    daemon.stored("UPDATE subaccount SET balance = 500 WHERE id = ?", subaccount)
    checked = billmgrd("check")
    assert checked.returncode == 1
    assert checked.stdout == (f"schema version: ok\nbalances: 1 problem(s)\n  subaccount #{subaccount} of client "
                              f"#{account}: balance 5.00 RUB, journal sum 0.00 RUB\npayments: ok\n")


@needs_server
def test_two_daemons_on_one_database_credit_once_and_lose_no_charge(tmp_path):
    """Two billmgrd processes (two hosts, as far as the books can tell) share one database; 8 clients spread
    over both pay the same payments and charge the same subaccounts at once."""
    for host in ("a", "b"):
        (tmp_path / host).mkdir()
    first = Daemon(tmp_path / "a").start()
    second = Daemon(tmp_path / "b", database=first.database).start()
    try:
        method = first.create("paymethod.edit", "name=Wire", "commission=3")
        owners, subaccounts, payments = [], [], []
        for n in range(2):
            account = first.new_account(f"shared{n}@example.com")
            owners.append(account)
            subaccounts.append(second.create("subaccount.edit", f"plid={account}"))
            payments += [second.call("payment.add", f"plid={account}", f"paymethod={method}", "amount=10",
                                     "sok=ok")["payment_id"]["$"] for _ in range(6)]

        def client(n):
            daemon = (first, second)[n % 2]
            credited = sum(daemon.run("payment.setpaid", f"elid={p}").returncode == 0 for p in payments)
            charged = sum(daemon.run("subaccount.expense.edit", f"plid={a}", f"subaccount={s}", "amount=1.25",
                                     "postpaid=on", "sok=ok").returncode == 0
                          for a, s in zip(owners, subaccounts) for _ in range(3))
            return credited, charged

        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(client, range(8)))
        assert sum(credited for credited, _ in outcomes) == len(payments)        # each credited once
        assert all(charged == 6 for _, charged in outcomes)                       # every charge went through
        expected = 6 * 970 - 8 * 3 * 125
        assert first.stored("SELECT id, balance FROM subaccount ORDER BY id") == [(s, expected) for s in subaccounts]
        assert first.stored("SELECT count(*), count(DISTINCT ref_id) FROM journal WHERE kind = 'payment'") == [
            (12, 12)]
        for daemon in (first, second):
            assert daemon.call("ledger.check", out="JSONdata").get("elem", []) == []
    finally:
        first.stop()
        second.stop()


def _sample_migration(step):
    """A migration as the ones past the baseline are written: standard SQL, BIGINT, ``{id}``."""
    step.script("""
    CREATE TABLE sample ({id}, account BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        amount BIGINT NOT NULL DEFAULT 0, note TEXT NOT NULL DEFAULT '');
    CREATE INDEX sample_account ON sample (account)
    """)
    step.execute("INSERT INTO sample (account, amount) SELECT id, ? FROM account", (5,))


SAMPLE_COLUMNS = {("id", "integer", True), ("account", "integer", True), ("amount", "integer", True),
                  ("note", "text", True)}


def test_a_migration_past_the_baseline_runs_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, _sample_migration])
    Store(tmp_path / "books.db").close()
    assert _sqlite_columns(tmp_path / "books.db")["sample"] == SAMPLE_COLUMNS
    with sqlite3.connect(tmp_path / "books.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert db.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'sample' AND type = 'index'").fetchall() \
            == [("sample_account",)]


@needs_server
def test_a_migration_past_the_baseline_runs_on_postgresql(daemon, monkeypatch):
    daemon.stop()
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, _sample_migration])
    with _pg(daemon.database) as conn:
        migrations.apply_postgres(conn)
    assert _postgres_columns(daemon.database)["sample"] == SAMPLE_COLUMNS
    assert daemon.stored("SELECT version FROM schema_version") == [(len(MIGRATIONS) + 1,)]
    assert daemon.stored("SELECT indexname FROM pg_indexes WHERE tablename = 'sample' ORDER BY indexname") == [
        ("sample_account",), ("sample_pkey",)]
