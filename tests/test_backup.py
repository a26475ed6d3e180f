"""billmgrd backup | restore | check | migrate, run as an operator runs them."""

import fcntl
import os
import pty
import socket
import sqlite3
import struct
import subprocess
import termios
import threading

import pytest
from conftest import BILLMGRD, Daemon

from billmgr import protocol
from billmgr.store import Store, migrations
from billmgr.store.checks import BOOKS, SQLITE_FILE

pytestmark = pytest.mark.sqlite   # billmgrd backup/restore of the SQLite file

SEEDED = 40_000


def billmgrd(daemon, *args):
    return subprocess.run([BILLMGRD, *args], env=daemon.env, capture_output=True, text=True, timeout=120)


def daemon_in(path):
    path.mkdir(parents=True, exist_ok=True)
    return Daemon(path)


def seed(daemon, count=SEEDED):
    """A database with ``count`` accounts, written before the daemon starts (fast)."""
    Store(daemon.db).close()
    with sqlite3.connect(daemon.db) as db:
        db.executemany("INSERT INTO account (name, email, project, registration_date) VALUES (?, ?, 1, ?)",
                       ((f"Client {i}", f"c{i}@example.com", "2026-01-01 00:00:00") for i in range(count)))
    return daemon


def accounts(path):
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM account").fetchone()[0]


class Writer(threading.Thread):
    """Creates accounts through the daemon, one request after another, until stopped."""

    def __init__(self, socket_path):
        super().__init__(daemon=True)
        self.socket_path = str(socket_path)
        self.done = 0
        self.halt = threading.Event()

    def run(self):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(self.socket_path)
            while not self.halt.is_set():
                protocol.write_frame(sock, {"op": "call", "params": [
                    ["func", "account.edit"], ["email", f"load{self.done}@example.com"], ["sok", "ok"]]})
                assert protocol.read_frame(sock)["error"] is None
                self.done += 1

    def wait_for(self, count):
        while self.done < count:
            assert self.is_alive()
            self.halt.wait(0.01)


def test_backup_under_write_load_restores_to_a_database_that_passes_check(tmp_path):
    live = seed(daemon_in(tmp_path / "live")).start()
    writer = Writer(live.socket)
    writer.start()
    try:
        writer.wait_for(20)
        before = writer.done
        result = billmgrd(live, "backup", str(tmp_path / "backup.db"))
        after = writer.done
        writer.wait_for(after + 20)     # the daemon went on serving writes
    finally:
        writer.halt.set()
        writer.join(timeout=30)
        assert live.stop() == 0
    assert result.returncode == 0 and "backed up" in result.stdout, result.stderr
    assert result.stderr == ""          # no progress bar when not on a terminal
    copied = accounts(tmp_path / "backup.db")
    assert after > before and SEEDED + before <= copied <= SEEDED + after + 1   # one snapshot in between
    assert accounts(live.db) > copied

    restored = daemon_in(tmp_path / "restored")
    result = billmgrd(restored, "restore", str(tmp_path / "backup.db"))
    assert result.returncode == 0 and "restored" in result.stdout, result.stderr
    check = billmgrd(restored, "check")
    assert check.returncode == 0, check.stdout
    assert check.stdout.splitlines() == [f"{name}: ok" for name, _ in SQLITE_FILE + BOOKS]
    restored.start()
    try:
        assert restored.call("account", "p_cnt=1")["p_elems"]["$"] == str(copied)
    finally:
        assert restored.stop() == 0


def test_restore_keeps_the_previous_database_and_hands_it_to_the_owner(tmp_path):
    d = seed(daemon_in(tmp_path / "d"), count=3)
    assert billmgrd(d, "backup", str(tmp_path / "three.db")).returncode == 0
    with sqlite3.connect(d.db) as db:
        db.execute("DELETE FROM account")
    result = billmgrd(d, "restore", str(tmp_path / "three.db"))
    assert result.returncode == 0 and "billmgr.db.before-restore" in result.stdout
    assert accounts(d.db) == 3 and accounts(f"{d.db}.before-restore") == 0
    assert os.stat(d.db).st_uid == os.stat(d.root).st_uid
    assert not os.path.exists(f"{d.db}.restore")


def test_restore_and_migrate_refuse_while_the_daemon_runs(daemon, tmp_path):
    assert billmgrd(daemon, "backup", str(tmp_path / "copy.db")).returncode == 0
    for command in (["restore", str(tmp_path / "copy.db")], ["migrate"]):
        result = billmgrd(daemon, *command)
        assert result.returncode == 1 and "billmgrd is running" in result.stderr
        assert "Traceback" not in result.stderr
    assert daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0


def damaged(path):
    path.write_bytes(path.read_bytes()[:4096 * 3] + b"\x07" * 4096 * 4 + path.read_bytes()[4096 * 7:])


def newer(path):
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(migrations.MIGRATIONS) + 1}")


def empty(path):
    path.unlink()
    sqlite3.connect(path).close()


@pytest.mark.parametrize("spoil, message", [
    (damaged, "the database is unchanged"),
    (newer, "upgrade billmgr first"),
    (empty, "not a billmgr database"),
    (lambda path: path.write_bytes(b"not sqlite at all" * 300), "not a usable database"),
])
def test_restore_refuses_a_bad_backup(tmp_path, spoil, message):
    d = seed(daemon_in(tmp_path / "d"), count=2000)
    backup = tmp_path / "backup.db"
    assert billmgrd(d, "backup", str(backup)).returncode == 0
    spoil(backup)
    result = billmgrd(d, "restore", str(backup))
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and accounts(d.db) == 2000


def test_check_names_each_problem(tmp_path):
    d = Daemon(tmp_path)
    assert billmgrd(d, "migrate").returncode == 0
    with sqlite3.connect(d.db) as db:
        db.execute("INSERT INTO account (id, name, email, project, registration_date) "
                   "VALUES (7, 'Orphan', 'o@example.com', 99, '2026-01-01')")
        db.execute("PRAGMA user_version = 0")
    result = billmgrd(d, "check")
    assert result.returncode == 1
    assert "foreign keys: 1 problem(s)\n  account row 7 refers to a missing project\n" in result.stdout
    assert "schema version: 1 problem(s)" in result.stdout and "integrity: ok" in result.stdout


def test_migrate_creates_or_upgrades_and_reports(tmp_path):
    d = Daemon(tmp_path)
    first = billmgrd(d, "migrate")
    current = len(migrations.MIGRATIONS)
    assert first.returncode == 0 and first.stdout.strip() == f"schema version {current} (migrated from 0)"
    assert oct(os.stat(tmp_path).st_mode & 0o777) in ("0o750", oct(tmp_path.stat().st_mode & 0o777))
    again = billmgrd(d, "migrate")
    assert again.stdout.strip() == f"schema version {current}, up to date"


def on_a_terminal(daemon, *args):
    """Run billmgrd with stderr on a pseudo-terminal; returns (exit status, what the terminal showed)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("4H", 24, 100, 0, 0))   # a real terminal has a size
    process = subprocess.Popen([BILLMGRD, *args], env=daemon.env, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:        # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return process.wait(timeout=60), shown.decode(errors="replace")


def test_progress_shows_on_a_terminal(tmp_path):
    d = seed(Daemon(tmp_path))
    status, shown = on_a_terminal(d, "backup", str(tmp_path / "copy.db"))
    assert status == 0 and "backup" in shown and "page" in shown and "100%" in shown
    status, shown = on_a_terminal(d, "check")
    assert status == 0 and "check" in shown
