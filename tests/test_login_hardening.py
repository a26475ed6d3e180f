"""Logins that tell nothing: refusals cost the same hash work whether or not a
login exists, and failed logins lock a login only at the address they came from."""

import hashlib
import json

import pytest
from test_http import Web

from billmgr import errors
from billmgr.auth import Authenticator
from billmgr.clock import Clock
from billmgr.passwords import hash_password
from billmgr.store import Store

PASSWORD = "Staff-pass1"


@pytest.fixture
def behind_proxy(tmp_path):
    d = Web(tmp_path, settings="TrustedProxy 127.0.0.1\n").start()
    assert d.mgrctl("-m", "billmgr", "employee.edit", "name=admin", f"passwd={PASSWORD}", f"confirm={PASSWORD}",
                    "sok=ok").returncode == 0
    yield d
    d.stop()


def login_from(d, address, username, password):
    _, body = d.request(f"/billmgr?func=auth&username={username}&password={password}&out=json",
                        headers={"X-Forwarded-For": address})
    return json.loads(body)["doc"]


def test_a_strangers_failures_lock_the_login_only_at_the_strangers_address(behind_proxy):
    for _ in range(5):
        assert login_from(behind_proxy, "203.0.113.66", "admin", "guess")["error"]["$object"] == "login"
    locked = login_from(behind_proxy, "203.0.113.66", "admin", PASSWORD)["error"]["msg"]["$"]
    assert locked.startswith("Too many failed logins")
    assert login_from(behind_proxy, "198.51.100.10", "admin", PASSWORD)["auth"]["$level"] == "admin"
    whoami = behind_proxy.mgrctl("-m", "billmgr", "whoami", f"authinfo=admin:{PASSWORD}")   # from "local"
    assert whoami.returncode == 0 and "name=admin" in whoami.stdout
    assert behind_proxy.mgrctl("-m", "billmgr", "whoami").stdout.startswith("name=root")   # never throttled


def test_many_failures_from_one_address_lock_that_address_for_every_login(behind_proxy):
    for n in range(20):
        login_from(behind_proxy, "203.0.113.99", f"nobody{n}", "guess")
    locked = login_from(behind_proxy, "203.0.113.99", "admin", PASSWORD)["error"]["msg"]["$"]
    assert locked.startswith("Too many failed logins")
    assert login_from(behind_proxy, "203.0.113.100", "admin", PASSWORD)["auth"]["$level"] == "admin"
    subjects = {s for (s,) in behind_proxy.stored("SELECT DISTINCT subject FROM login_failure")}
    assert "address:203.0.113.99" in subjects and not any(s.startswith("user:") for s in subjects)


@pytest.fixture
def authenticator(tmp_path):
    """The login code in-process over a real store, with one login of every kind that must be refused alike."""
    store = Store(tmp_path / "billmgr.db")
    with store.transaction(write=True) as db:
        db.executemany("INSERT INTO user (name, passwd, level, enabled, created) VALUES (?, ?, 'admin', ?, '')",
                       [("known", hash_password(PASSWORD), 1), ("disabled", hash_password(PASSWORD), 0),
                        ("nopassword", "", 1)])
    yield Authenticator(store, Clock())
    store.close()


def test_every_refused_login_runs_the_same_password_hash(authenticator, monkeypatch):
    """Structural, not timed: each refusal runs scrypt once, with the parameters of a stored hash."""
    stored = hash_password(PASSWORD).split("$")[1:4]
    runs = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(password, **params):
        runs.append((params["n"], params["r"], params["p"]))
        return real_scrypt(password, **params)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    for name in ("known", "unknown", "disabled", "nopassword"):
        runs.clear()
        with pytest.raises(errors.MgrError) as refused:
            authenticator.login(name, "wrong-password", "192.0.2.1")
        assert refused.value.message == "msg_error_login", name
        assert runs == [tuple(map(int, stored))], name
    runs.clear()
    assert authenticator.login("known", PASSWORD, "192.0.2.1").name == "known"
    assert len(runs) == 1
