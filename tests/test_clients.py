"""The clients section: registration and mail, history, providers, groups,
merging, filters, tickets, SMS, su, and the task list."""

import email
import email.policy
import re
import socket
import time
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from conftest import Daemon, eventually

PASSWORD = "Str0ng-pass"


class Inbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def wait(self, count=1, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, "mail did not arrive"
        return self.messages


@pytest.fixture
def smtp():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def panel(tmp_path, smtp):
    d = Daemon(tmp_path, settings=f"SmtpServer 127.0.0.1:{smtp.port}\nMailFrom billing@example.com\n"
                                  "PublicUrl https://billing.example.com/billmgr\n").start()
    yield d
    d.stop()


def db_count(daemon, sql, *args):
    return daemon.stored(sql, *args)[0][0]


# -- registration ------------------------------------------------------------

def test_register_with_every_parameter(panel):
    panel.stored("INSERT INTO offer (id, name) VALUES (7, 'Public offer')")
    result = panel.mgrctl("-m", "billmgr", "register", "email=new@example.com", f"passwd={PASSWORD}",
                          f"confirm={PASSWORD}", "realname=New Client", "phone=+7 900 000-00-00",
                          "conditions_agree=on", "offer_7=on", "country=RU", "state=RU-MOW", "project=1",
                          "_ga=GA1.2.3", "partner=P42", "sesid=click-9", "tzoffset=-180", "sok=ok")
    assert result.returncode == 0, result.stderr
    account_id = int(result.stdout.split("id=")[1])
    row, = panel.stored("SELECT realname, try_phone, country, partner, partner_sesid, ga, tzoffset, "
                        "(SELECT code FROM state WHERE id = account.state) FROM account WHERE id = ?", account_id)
    offers = panel.stored("SELECT offer FROM account_offer WHERE account = ?", account_id)
    assert row == ("New Client", "+7 900 000-00-00", 643, "P42", "click-9", "GA1.2.3", "-180", "RU-MOW")
    assert offers == [(7,)]
    me = panel.call("whoami", f"authinfo=new@example.com:{PASSWORD}", out="JSONdata")
    assert me["account"] == str(account_id)


@pytest.mark.parametrize("params, error", [
    (["email=dup@example.com"], "exists(email)"),
    (["email=x@example.com", "country=XX"], "value(country)"),
    (["email=x@example.com", "country=840", "state=RU-MOW"], "value(state)"),
    (["email=x@example.com", "project=99"], "missed(project)"),
    (["email=x@example.com", "offer_99=on"], "missed(offer)"),
    (["email=not-mail"], "value(email)"),
])
def test_register_refusals(panel, params, error):
    panel.new_account("dup@example.com")
    result = panel.mgrctl("-m", "billmgr", "register", f"passwd={PASSWORD}", *params, "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr
    weak = panel.mgrctl("-m", "billmgr", "register", "email=weak@example.com", "passwd=weak", "sok=ok")
    assert weak.returncode == 1 and "value(passwd)" in weak.stderr


def test_conditions_agree_required_when_configured(tmp_path):
    d = Daemon(tmp_path, settings="Option RequireConditionsAgree\n").start()
    try:
        refused = d.mgrctl("-m", "billmgr", "register", "email=a@example.com", f"passwd={PASSWORD}", "sok=ok")
        assert refused.returncode == 1 and refused.stderr.startswith("ERROR empty(conditions_agree)")
        assert d.mgrctl("-m", "billmgr", "register", "email=a@example.com", f"passwd={PASSWORD}",
                        "conditions_agree=on", "sok=ok").returncode == 0
    finally:
        d.stop()


def test_registration_mail_with_a_working_reset_link(panel, smtp):
    assert panel.mgrctl("-m", "billmgr", "register", "email=mail@example.com", f"passwd={PASSWORD}",
                        "recovery=on", "sok=ok", "lang=ru").returncode == 0
    recipients, message = smtp.wait()[0]
    assert recipients == ["mail@example.com"] and message["From"] == "billing@example.com"
    body = message.get_content()
    assert "Логин: mail@example.com" in body
    link = re.search(r"https://billing\.example\.com/billmgr\?\S+", body).group(0)
    query = parse_qs(urlparse(link).query)
    assert query["func"] == ["recovery.change"] and query["username"] == ["mail@example.com"]
    changed = panel.mgrctl("-m", "billmgr", "recovery.change", "username=mail@example.com",
                           f"key={query['key'][0]}", "passwd=Brand-new-1", "sok=ok")
    assert changed.returncode == 0, changed.stderr
    assert panel.call("whoami", "authinfo=mail@example.com:Brand-new-1", out="JSONdata")["level"] == "user"
    reused = panel.mgrctl("-m", "billmgr", "recovery.change", "username=mail@example.com",
                          f"key={query['key'][0]}", "passwd=Other-new-1", "sok=ok")
    assert reused.returncode == 1 and "auth(key)" in reused.stderr
    tasks = panel.rows("outbox")
    assert tasks[0]["state"] == "Done" and tasks[0]["target"] == "mail@example.com"


def test_without_a_relay_mail_waits_visibly(tmp_path):
    d = Daemon(tmp_path).start()
    try:
        d.new_account("quiet@example.com", "notify=on")
        task = eventually(lambda: next((t for t in d.rows("outbox") if t.get("reason")), None))
        assert task["state"] == "Pending" and "no SmtpServer" in task["reason"]
        assert d.rows("outbox", "filter=on", "state=pending")[0]["id"] == task["id"]
    finally:
        d.stop()


# -- per-client functions --------------------------------------------------------

def test_history_records_who_changed_what(panel):
    client = panel.new_account("hist@example.com", "name=Before")
    panel.mgrctl("-m", "billmgr", "account.edit", f"elid={client}", "name=After", "sok=ok")
    entries = panel.rows("account.history", f"elid={client}")
    assert entries[0]["desc"] == "name: Before -> After" and entries[0]["action"] == "account.edit"
    assert entries[0]["user"] == "root" and entries[0]["ip"] == "local"
    assert entries[-1]["desc"].startswith("created:")


def test_su_gives_a_one_use_login(panel):
    client = panel.new_account("su@example.com")
    granted = panel.call("account.su", f"elid={client}", out="JSONdata")
    assert granted["username"] == "su@example.com" and granted["key"] in granted["url"]
    doc = panel.call("auth", "username=su@example.com", f"key={granted['key']}", out="sjson")
    assert panel.call("whoami", f"auth={doc['auth']['$id']}", out="JSONdata")["account"] == str(client)
    assert panel.mgrctl("-m", "billmgr", "auth", "username=su@example.com",
                        f"key={granted['key']}").returncode == 1


def test_providers(panel):
    created = panel.mgrctl("-m", "billmgr", "project.edit", "name=Second", "sok=ok")
    second = created.stdout.split("id=")[1].strip()
    client = panel.new_account("prov@example.com", f"project={second}")
    listed = panel.rows("account.project", f"plid={client}")
    assert [(p["name"], p["status"]) for p in listed] == [("Second", "Enabled")]
    assert panel.mgrctl("-m", "billmgr", "account.project.suspend", f"plid={client}", f"elid={second}").returncode == 0
    assert panel.rows("account.project", f"plid={client}")[0]["status"] == "Disabled"
    panel.mgrctl("-m", "billmgr", "account.project.resume", f"plid={client}", f"elid={second}")
    assert panel.rows("account.project", f"plid={client}")[0]["status"] == "Enabled"
    in_use = panel.mgrctl("-m", "billmgr", "project.delete", f"elid={second}")
    assert in_use.returncode == 1 and "still has clients" in in_use.stderr
    assert [p["accounts"] for p in panel.rows("project")] == ["0", "1"]
    dup = panel.mgrctl("-m", "billmgr", "project.edit", "name=second", "sok=ok")
    assert dup.returncode == 1 and "exists(name)" in dup.stderr
    # an empty status leaves it as it is (it stored '' in an integer column, which PostgreSQL refused)
    assert panel.mgrctl("-m", "billmgr", "project.edit", "name=Third", "status=", "sok=ok").returncode == 0
    assert panel.mgrctl("-m", "billmgr", "project.edit", f"elid={second}", "status=", "sok=ok").returncode == 0
    assert panel.stored("SELECT name, status FROM project WHERE name IN ('Second', 'Third') ORDER BY id") == [
        ("Second", 2), ("Third", 2)]


def test_groups_follow_their_conditions(panel):
    group = panel.mgrctl("-m", "billmgr", "accountgroup.edit", "name=Russia", "auto=on", "sok=ok")
    group_id = group.stdout.split("id=")[1].strip()
    ru = panel.new_account("ru@example.com", "country=643")
    us = panel.new_account("us@example.com", "country=840")
    assert panel.mgrctl("-m", "billmgr", "accountgroup.condition.edit", f"plid={group_id}", "field=country",
                        "op=eq", "value=643", "sok=ok").returncode == 0
    members = lambda client: panel.rows("account.group", f"plid={client}")[0]["status"]  # noqa: E731
    assert (members(ru), members(us)) == ("Yes", "No")
    late = panel.new_account("late@example.com", "country=643")
    assert members(late) == "Yes"
    panel.mgrctl("-m", "billmgr", "account.edit", f"elid={ru}", "country=840", "sok=ok")
    assert members(ru) == "No"
    assert panel.rows("accountgroup")[0]["members"] == "1"
    assert "group Russia: removed" in [e["desc"] for e in panel.rows("account.history", f"elid={ru}")]
    bad_field = panel.mgrctl("-m", "billmgr", "accountgroup.condition.edit", f"plid={group_id}",
                             "field=passwd", "value=x", "sok=ok")
    assert bad_field.returncode == 1 and "value(field)" in bad_field.stderr


def test_manual_group_membership(panel):
    group = panel.mgrctl("-m", "billmgr", "accountgroup.edit", "name=VIP", "sok=ok").stdout.split("id=")[1].strip()
    client = panel.new_account("vip@example.com")
    assert panel.mgrctl("-m", "billmgr", "account.group.resume", f"plid={client}", f"elid={group}").returncode == 0
    assert panel.rows("account.group", f"plid={client}")[0]["status"] == "Yes"
    panel.mgrctl("-m", "billmgr", "account.group.suspend", f"plid={client}", f"elid={group}")
    assert panel.rows("account.group", f"plid={client}")[0]["status"] == "No"
    panel.mgrctl("-m", "billmgr", "account.group.edit", f"plid={client}", f"accountgroup={group}", "sok=ok")
    assert panel.rows("account.group", f"plid={client}")[0]["status"] == "Yes"
    panel.mgrctl("-m", "billmgr", "account.group.delete", f"plid={client}", f"elid={group}")
    assert panel.rows("account.group", f"plid={client}")[0]["status"] == "No"
    assert panel.mgrctl("-m", "billmgr", "accountgroup.delete", f"elid={group}").returncode == 0
    assert panel.rows("accountgroup") == []


def test_merge_loses_nothing(panel):
    source = panel.new_account("source@example.com", f"passwd={PASSWORD}", "verify_email=on")
    target = panel.new_account("target@example.com")
    panel.mgrctl("-m", "billmgr", "user.edit", f"plid={source}", "name=source-helper", f"passwd={PASSWORD}", "sok=ok")
    panel.mgrctl("-m", "billmgr", "ticket.write.account", f"elid={source}", "subject=Hello", "message=Hi", "sok=ok")
    group = panel.mgrctl("-m", "billmgr", "accountgroup.edit", "name=G", "sok=ok").stdout.split("id=")[1].strip()
    panel.mgrctl("-m", "billmgr", "account.group.resume", f"plid={source}", f"elid={group}")
    panel.stored("INSERT INTO account_order (account, createdate, info) VALUES (?, '2026-01-01', 'VPS')", source)
    for subaccount in [(source, 643, 15000, 1), (source, 840, 700, 0), (target, 643, 250, 1)]:
        panel.stored("INSERT INTO subaccount (account, project, currency, balance, active) VALUES (?, 1, ?, ?, ?)",
                     *subaccount)
    panel.stored("INSERT INTO journal (subaccount, amount, kind, at, actor) "
                 "SELECT id, balance, 'correction', '2026-01-01 00:00:00', 'test' FROM subaccount")
    before = {t: db_count(panel, f"SELECT count(*) FROM {t}") for t in
              ("user", "ticket", "ticket_message", "account_order", "validation")}
    source_history = db_count(panel, "SELECT count(*) FROM history WHERE account = ?", source)
    merged = panel.mgrctl("-m", "billmgr", "account.join", f"elid={source}", f"account={target}", "sok=ok")
    assert merged.returncode == 0, merged.stderr
    after = {t: db_count(panel, f"SELECT count(*) FROM {t}") for t in before}
    assert after == before
    for table in ("user", "ticket", "account_order", "validation"):
        assert db_count(panel, f"SELECT count(*) FROM {table} WHERE account = ?", source) == 0
    assert db_count(panel, "SELECT count(*) FROM account WHERE id = ?", source) == 0
    assert panel.call("whoami", f"authinfo=source@example.com:{PASSWORD}", out="JSONdata")["account"] == str(target)
    balances = {c["iso"]: c["balance"] for c in panel.rows("account.currency", f"elid={target}")}
    assert balances == {"RUB": "152.50", "USD": "7.00"}
    assert panel.rows("account.group", f"plid={target}")[0]["status"] == "Yes"
    assert [o["info"] for o in panel.rows("account.orders", f"elid={target}")] == ["VPS"]
    history = [e["desc"] for e in panel.rows("account.history", f"elid={target}")]
    assert history[0] == f"client #{source} (source@example.com) merged into this client"
    assert db_count(panel, "SELECT count(*) FROM history WHERE account = ?", target) >= source_history + 2
    itself = panel.mgrctl("-m", "billmgr", "account.join", f"elid={target}", f"account={target}", "sok=ok")
    assert itself.returncode == 1


def test_saved_filter_applies_until_cleared(panel):
    panel.new_account("keep@example.org", "name=Keep")
    panel.new_account("drop@example.com", "name=Drop")
    assert panel.mgrctl("-m", "billmgr", "account.setfilter", "email=example.org").returncode == 0
    assert [a["name"] for a in panel.rows("account")] == ["Keep"]
    assert panel.call("account.filter", out="JSONdata")["email"] == "example.org"
    assert [a["name"] for a in panel.rows("account", "filter=on", "name=Drop")] == ["Drop"]
    panel.mgrctl("-m", "billmgr", "account.filter", "sok=ok")
    assert len(panel.rows("account")) == 2


def test_tickets(panel):
    alice = panel.new_account("alice@example.com", f"passwd={PASSWORD}")
    bob = panel.new_account("bob@example.com", f"passwd={PASSWORD}")
    for client in (alice, bob):
        panel.mgrctl("-m", "billmgr", "ticket.write.account", f"elid={client}", f"subject=For {client}",
                     "message=Please check", "sok=ok")
    assert len(panel.rows("ticket")) == 2
    as_alice = f"authinfo=alice@example.com:{PASSWORD}"
    mine = panel.rows("ticket", as_alice)
    assert [t["subject"] for t in mine] == [f"For {alice}"]
    reply = panel.mgrctl("-m", "billmgr", "ticket.edit", f"elid={mine[0]['id']}", "message=Thanks", "sok=ok", as_alice)
    assert reply.returncode == 0
    thread = panel.call("ticket.edit", f"elid={mine[0]['id']}", as_alice, out="JSONdata")
    assert [m["body"] for m in thread["elem"]] == ["Please check", "Thanks"]
    silent = panel.mgrctl("-m", "billmgr", "ticket.edit", f"elid={mine[0]['id']}", "sok=ok", as_alice)
    assert silent.returncode == 1 and silent.stderr.startswith("ERROR empty(message)")
    assert len(panel.call("ticket.edit", f"elid={mine[0]['id']}", as_alice, out="JSONdata")["elem"]) == 2
    bobs = next(t for t in panel.rows("ticket") if t["subject"] == f"For {bob}")
    peek = panel.mgrctl("-m", "billmgr", "ticket.edit", f"elid={bobs['id']}", as_alice)
    assert peek.returncode == 1 and peek.stderr.startswith("ERROR missed(ticket)")
    assert db_count(panel, "SELECT count(*) FROM outbox WHERE kind = 'mail'") == 2


def test_sms_needs_a_gateway_and_goes_through_it(tmp_path):
    d = Daemon(tmp_path)
    no_gateway = d.start()
    client = d.new_account("sms@example.com", "valid_phone=+7 900 111-22-33")
    refused = d.mgrctl("-m", "billmgr", "account.sms", f"elid={client}", "message=Hi")
    assert refused.returncode == 1 and "SmsGateway" in refused.stderr
    no_gateway.stop()
    addon = tmp_path / "addon"
    addon.mkdir()
    (addon / "smsgate").write_text(f"#!/bin/sh\necho \"$1\" > {tmp_path}/sent\ncat >> {tmp_path}/sent\n")
    (addon / "smsgate").chmod(0o755)
    with d.conf.open("a") as conf:   # the same panel and database, now with a gateway
        conf.write("SmsGateway smsgate\n")
    d.start()
    try:
        assert d.mgrctl("-m", "billmgr", "account.sms", f"elid={client}", "message=Your code 1234").returncode == 0
        eventually(lambda: d.rows("outbox")[0]["state"] == "Done")
        assert (tmp_path / "sent").read_text() == "+7 900 111-22-33\nYour code 1234"
    finally:
        d.stop()


def test_verification_list(panel):
    client = panel.new_account("ver@example.com", "verify_email=on")
    panel.mgrctl("-m", "billmgr", "account.edit", f"elid={client}", "valid_phone=+1 555 0100", "sok=ok")
    checks = panel.rows("account.validate", f"elid={client}")
    assert [(c["kind"], c["value"], c["status"]) for c in checks] == [
        ("Email", "ver@example.com", "Verified"), ("Phone", "+1 555 0100", "Verified")]
