"""A write that gets no turn at the database is a ``busy`` error the caller
may retry -- with nothing changed -- whether another process holds SQLite's
write lock or another request holds the daemon's writer."""

import sqlite3
import textwrap
import time

import pytest
from conftest import Daemon, eventually
from test_plugins import mgr, plugged

pytestmark = pytest.mark.sqlite   # SQLite's one write lock and the daemon's one writer

BUSY = "ERROR busy(database): The panel is busy with other changes; nothing was changed, try again"


@pytest.fixture
def d(tmp_path):
    d = Daemon(tmp_path, settings="WriterWait 1\n", env={"PYTHONPATH": str(tmp_path)}).start()
    yield d
    d.stop()


def accounts(d):
    with sqlite3.connect(d.db) as db:
        return [email for (email,) in db.execute("SELECT email FROM account ORDER BY id")]


def test_a_write_lock_held_by_another_process_is_busy_then_the_retry_works(d):
    holder = sqlite3.connect(d.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        refused = mgr(d, "account.edit", "email=later@example.com", "sok=ok")
        assert refused.returncode == 1
        assert refused.stderr == BUSY + "\n"
        assert time.monotonic() - started < 5
        russian = mgr(d, "account.edit", "email=later@example.com", "sok=ok", "lang=ru")
        assert "Панель занята другими изменениями" in russian.stderr
        assert mgr(d, "account").returncode == 0          # reads go on meanwhile
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert mgr(d, "account.edit", "email=later@example.com", "sok=ok").returncode == 0
    assert accounts(d) == ["later@example.com"]
    log = d.log.read_text()
    assert "WARNING billmgr.request: root account.edit" in log and "-> busy" in log and "Traceback" not in log


def test_a_daemon_started_while_another_process_writes_comes_up_and_catches_up(d):
    """Once the schema is in place, a start needs no write: the task worker recovers when it gets its turn."""
    d.stop()
    holder = sqlite3.connect(d.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        d.start()
        assert mgr(d, "account").returncode == 0
        assert d.process.poll() is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert mgr(d, "account.edit", "email=after@example.com", "sok=ok").returncode == 0
    assert accounts(d) == ["after@example.com"]
    assert "cannot run" not in d.log.read_text()


def test_a_task_left_half_sent_by_a_stopped_daemon_is_tried_again(d):
    d.stop()
    with sqlite3.connect(d.db) as db:
        db.execute("INSERT INTO outbox (created, kind, payload, state, attempts, next_try) VALUES "
                   "('2026-01-01 00:00:00', 'mail', '{\"to\": \"a@example.com\", \"subject\": \"s\", "
                   "\"body\": \"b\"}', 'sending', 0, '2026-01-01 00:00:00')")
    d.start()

    def tried():
        with sqlite3.connect(d.db) as db:
            return db.execute("SELECT state, last_error FROM outbox WHERE attempts = 1").fetchone()
    assert eventually(tried) == ("pending", "no SmtpServer is configured")


HOLDER = """
    import subprocess
    import sys
    from pathlib import Path

    from billmgr.doc import Doc

    MGRCTL = str(Path(sys.executable).parent / "mgrctl")

    def hold_write(req):
        req.db.execute("INSERT INTO project (name) VALUES ('held')")
        inner = subprocess.run([MGRCTL, "-m", "billmgr", "account.edit", "email=inner@example.com", "sok=ok"],
                               capture_output=True, text=True)
        return Doc.success(inner=inner.stderr.strip())
"""


def test_a_request_waiting_for_the_daemons_writer_is_busy(d):
    """A python handler holding the writer while it writes through mgrctl: the inner write gives up."""
    (d.root / "holdplugin.py").write_text(textwrap.dedent(HOLDER))
    plugged(d, "hold", """
        <mgrdata>
          <metadata name="hold.write" type="action" level="admin"/>
          <handler name="holdplugin" type="python"><func name="hold.write"/></handler>
        </mgrdata>""")
    result = mgr(d, "-o", "text", "hold.write")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"OK\ninner={BUSY}\n"
    assert accounts(d) == []
    with sqlite3.connect(d.db) as db:
        assert db.execute("SELECT count(*) FROM project WHERE name = 'held'").fetchone()[0] == 1
