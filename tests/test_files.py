"""Nobody but billmgr reads its database: the data directory is 0700 and the
database, its -wal and -shm, the log, the pid file and backups are 0600
(0640 in a directory open to billmgr's group, as packaged), whoever creates
them and whatever the umask."""

import os
import stat
import subprocess

import pytest
from conftest import BILLMGRD, Daemon

pytestmark = pytest.mark.sqlite   # the modes of the SQLite database file and its companions

LOOSE = 0o022      # a usual login shell's umask: files 0644, directories 0755


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def billmgrd(d, *args):
    return subprocess.run([BILLMGRD, *args], env=d.env, capture_output=True, text=True, timeout=60, umask=LOOSE)


def database_files(data):
    return {name: mode(data / name) for name in ("billmgr.db", "billmgr.db-wal", "billmgr.db-shm", "billmgr.log",
                                                 "billmgrd.pid") if (data / name).exists()}


@pytest.fixture
def fresh(tmp_path):
    """A daemon whose data directory does not exist yet: billmgr creates it."""
    d = Daemon(tmp_path)
    d.data = tmp_path / "data"
    d.conf.write_text(f"path data {d.data}\n")
    d.socket, d.db, d.log = d.data / "billmgr.sock", d.data / "billmgr.db", d.data / "billmgr.log"
    return d


def test_billmgrd_start_makes_everything_private(fresh):
    started = billmgrd(fresh, "start")
    assert started.returncode == 0, started.stderr
    try:
        assert fresh.new_account("private@example.com") > 0
        assert mode(fresh.data) == 0o700
        assert database_files(fresh.data) == {"billmgr.db": 0o600, "billmgr.db-wal": 0o600, "billmgr.db-shm": 0o600,
                                              "billmgr.log": 0o600, "billmgrd.pid": 0o600}
        backup = billmgrd(fresh, "backup", str(fresh.root / "copy.db"))
        assert backup.returncode == 0, backup.stderr
        assert mode(fresh.root / "copy.db") == 0o600
        assert billmgrd(fresh, "check").returncode == 0
    finally:
        assert billmgrd(fresh, "stop").returncode == 0
    restored = billmgrd(fresh, "restore", str(fresh.root / "copy.db"))
    assert restored.returncode == 0, restored.stderr
    assert mode(fresh.db) == 0o600 and mode(fresh.data / "billmgr.db.before-restore") == 0o600


def test_migrate_creates_a_private_database(fresh):
    migrated = billmgrd(fresh, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert mode(fresh.data) == 0o700 and mode(fresh.db) == 0o600


def test_a_directory_open_to_its_group_gives_group_readable_files(tmp_path):
    """A packaged install: /var/lib/billmgr 0750, group billmgr, for LocalAdmin users."""
    data = tmp_path / "lib"
    data.mkdir(mode=0o750)
    data.chmod(0o750)
    d = Daemon(tmp_path)
    d.conf.write_text(f"path data {data}\n")
    d.socket, d.db, d.log = data / "billmgr.sock", data / "billmgr.db", data / "billmgr.log"
    d.start(umask=0o027)
    try:
        d.new_account("group@example.com")
        assert mode(data) == 0o750
        assert database_files(data) == {"billmgr.db": 0o640, "billmgr.db-wal": 0o640, "billmgr.db-shm": 0o640,
                                        "billmgr.log": 0o640, "billmgrd.pid": 0o640}
    finally:
        assert d.stop() == 0


def test_a_start_in_a_directory_open_to_all_tightens_our_files_and_says_so(tmp_path):
    """What an older billmgr left: a 0755 data directory with a 0644 database and log."""
    data = tmp_path / "old"
    data.mkdir()
    data.chmod(0o755)
    d = Daemon(tmp_path)
    d.conf.write_text(f"path data {data}\n")
    d.socket, d.db, d.log = data / "billmgr.sock", data / "billmgr.db", data / "billmgr.log"
    d.start(umask=LOOSE)
    assert d.stop() == 0
    for name in ("billmgr.db", "billmgr.log"):
        (data / name).chmod(0o644)
    foreign = data / "billmgr.db.before-restore"
    foreign.write_text("not ours")
    foreign.chmod(0o644)
    os.chown(foreign, 65534, 65534)
    d.start(umask=LOOSE)
    try:
        assert mode(data / "billmgr.db") == 0o600 and mode(data / "billmgr.log") == 0o600
        assert mode(foreign) == 0o644      # not ours to change
        log = d.log.read_text()
        assert f"WARNING billmgr.daemon: {data / 'billmgr.db'} was mode 0644, open beyond billmgr; now 0600" in log
        assert f"{foreign} is mode 0644, open beyond billmgr, and not ours to change" in log
        assert f"WARNING billmgr.daemon: {data} is open to every local user (mode 0755)" in log
    finally:
        assert d.stop() == 0
