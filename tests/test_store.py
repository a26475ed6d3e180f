"""The SQLite store: durable settings, migrations, and all-or-nothing transactions."""

import sqlite3

import pytest

from billmgr.store import Store, migrations

pytestmark = pytest.mark.sqlite   # the SQLite store's own mechanics (WAL, its writer and readers, PRAGMAs, the file)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "billmgr.db")
    yield s
    s.close()


def test_settings_that_keep_money_safe(store):
    with store.transaction() as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2   # FULL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrations_run_once_and_keep_data(tmp_path):
    first = Store(tmp_path / "billmgr.db")
    assert first.schema_version() == len(migrations.MIGRATIONS)
    with first.transaction(write=True) as db:
        db.execute("INSERT INTO project (name) VALUES ('Second')")
    first.close()
    again = Store(tmp_path / "billmgr.db")
    with again.transaction() as db:
        assert [r[0] for r in db.execute("SELECT name FROM project ORDER BY id")] == ["Default provider", "Second"]
    again.close()


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "billmgr.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(migrations.MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_a_failing_request_rolls_back_everything(store):
    with pytest.raises(ZeroDivisionError):
        with store.transaction(write=True) as db:
            db.execute("INSERT INTO project (name) VALUES ('Half')")
            1 / 0
    with store.transaction() as db:
        assert db.execute("SELECT count(*) FROM project WHERE name = 'Half'").fetchone()[0] == 0


def test_readers_cannot_write(store):
    with pytest.raises(sqlite3.OperationalError, match="readonly|query_only|attempt to write"):
        with store.transaction() as db:
            db.execute("INSERT INTO project (name) VALUES ('Sneaky')")


def test_the_list_cache_keeps_a_reply_until_a_table_it_read_changes(store, tmp_path):
    from billmgr.listcache import ListCache

    cache = ListCache(store)

    def cached(body="body"):
        tick, statements = cache.start(), []
        with store.transaction(statements=statements) as db:
            db.execute("SELECT name FROM project WHERE id = ?", (1,)).fetchone()
        reads = store.tables_read(statements)
        assert reads == {"project"}
        cache.put("k", tick, reads, body, "text/xml")
        return cache.get("k")

    assert cached() == ("body", "text/xml")
    with store.transaction(write=True) as db:                          # a table the reply did not read
        db.execute("INSERT INTO outbox (created, kind, payload) VALUES ('now', 'mail', '{}')")
    assert cache.get("k") == ("body", "text/xml")
    with store.transaction(write=True) as db:                          # one it read
        db.execute("UPDATE project SET name = 'Renamed' WHERE id = 1")
    assert cache.get("k") is None

    assert cached() == ("body", "text/xml")
    with sqlite3.connect(tmp_path / "billmgr.db") as outsider:         # not the daemon's own writer
        outsider.execute("INSERT INTO outbox (created, kind, payload) VALUES ('now', 'mail', '{}')")
    assert cache.get("k") is None                                      # an outside commit changes everything

    tick = cache.start()
    with store.transaction(write=True) as db:                          # a change while a reply was computed
        db.execute("INSERT INTO project (name) VALUES ('Meanwhile')")
    cache.put("k", tick, {"project"}, "stale", "text/xml")
    assert cache.get("k") is None


def test_a_commit_names_the_tables_its_triggers_and_cascades_wrote(store):
    with store.transaction(write=True) as db:
        db.execute("INSERT INTO account (name, email, project, registration_date) VALUES ('A', 'a@x', 1, 'now')")
        db.execute("INSERT INTO account_project (account, project) VALUES (1, 1)")
    tick = store.changes.tick
    with store.transaction(write=True) as db:
        db.execute("DELETE FROM account WHERE id = 1")
    assert store.changes.since({"account_project"}, tick)           # ON DELETE CASCADE
    assert store.changes.since({"account_name_search"}, tick)       # the substring index's trigger
    assert not store.changes.since({"outbox", "project"}, tick)


def test_the_list_cache_is_bounded_in_bytes(store):
    from billmgr.listcache import ListCache

    cache = ListCache(store, max_bytes=10_000, max_entry=4_000)
    for n in range(10):
        cache.put(n, cache.start(), {"project"}, str(n) * 3_000, "text/xml")
    kept = [n for n in range(10) if cache.get(n)]
    assert kept == [7, 8, 9]                    # the least recently used went first
    cache.put("big", cache.start(), {"project"}, "x" * 5_000, "text/xml")
    assert cache.get("big") is None             # too big to keep at all


def test_finished_tasks_are_removed_after_the_retention_period(tmp_path):
    from datetime import datetime, timedelta

    from conftest import Daemon, eventually

    d = Daemon(tmp_path, "OutboxRetention 7\n")
    Store(d.db).close()

    def ago(days):
        return (datetime.now() - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")

    with sqlite3.connect(d.db) as db:
        db.executemany("INSERT INTO outbox (created, kind, payload, state, done, next_try) "
                       "VALUES (?, 'mail', '{}', ?, ?, '9999')",       # the pending one is not due yet
                       [(ago(30), "done", ago(30)), (ago(9), "failed", ago(8)), (ago(2), "done", ago(1)),
                        (ago(30), "pending", "")])
    d.start()
    try:
        eventually(lambda: d.call("outbox", out="sjson")["p_elems"]["$"] == "2",
                   what="old finished tasks were not removed")
        states = {e["state"]["$orig"] for e in d.call("outbox", out="sjson")["elem"]}
        assert states == {"done", "pending"}
    finally:
        d.stop()
