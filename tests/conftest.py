"""Fixtures that drive the real thing: a billmgrd process on a temporary
socket and data directory, and the real mgrctl executable.

With ``BILLMGR_TEST_PG`` set to the libpq connection string of a PostgreSQL
server where the tests may create databases, every daemon keeps its books
in a database of its own there instead of a SQLite file; tests about the
SQLite file itself are marked ``sqlite`` and left to the SQLite run.
"""

import atexit
import functools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import reliability

PG = os.environ.get("BILLMGR_TEST_PG")

BIN = Path(sys.executable).parent
MGRCTL = shutil.which("mgrctl", path=str(BIN)) or str(Path(__file__).parents[1] / "bin" / "mgrctl")
BILLMGRD = shutil.which("billmgrd", path=str(BIN)) or str(Path(__file__).parents[1] / "bin" / "billmgrd")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite: about the SQLite file itself, run only on the SQLite store")


def pytest_collection_modifyitems(items):
    if PG:
        for item in items:
            if item.get_closest_marker("sqlite"):
                item.add_marker(pytest.mark.skip(reason="about the SQLite store; this run is on PostgreSQL"))


def _pg(dbname="postgres"):
    import psycopg

    from billmgr.store import postgres
    return postgres.connect(psycopg.conninfo.make_conninfo(PG, dbname=dbname))


@functools.cache
def _pg_template():
    """A database at the newest schema that each daemon's database is copied from (one per test process)."""
    from billmgr.store import migrations

    name = f"billmgr_template_{os.getpid()}"
    with _pg() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with _pg(name) as conn:
        migrations.apply_postgres(conn)
    atexit.register(_pg_drop, name)
    return name


def _pg_drop(name):
    with _pg() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_PG_CREATED = set()     # the databases this test process made, by name


def _pg_settings(name):
    import psycopg

    given = psycopg.conninfo.conninfo_to_dict(PG)
    settings = {"DBHost": given.get("host"), "DBPort": given.get("port"), "DBUser": given.get("user"),
                "DBPassword": given.get("password"), "DBName": name}
    return "".join(f"{key} {value}\n" for key, value in settings.items() if value)


class Daemon:
    """A running billmgrd with its own configuration, and ways to call it."""

    def __init__(self, root, settings="", env=None, database=None):
        """``database``: the PostgreSQL database of another daemon, to share its books (as a second host)."""
        self.root = Path(root)
        self.conf = self.root / "billmgr.conf"
        self.database = database
        if PG:
            # one database a root, as the SQLite file is: a daemon started again on it finds its books
            self.database = database or f"billmgr_test_{os.getpid()}_{abs(hash(str(self.root))):x}"
            if self.database not in _PG_CREATED:
                with _pg() as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
                    conn.execute(f"CREATE DATABASE {self.database} TEMPLATE {_pg_template()}")
                _PG_CREATED.add(self.database)
                atexit.register(_pg_drop, self.database)
            settings = "".join(f"{line}\n" for line in settings.splitlines()) + _pg_settings(self.database)
        if "NightlyTime" not in settings:    # tests that want the nightly run say when
            settings = f"{settings.rstrip(chr(10))}\nNightlyTime off\n"
        self.conf.write_text(f"path data {self.root}\n{settings}")
        self.socket = self.root / "billmgr.sock"
        self.db = self.root / "billmgr.db"
        self.log = self.root / "billmgr.log"
        self.plugin_xml = self.root / "etc" / "xml"
        self.env = dict(os.environ, BILLMGR_CONF=str(self.conf), **(env or {}))
        self.process = None

    def start(self, wait=True, **popen):
        self.process = subprocess.Popen([BILLMGRD, "run"], env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, **popen)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"billmgrd exited: {self.process.stderr.read().decode()}")
            if self.socket.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as probe:
                        probe.connect(str(self.socket))
                    return
                except OSError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("billmgrd did not become ready")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=60)
        return self.process.returncode if self.process else None

    def mgrctl(self, *args, input=None, env=None, **kwargs):
        """Run the real mgrctl executable; returns the CompletedProcess."""
        return subprocess.run([MGRCTL, *args], env={**self.env, **(env or {})}, input=input,
                              capture_output=True, text=True, timeout=60, **kwargs)

    def call(self, func, *params, out="json"):
        """Call through mgrctl and parse the JSON reply."""
        result = self.mgrctl("-m", "billmgr", "-o", out, func, *params)
        return json.loads(result.stdout)["doc"] if out in ("json", "sjson") else json.loads(result.stdout)

    def run(self, func, *params):
        """``mgrctl -m billmgr FUNC params...`` (text output): the CompletedProcess."""
        return self.mgrctl("-m", "billmgr", func, *params)

    def rows(self, func, *params):
        """A list's rows as dicts of plain values."""
        return self.call(func, *params, out="JSONdata").get("elem", [])

    def form(self, func, *params):
        """A form's fields as a dict of their values."""
        return {k: v["$"] for k, v in self.call(func, *params).items() if isinstance(v, dict) and "$" in v}

    def create(self, func, *params):
        """Submit a form that creates something; the new object's id."""
        result = self.run(func, *params, "sok=ok")
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split("id=")[1].split()[0])

    def ok(self, func, *params):
        """A call that must succeed: the fields its text reply shows after OK, as a dict."""
        result = self.run(func, *params)
        assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout + result.stderr
        return dict(line.split("=", 1) for line in result.stdout.splitlines()[1:] if "=" in line)

    def error(self, func, *params, lang="en"):
        """A call that must fail: (its error type, its message in ``lang``)."""
        doc = self.call(func, *params, f"lang={lang}")
        return doc["error"]["$type"], doc["error"]["msg"]["$"]

    def stored(self, sql, *args):
        """Rows of a query on the daemon's database, read (or written) beside it."""
        if self.database:
            from billmgr.store.postgres import Connection

            with _pg(self.database) as conn:
                cursor = Connection(conn).execute(sql, args)
                return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, args).fetchall()

    def new_account(self, email, *params):
        return self.create("account.edit", f"email={email}", *params)

    def new_client(self, email):
        """A new client with a subaccount at its provider: (account id, subaccount id)."""
        account = self.new_account(email)
        return account, self.create("subaccount.edit", f"plid={account}")


def eventually(check, timeout=20, what="the daemon did not get there in time"):
    """The first truthy result of ``check()`` within ``timeout`` seconds: for what the daemon does
    apart from the call that caused it (the task worker, a transaction ending)."""
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert result, what
    return result


@pytest.fixture
def daemon(tmp_path):
    """A fresh daemon for one test."""
    d = Daemon(tmp_path).start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def shared_daemon(tmp_path_factory):
    """One daemon for a module whose tests do not disturb each other."""
    d = Daemon(tmp_path_factory.mktemp("billmgr")).start()
    yield d
    d.stop()


def pytest_terminal_summary(terminalreporter):
    """The reliability suite's call counts, for the record (see tests/reliability.py)."""
    reliability.summarize(terminalreporter)
