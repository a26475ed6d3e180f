"""Logins of both kinds, sessions, keys, authinfo, su, the failed-login throttle and clients' logins."""

import socket

import pytest
from conftest import Daemon

from billmgr import protocol

ADMIN_PASSWORD = "Adm1n-secret"
CLIENT_PASSWORD = "Cl1ent-secret"


@pytest.fixture
def panel(tmp_path):
    """A daemon with a movable clock, an employee and two clients with logins."""
    d = Daemon(tmp_path, settings="Option TestClock\n").start()
    assert d.mgrctl("-m", "billmgr", "employee.edit", "name=admin", f"passwd={ADMIN_PASSWORD}",
                    f"confirm={ADMIN_PASSWORD}", "realname=Chief", "sok=ok").returncode == 0
    d.alice = d.new_account("alice@example.com", f"passwd={CLIENT_PASSWORD}")
    d.bob = d.new_account("bob@example.com", f"passwd={CLIENT_PASSWORD}")
    yield d
    d.stop()


def shift_clock(daemon, seconds):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(daemon.socket))
        protocol.write_frame(sock, {"op": "clock", "shift": seconds})
        assert protocol.read_frame(sock)["error"] is None


def login(daemon, username, password):
    doc = daemon.call("auth", f"username={username}", f"password={password}", out="sjson")
    assert doc["auth"]["$level"] in ("admin", "user")
    return doc["auth"]["$id"]


def test_first_admin_logs_in_and_gets_a_session(panel):
    sid = login(panel, "admin", ADMIN_PASSWORD)
    assert len(sid) >= 32
    me = panel.call("whoami", f"auth={sid}", out="JSONdata")
    assert me == {"name": "admin", "level": "admin"}
    staff = panel.call("employee", f"auth={sid}", out="JSONdata")["elem"]
    assert [(e["name"], e["realname"], e["status"]) for e in staff] == [("admin", "Chief", "full access")]


def test_wrong_password_and_unknown_session(panel):
    wrong = panel.mgrctl("-m", "billmgr", "auth", "username=admin", "password=nope")
    assert wrong.returncode == 1 and wrong.stderr.startswith("ERROR auth(login)")
    stale = panel.mgrctl("-m", "billmgr", "whoami", "auth=0123456789abcdef")
    assert stale.returncode == 1 and stale.stderr.startswith("ERROR auth(session)")


def test_session_lapses_after_an_hour_without_requests(panel):
    sid = login(panel, "admin", ADMIN_PASSWORD)
    shift_clock(panel, 50 * 60)
    assert panel.mgrctl("-m", "billmgr", "whoami", f"auth={sid}").returncode == 0   # slides on
    shift_clock(panel, 50 * 60)
    assert panel.mgrctl("-m", "billmgr", "whoami", f"auth={sid}").returncode == 0
    shift_clock(panel, 61 * 60)
    expired = panel.mgrctl("-m", "billmgr", "whoami", f"auth={sid}")
    assert expired.returncode == 1 and "ERROR auth(session)" in expired.stderr


def test_key_login_works_once(panel):
    made = panel.call("session.newkey", "username=alice@example.com", "key=once-only-key", out="JSONdata")
    assert made["key"] == "once-only-key"
    doc = panel.call("auth", "username=alice@example.com", "key=once-only-key", out="sjson")
    me = panel.call("whoami", f"auth={doc['auth']['$id']}", out="JSONdata")
    assert me == {"name": "alice@example.com", "level": "user", "account": str(panel.alice)}
    again = panel.mgrctl("-m", "billmgr", "auth", "username=alice@example.com", "key=once-only-key")
    assert again.returncode == 1 and "auth(login)" in again.stderr
    generated = panel.call("session.newkey", "username=bob@example.com", out="JSONdata")["key"]
    wrong_user = panel.mgrctl("-m", "billmgr", "auth", "username=alice@example.com", f"key={generated}")
    assert wrong_user.returncode == 1


def test_authinfo_acts_as_that_user(panel):
    me = panel.call("whoami", f"authinfo=alice@example.com:{CLIENT_PASSWORD}", out="JSONdata")
    assert me["level"] == "user" and me["account"] == str(panel.alice)
    refused = panel.mgrctl("-m", "billmgr", "account", f"authinfo=alice@example.com:{CLIENT_PASSWORD}")
    assert refused.returncode == 1 and refused.stderr.startswith("ERROR access(account)")


def test_authinfo_outside_the_allowed_networks_is_refused(tmp_path):
    d = Daemon(tmp_path, settings="Option RestrictAuthinfo\nRestrictAuthinfoRange 10.0.0.0/8\n").start()
    try:
        d.new_account("carol@example.com", f"passwd={CLIENT_PASSWORD}")
        refused = d.mgrctl("-m", "billmgr", "whoami", f"authinfo=carol@example.com:{CLIENT_PASSWORD}")
        assert refused.returncode == 1 and refused.stderr.startswith("ERROR auth(authinfo)")
        assert "127.0.0.1" in refused.stderr or "local" in refused.stderr
    finally:
        d.stop()
    # the same panel and database, now allowing the loopback network
    d.conf.write_text(d.conf.read_text().replace("Range 10.0.0.0/8", "Range 127.0.0.0/8"))
    d.start()
    try:
        assert d.mgrctl("-m", "billmgr", "whoami", f"authinfo=carol@example.com:{CLIENT_PASSWORD}").returncode == 0
    finally:
        d.stop()


