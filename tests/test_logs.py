"""The log file: a line per request with secrets masked, levels, reopening for logrotate."""

import logging
import os
import re
import signal
import stat
import time

from conftest import Daemon

from billmgr import logs

REQUEST_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) billmgr\.request: "
                          r"(?P<caller>\S+) (?P<func>\S+)(?P<params>.*) -> (?P<result>\S+) \d+\.\dms")


def request_lines(path):
    return [m.groupdict() for m in map(REQUEST_LINE.fullmatch, path.read_text().splitlines()) if m]


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_line_per_request_with_secrets_masked(daemon):
    assert daemon.mgrctl("-m", "billmgr", "whoami", "passwd=hunter2", "note=two words\nINFO forged").returncode == 0
    assert daemon.mgrctl("-m", "billmgr", "no.such.func", "authinfo=admin:s3cret").returncode == 1
    text = daemon.log.read_text()
    assert "hunter2" not in text and "s3cret" not in text and "\nINFO forged" not in text
    ok, refused = request_lines(daemon.log)[-2:]
    assert ok == {"level": "INFO", "caller": "root", "func": "whoami",
                  "params": ' passwd=*** note="two words\\nINFO forged" out=text', "result": "ok"}
    assert refused["func"] == "no.such.func" and refused["result"] == "func"
    assert refused["params"] == " authinfo=*** out=text"
    assert stat.S_IMODE(os.stat(daemon.log).st_mode) == 0o600    # as private as its 0700 directory


def test_long_values_are_cut_and_failures_stand_out(caplog):
    caplog.set_level(logging.INFO, logger="billmgr.request")
    logs.request("root", "account.edit", [("note", "x" * 10_000)], "ok", 0.001)
    logs.request("-", "whoami", [], "auth", 0.001)
    logs.request("root", "crash", [], "internal", 0.001)
    cut, auth, internal = caplog.records
    assert len(cut.getMessage()) < 300 and "(10000 chars)" in cut.getMessage()
    assert (cut.levelname, auth.levelname, internal.levelname) == ("INFO", "WARNING", "ERROR")


def test_levels_follow_the_result_and_the_configuration(tmp_path):
    d = Daemon(tmp_path, settings="LogLevel warning\n").start()
    try:
        d.mgrctl("-m", "billmgr", "whoami")
        assert request_lines(d.log) == []
        d.conf.write_text(d.conf.read_text().replace("LogLevel warning", "LogLevel info"))
        assert d.mgrctl("-m", "billmgr", "-R").returncode == 0
        d.mgrctl("-m", "billmgr", "whoami")
        assert [line["func"] for line in request_lines(d.log)] == ["whoami"]
    finally:
        assert d.stop() == 0


def test_sigusr1_reopens_the_log_after_rotation(daemon):
    daemon.mgrctl("-m", "billmgr", "whoami", "mark=before")
    rotated = daemon.log.with_name("billmgr.log.1")
    daemon.log.rename(rotated)
    daemon.process.send_signal(signal.SIGUSR1)
    wait_for(daemon.log.exists)
    daemon.mgrctl("-m", "billmgr", "whoami", "mark=after")
    assert [line["params"] for line in request_lines(daemon.log)] == [" mark=after out=text"]
    assert [line["params"] for line in request_lines(rotated)] == [" mark=before out=text"]


def test_a_line_per_job(daemon):
    """The task worker logs each delivery attempt; with no SmtpServer, mail fails and says why."""
    daemon.new_account("jobs@example.com", "notify=on")
    wait_for(lambda: "billmgr.job" in daemon.log.read_text())
    line = next(line for line in daemon.log.read_text().splitlines() if "billmgr.job" in line)
    assert re.fullmatch(r"\S+ \S+ WARNING billmgr\.job: task\.mail \d+ -> failed \"no SmtpServer is configured\" "
                        r"\d+\.\dms", line), line


def test_job_lines_are_quoted_like_request_lines(caplog):
    caplog.set_level(logging.INFO, logger="billmgr.job")
    logs.job("task.sms", 12, None, 0.002)
    logs.job("task.mail", 13, "refused\nINFO forged", 0.002)
    done, failed = caplog.records
    assert (done.levelname, done.getMessage()) == ("INFO", "task.sms 12 -> ok 2.0ms")
    assert failed.levelname == "WARNING"
    assert failed.getMessage() == 'task.mail 13 -> failed "refused\\nINFO forged" 2.0ms'
