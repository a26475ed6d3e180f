"""billmgrd as a process: socket, signals, systemd, control commands, bad peers."""

import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from conftest import BILLMGRD, MGRCTL, Daemon

from billmgr import protocol

SLOW_PLUGIN = """
    <mgrdata>
      <metadata name="slow" type="form" level="admin"/>
      <handler name="slowplug" type="python"><func name="slow"/></handler>
    </mgrdata>
"""


def slow_daemon(tmp_path, **kwargs):
    """A daemon with a plugin function ``slow`` that takes ``seconds`` to answer."""
    (tmp_path / "slowplug.py").write_text(textwrap.dedent("""
        import time
        def slow(req):
            time.sleep(float(req.params.get("seconds", "1")))
            req.db.execute("INSERT INTO project (name) VALUES (?)", (req.params.get("mark", "slow"),))
    """))
    d = Daemon(tmp_path, env={"PYTHONPATH": str(tmp_path)}, **kwargs)
    d.plugin_xml.mkdir(parents=True)
    (d.plugin_xml / "billmgr_mod_slow.xml").write_text(textwrap.dedent(SLOW_PLUGIN))
    return d.start()


def raw_connection(daemon):
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(str(daemon.socket))
    return sock


def test_socket_is_private_from_the_start(daemon):
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o660


def test_fresh_data_directory_is_0700(tmp_path):
    d = Daemon(tmp_path)
    d.conf.write_text(f"path data {tmp_path / 'data'}\n")
    d.socket = tmp_path / "data" / "billmgr.sock"
    d.start()
    try:
        assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    finally:
        assert d.stop() == 0


def test_stale_socket_is_replaced(tmp_path):
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(tmp_path / "billmgr.sock"))
    stale.close()     # the path stays, nobody listens
    d = Daemon(tmp_path).start()
    assert d.mgrctl("-m", "billmgr", "whoami").returncode == 0
    assert d.stop() == 0
    assert not d.socket.exists()


def test_live_socket_is_never_stolen(daemon):
    second = subprocess.run([BILLMGRD, "run"], env=daemon.env, capture_output=True, text=True, timeout=30)
    assert second.returncode != 0 and "in use" in second.stderr
    assert daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0


