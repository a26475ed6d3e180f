"""Durability and uniqueness under stress: writes acknowledged before a
``kill -9`` are all there after a restart, and of eight callers creating the
same unique key at once exactly one wins."""

import json
import os
import signal
import subprocess
import threading

import pytest
from conftest import BILLMGRD, Daemon
from reliability import Wire

WRITERS = 4
ROUNDS = 3
ACKS_BEFORE_KILL = 40     # acknowledged writes per round before the daemon is killed


class Writer(threading.Thread):
    """Creates clients and edits their notes over its own connection until
    the daemon goes away, remembering each write the daemon acknowledged."""

    def __init__(self, daemon, name, acked, progress):
        super().__init__(daemon=True)
        self.socket, self.name, self.acked, self.progress = daemon.socket, name, acked, progress
        self.refused = None     # a reply that was an error: none may be

    def write(self, wire, *pairs):
        reply = wire.call([*pairs, ("sok", "ok"), ("out", "JSONdata")])
        if reply is None:
            raise ConnectionError("the daemon closed the connection")
        if reply["error"] is not None:
            raise ValueError(reply)
        self.progress.release()
        return json.loads(reply["body"])

    def run(self):
        try:
            with Wire(self.socket, timeout=30) as wire:
                for n in range(10 ** 9):
                    email = f"{self.name}-{n}@example.com"
                    account = int(self.write(wire, ("func", "account.edit"), ("email", email))["id"])
                    self.acked[account] = (email, 0)
                    for note in range(1, 4):
                        self.write(wire, ("func", "account.edit"), ("elid", str(account)), ("note", str(note)))
                        self.acked[account] = (email, note)
        except (OSError, ConnectionError):
            pass      # killed: the write in flight may or may not have landed
        except ValueError as exc:
            self.refused = exc.args[0]
            self.progress.release(ACKS_BEFORE_KILL)    # wake the test, which reports it


def kill_9_rounds(daemon, after_restart):
    """ROUNDS times: writers busy, ``kill -9``, restart, then ``after_restart(acked)``."""
    acked = {}       # account id -> (email, last note acknowledged); written by one writer each
    for round_ in range(ROUNDS):
        progress = threading.Semaphore(0)
        writers = [Writer(daemon, f"r{round_}w{i}", acked, progress) for i in range(WRITERS)]
        for writer in writers:
            writer.start()
        for _ in range(ACKS_BEFORE_KILL):
            assert progress.acquire(timeout=30), "the writers stalled"
        os.kill(daemon.process.pid, signal.SIGKILL)     # while the writers are still sending
        daemon.process.wait()
        for writer in writers:
            writer.join(timeout=30)
            assert not writer.is_alive() and writer.refused is None, writer.refused
        daemon.start()
        after_restart(acked)
    assert len(acked) >= ROUNDS * ACKS_BEFORE_KILL // 4


def test_acknowledged_writes_survive_kill_9(tmp_path):
    daemon = Daemon(tmp_path).start()

    def all_there(acked):
        found = dict(((i, (e, n)) for i, e, n in daemon.stored("SELECT id, email, note FROM account")))
        for account, (email, note) in acked.items():
            assert account in found, f"acknowledged client {account} ({email}) lost"
            assert found[account][0] == email
            # the edit in flight at the kill may have landed without its acknowledgement
            assert found[account][1] in (str(note) if note else "", str(note + 1)), (account, found[account])
        assert not daemon.stored("SELECT a.id FROM account a LEFT JOIN user u ON u.account = a.id "
                                 "WHERE u.id IS NULL"), "a client without its login: half a write survived"
    try:
        kill_9_rounds(daemon, all_there)
    finally:
        daemon.stop()


@pytest.mark.sqlite
def test_the_sqlite_file_passes_its_checks_after_kill_9(tmp_path):
    """About the SQLite file: billmgrd check opens the file itself (on PostgreSQL its own tools do)."""
    daemon = Daemon(tmp_path).start()

    def checked(acked):
        check = subprocess.run([BILLMGRD, "check"], env=daemon.env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
    try:
        kill_9_rounds(daemon, checked)
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("race")).start()
    yield d
    d.stop()


def race(daemon, calls):
    """Send each call on its own connection, all released at the same instant; the replies' error types."""
    start = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def caller(i):
        with Wire(daemon.socket, timeout=60) as wire:
            start.wait()
            reply = wire.call([*calls[i], ("sok", "ok"), ("out", "JSONdata")])
        outcomes[i] = "closed" if reply is None else reply["error"] or "ok"

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def assert_one_winner(outcomes):
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) <= {"ok", "exists", "busy"}, outcomes      # busy: the typed "try again"


@pytest.mark.parametrize("attempt", range(4))
def test_eight_creating_one_email_at_once_make_one_client(panel, attempt):
    email = f"race{attempt}@example.com"
    spellings = [email, email.upper(), email.capitalize(), email.replace("@example", "@EXAMPLE")] * 2
    assert_one_winner(race(panel, [[("func", "account.edit"), ("email", e)] for e in spellings]))
    assert panel.stored("SELECT count(*) FROM account WHERE lower(email) = lower(?)", email) == [(1,)]
    assert panel.stored("SELECT count(*) FROM user WHERE lower(name) = lower(?)", email) == [(1,)]


def test_eight_ways_to_take_one_login_at_once_make_one(panel):
    """A client created by the admin, a self-registration and an employee all claim the same login name."""
    login, password = "contested@example.com", "Contested-pass-1"
    calls = [[("func", "account.edit"), ("email", login)],
             [("func", "register"), ("email", login), ("passwd", password), ("confirm", password)],
             [("func", "employee.edit"), ("name", login), ("passwd", password), ("confirm", password)]]
    assert_one_winner(race(panel, [calls[i % 3] for i in range(8)]))
    assert panel.stored("SELECT count(*) FROM user WHERE lower(name) = lower(?)", login) == [(1,)]
    assert panel.stored("SELECT count(*) FROM account WHERE lower(email) = lower(?)", login)[0][0] <= 1
