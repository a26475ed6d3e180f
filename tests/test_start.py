"""Why billmgrd ends is never lost: ``billmgrd start`` prints why a daemon
died while starting, and the log holds it -- with the traceback when the
fault was not foreseen."""

import socket
import subprocess

from conftest import BILLMGRD, Daemon


def start(d):
    return subprocess.run([BILLMGRD, "start"], env=d.env, capture_output=True, text=True, timeout=60)


def test_an_http_listen_address_in_use_is_printed_and_logged(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        d = Daemon(tmp_path, settings=f"HttpListen 127.0.0.1:{port}\n")
        result = start(d)
    assert result.returncode == 1
    reason = f"HttpListen 127.0.0.1:{port}: Address already in use"
    assert result.stderr.startswith("Error: billmgrd exited at start: Error: cannot run: OSError: [Errno 98] "
                                    + reason), result.stderr
    log = d.log.read_text()
    assert f"ERROR billmgr.daemon: cannot run: [Errno 98] {reason}\nTraceback (most recent call last):" in log
    assert not d.socket.exists()


def test_a_database_path_that_cannot_be_written_is_printed_and_logged(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    d = Daemon(tmp_path, settings=f"path db {tmp_path / 'file' / 'billmgr.db'}\n")
    result = start(d)
    assert result.returncode == 1
    reason = f"[Errno 20] Not a directory: '{tmp_path / 'file' / 'billmgr.db'}'"
    assert result.stderr == f"Error: billmgrd exited at start: Error: cannot start: {reason}\n"
    assert f"ERROR billmgr.daemon: cannot start: {reason}\n" in d.log.read_text()


def test_an_unforeseen_fault_leaves_its_traceback_in_the_log(tmp_path):
    d = Daemon(tmp_path, settings=f"path pid {tmp_path / 'gone' / 'billmgrd.pid'}\n")
    result = start(d)
    assert result.returncode == 1
    assert "cannot run: FileNotFoundError: [Errno 2] No such file or directory" in result.stderr
    assert f"(the traceback is in {d.log})" in result.stderr
    log = d.log.read_text()
    assert "ERROR billmgr.daemon: cannot run: [Errno 2] No such file or directory" in log
    assert "Traceback (most recent call last):" in log and "files.py" in log