def test_a_regular_file_in_the_way_is_not_deleted(tmp_path):
    (tmp_path / "billmgr.sock").write_text("precious")
    d = Daemon(tmp_path)
    result = subprocess.run([BILLMGRD, "run"], env=d.env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "not a socket" in result.stderr
    assert (tmp_path / "billmgr.sock").read_text() == "precious"


def test_sigterm_lets_the_request_in_flight_finish(tmp_path):
    d = slow_daemon(tmp_path)
    call = subprocess.Popen([MGRCTL, "-m", "billmgr", "slow", "seconds=1.5", "mark=finished", "sok=ok"],
                            env=d.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.7)
    d.process.send_signal(signal.SIGTERM)
    out, err = call.communicate(timeout=30)
    assert call.returncode == 0 and out.startswith("OK"), err
    assert d.process.wait(timeout=30) == 0
    assert d.stored("SELECT count(*) FROM project WHERE name = 'finished'") == [(1,)]


def test_sighup_with_a_broken_plugin_keeps_the_old_registry(tmp_path):
    d = slow_daemon(tmp_path)
    try:
        (d.plugin_xml / "billmgr_mod_broken.xml").write_text("<mgrdata>\n<metadata name='x'>\n</mgrdata>")
        d.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert d.mgrctl("-m", "billmgr", "slow", "seconds=0", "sok=ok").returncode == 0
        assert "reload failed" in d.log.read_text() and "billmgr_mod_broken.xml" in d.log.read_text()
        reload = d.mgrctl("-m", "billmgr", "-R")
        assert reload.returncode == 1 and "billmgr_mod_broken.xml:3" in reload.stderr
        (d.plugin_xml / "billmgr_mod_broken.xml").unlink()
        (d.plugin_xml / "billmgr_mod_slow.xml").unlink()
        assert d.mgrctl("-m", "billmgr", "-R").returncode == 0
        assert "func(slow)" in d.mgrctl("-m", "billmgr", "slow").stderr
    finally:
        assert d.stop() == 0


def test_reload_does_not_disturb_a_request_in_flight(tmp_path):
    d = slow_daemon(tmp_path)
    try:
        call = subprocess.Popen([MGRCTL, "-m", "billmgr", "slow", "seconds=1", "sok=ok"],
                                env=d.env, stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        (d.plugin_xml / "billmgr_mod_slow.xml").unlink()
        assert d.mgrctl("-m", "billmgr", "-R").returncode == 0
        assert call.communicate(timeout=30)[0].startswith("OK")
    finally:
        d.stop()


def test_systemd_notifications(tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(20)
    d = Daemon(tmp_path, env={"NOTIFY_SOCKET": str(tmp_path / "notify")}).start()
    assert listener.recv(4096).decode().startswith("READY=1")
    assert d.mgrctl("-m", "billmgr", "-R").returncode == 0
    assert [listener.recv(4096).decode() for _ in range(2)] == ["RELOADING=1", "READY=1"]
    assert d.stop() == 0
    assert listener.recv(4096).decode() == "STOPPING=1"


def test_socket_passed_by_systemd_is_adopted(tmp_path):
    path = tmp_path / "activated.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    d = Daemon(tmp_path)
    launcher = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.environ['LISTEN_PID'] = str(os.getpid()); "
                "os.environ['LISTEN_FDS'] = '1'; os.execv(sys.argv[2], sys.argv[2:])")
    d.process = subprocess.Popen([sys.executable, "-c", launcher, str(listener.fileno()), BILLMGRD, "run"],
                                 env=d.env, pass_fds=(listener.fileno(),), stderr=subprocess.PIPE)
    listener.close()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(5)
                probe.connect(str(path))
                protocol.write_frame(probe, {"op": "call", "params": [["func", "whoami"], ["out", "text"]]})
                reply = protocol.read_frame(probe)
            if reply:
                break
        assert reply["body"].startswith("name=")
        assert not d.socket.exists()
    finally:
        assert d.stop() == 0
    assert path.exists()   # systemd owns the activated socket; the daemon leaves it be


def call_as(uid, socket_path, params):
    """Send one call from a forked child that has switched to ``uid``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(socket_path)
                protocol.write_frame(sock, {"op": "call", "params": params})
                os.write(write_end, protocol.encode(protocol.read_frame(sock)))
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return protocol.parse_frame(data)[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to call as another system user")
def test_other_system_users_are_refused_unless_mapped(tmp_path):
    public = Path(tempfile.mkdtemp(prefix="billmgr-peer-", dir="/tmp"))
    try:
        for settings, allowed in (("", False), ("LocalAdmin nobody\n", True)):
            d = Daemon(tmp_path, settings=f"path socket {public / 'billmgr.sock'}\n{settings}")
            d.socket = public / "billmgr.sock"
            d.start()
            try:
                public.chmod(0o755)
                d.socket.chmod(0o666)
                reply = call_as(65534, str(d.socket), [["func", "whoami"], ["out", "text"]])
                if allowed:
                    assert reply["error"] is None and "name=nobody" in reply["body"]
                else:
                    assert reply["error"] == "auth" and "LocalAdmin" in reply["body"]
            finally:
                assert d.stop() == 0
    finally:
        shutil.rmtree(public)


def test_control_commands(tmp_path):
    d = Daemon(tmp_path)

    def run(*args):
        return subprocess.run([BILLMGRD, *args], env=d.env, capture_output=True, text=True, timeout=60)
    assert run("status").returncode == 3
    started = run("start")
    assert started.returncode == 0 and "started" in started.stdout
    assert run("start").returncode == 1
    status = run("status")
    fields = dict(line.split(": ", 1) for line in status.stdout.splitlines())
    assert status.returncode == 0 and int(fields["pid"]) > 0
    assert {"uptime", "rss", "threads", "connections", "database", "registry"} <= set(fields)
    assert "functions" in fields["registry"]
    assert run("reload").stdout.strip() == "reloaded"
    stopped = run("stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert run("stop").returncode == 1


def test_start_reports_a_bad_configuration_line(tmp_path):
    d = Daemon(tmp_path, settings="HttpListen nowhere\n")
    result = subprocess.run([BILLMGRD, "run"], env=d.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and f"{d.conf}:2" in result.stderr


class TestBadPeers:
    def test_garbage_gets_an_error_and_the_daemon_lives(self, shared_daemon):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            reply = protocol.read_frame(sock)
            assert reply["error"] == "protocol"
        assert shared_daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0

    def test_oversized_frame_is_refused_without_reading_it(self, shared_daemon):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(struct.pack("!2sBII", b"BM", 1, protocol.MAX_FRAME, 1))
            assert "exceeds" in protocol.read_frame(sock)["body"]

    def test_truncated_frame_then_close(self, shared_daemon):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(struct.pack("!2sBII", b"BM", 1, 100, 0) + b'{"op":')
        assert shared_daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0

    @pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b'{"op": "\\ud800'])
    def test_bodies_that_are_not_json_objects(self, shared_daemon, body):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(struct.pack("!2sBII", b"BM", 1, len(body), 0) + body)
            assert protocol.read_frame(sock)["error"] == "protocol"

    @pytest.mark.parametrize("body, field", [(b'{"op": "call", "params": "x"}', "params"),
                                             (b'{"op": "call", "params": [["func"]]}', "params"),
                                             (b'{"op": "dance"}', "op")])
    def test_malformed_fields_are_value_errors(self, shared_daemon, body, field):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(struct.pack("!2sBII", b"BM", 1, len(body), 0) + body)
            reply = protocol.read_frame(sock)
            assert reply["error"] == "value" and f'<error type="value" object="{field}"' in reply["body"]

    def test_wrong_version(self, shared_daemon):
        with raw_connection(shared_daemon) as sock:
            sock.sendall(struct.pack("!2sBII", b"BM", 9, 2, 0) + b"{}")
            assert "version" in protocol.read_frame(sock)["body"]

    def test_many_requests_on_one_connection(self, shared_daemon):
        with raw_connection(shared_daemon) as sock:
            for i in range(50):
                protocol.write_frame(sock, {"op": "call", "params": [["func", "whoami"], ["out", "json"]]})
                assert protocol.read_frame(sock)["error"] is None

    def test_client_that_disconnects_mid_request(self, tmp_path):
        d = slow_daemon(tmp_path)
        try:
            with raw_connection(d) as sock:
                protocol.write_frame(sock, {"op": "call", "params": [["func", "slow"], ["seconds", "0.5"],
                                                                     ["mark", "orphan"], ["sok", "ok"]]})
            time.sleep(1)
            assert d.mgrctl("-m", "billmgr", "whoami").returncode == 0
            # the request ran to its end and committed
            assert d.stored("SELECT count(*) FROM project WHERE name='orphan'") == [(1,)]
        finally:
            assert d.stop() == 0


@pytest.mark.sqlite
def test_a_file_that_is_not_a_database_is_reported(tmp_path):
    (tmp_path / "billmgr.db").write_bytes(b"this is not sqlite" * 100)
    d = Daemon(tmp_path)
    result = subprocess.run([BILLMGRD, "run"], env=d.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "cannot start" in result.stderr and "Traceback" not in result.stderr
