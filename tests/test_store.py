"""The SQLite store: durable settings, migrations, and all-or-nothing transactions."""

import sqlite3

import pytest

from billmgr.store import Store, migrations


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


def test_the_list_cache_empties_on_any_commit(tmp_path):
    from billmgr.listcache import ListCache

    store = Store(tmp_path / "billmgr.db")
    cache = ListCache(tmp_path / "billmgr.db")
    try:
        kept, version = cache.get("k")
        assert kept is None
        cache.put("k", version, ("body", "text/xml"))
        assert cache.get("k")[0] == ("body", "text/xml")
        with sqlite3.connect(tmp_path / "billmgr.db") as outsider:    # not the daemon's own writer
            outsider.execute("INSERT INTO project (name) VALUES ('Outside')")
        assert cache.get("k")[0] is None
        _, version = cache.get("k")
        with store.transaction(write=True) as db:                      # a change while a reply was computed
            db.execute("INSERT INTO project (name) VALUES ('Meanwhile')")
        cache.put("k", version, ("stale", "text/xml"))
        assert cache.get("k")[0] is None
    finally:
        cache.close()
        store.close()