def test_su_by_a_client_is_refused(panel):
    result = panel.mgrctl("-m", "billmgr", "whoami", "su=bob@example.com",
                          f"authinfo=alice@example.com:{CLIENT_PASSWORD}")
    assert result.returncode == 1 and result.stderr.startswith("ERROR access(su)")
    as_staff = panel.call("whoami", "su=bob@example.com", f"authinfo=admin:{ADMIN_PASSWORD}", out="JSONdata")
    assert as_staff["name"] == "bob@example.com"


def test_failed_logins_are_throttled_but_never_the_local_superuser(panel):
    for _ in range(5):
        assert panel.mgrctl("-m", "billmgr", "auth", "username=admin", "password=guess").returncode == 1
    blocked = panel.mgrctl("-m", "billmgr", "auth", "username=admin", f"password={ADMIN_PASSWORD}")
    assert blocked.returncode == 1 and "Too many failed logins" in blocked.stderr
    assert panel.mgrctl("-m", "billmgr", "whoami").stdout.startswith("name=root")
    assert panel.mgrctl("-m", "billmgr", "user").returncode == 0
    shift_clock(panel, 16 * 60)
    assert login(panel, "admin", ADMIN_PASSWORD)


def test_password_policy(panel):
    for password, complaint in (("short1", "at least 8"), ("onlyletters", "mix"), ("admin2", "at least 8")):
        result = panel.mgrctl("-m", "billmgr", "employee.edit", "name=second", f"passwd={password}",
                              f"confirm={password}", "sok=ok")
        assert result.returncode == 1 and complaint in result.stderr, result.stderr
    same = panel.mgrctl("-m", "billmgr", "employee.edit", "name=Second-99", "passwd=second-99",
                        "confirm=second-99", "sok=ok")
    assert same.returncode == 1 and "differ from the login" in same.stderr
    missing = panel.mgrctl("-m", "billmgr", "employee.edit", "name=second", "sok=ok")
    assert missing.returncode == 1 and missing.stderr.startswith("ERROR empty(passwd)")
    unconfirmed = panel.mgrctl("-m", "billmgr", "employee.edit", "name=second", "passwd=Second-pass1", "sok=ok")
    assert unconfirmed.returncode == 1 and unconfirmed.stderr.startswith("ERROR empty(confirm)")
    mismatch = panel.mgrctl("-m", "billmgr", "employee.edit", "name=second", "passwd=Second-pass1",
                            "confirm=Second-pass2", "sok=ok")
    assert mismatch.returncode == 1 and "do not match" in mismatch.stderr


def test_passwords_are_never_stored_or_logged_in_clear(panel):
    stored = [row[0] for row in panel.stored("SELECT passwd FROM user")]
    assert all(p.startswith("scrypt$") for p in stored)
    assert ADMIN_PASSWORD not in panel.log.read_text() and CLIENT_PASSWORD not in panel.log.read_text()


def test_clients_manage_only_their_own_users(panel):
    alice = f"authinfo=alice@example.com:{CLIENT_PASSWORD}"
    created = panel.mgrctl("-m", "billmgr", "user.edit", "name=alice-helper", "passwd=Helper-pass1",
                           "sok=ok", alice)
    assert created.returncode == 0, created.stderr
    helper = created.stdout.split("id=")[1].strip()
    mine = panel.call("user", alice, out="JSONdata")["elem"]
    assert sorted(u["name"] for u in mine) == ["alice-helper", "alice@example.com"]
    assert {u["account_id"] for u in mine} == {str(panel.alice)}
    bob_users = panel.call("user", f"authinfo=bob@example.com:{CLIENT_PASSWORD}", out="JSONdata")["elem"]
    assert [u["name"] for u in bob_users] == ["bob@example.com"]
    bob_user = bob_users[0]["id"]
    for args in (["user.edit", f"elid={bob_user}"], ["user.edit", f"elid={bob_user}", "realname=x", "sok=ok"]):
        stolen = panel.mgrctl("-m", "billmgr", *args, alice)
        assert stolen.returncode == 1 and stolen.stderr.startswith("ERROR missed(user)")
    assert panel.mgrctl("-m", "billmgr", "user.delete", f"elid={bob_user}", alice).returncode == 0
    assert len(panel.call("user", "plid=" + str(panel.bob), out="JSONdata")["elem"]) == 1   # untouched
    own = panel.call("whoami", alice, out="JSONdata")
    self_delete = panel.mgrctl("-m", "billmgr", "user.delete", f"elid={helper}", alice)
    assert self_delete.returncode == 0 and own["name"] == "alice@example.com"
    everyone = panel.call("user", out="JSONdata")["elem"]
    assert [u["name"] for u in everyone] == ["alice@example.com", "bob@example.com"]   # employees are not here


def test_a_login_name_is_unique_across_employees_and_clients(panel):
    result = panel.mgrctl("-m", "billmgr", "employee.edit", "name=ADMIN", "passwd=Other-pass1",
                          "confirm=Other-pass1", "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith("ERROR exists(name)")
    result = panel.mgrctl("-m", "billmgr", "user.edit", f"plid={panel.alice}", "name=Admin",
                          "passwd=Other-pass1", "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith("ERROR exists(name)")
    result = panel.mgrctl("-m", "billmgr", "employee.edit", "name=alice@example.com", "passwd=Other-pass1",
                          "confirm=Other-pass1", "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith("ERROR exists(name)")
