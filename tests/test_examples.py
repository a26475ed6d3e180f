"""The example plugin of docs/plugins.md, in shell and in Python, installed
the way the guide says: files copied into the plugin and addon directories,
then ``mgrctl -m billmgr -R``."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import Daemon

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="module", params=["shell", "python"])
def plugin(request, tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp(f"example-{request.param}")).start()
    d.plugin_xml.mkdir(parents=True)
    shutil.copy(EXAMPLES / "billmgr_mod_maildomain.xml", d.plugin_xml)
    shutil.copytree(EXAMPLES / request.param, d.root / "addon")
    reload = d.mgrctl("-m", "billmgr", "-R")
    assert reload.returncode == 0, reload.stderr
    for email in ("alice@example.com", "bob@Example.com", "carol@other.org"):
        d.new_account(email)
    yield d
    d.stop()


def mgr(daemon, *args):
    return daemon.mgrctl("-m", "billmgr", *args)


def emails(daemon):
    return {row[0] for row in daemon.stored("SELECT email FROM account")}


def test_the_list_in_every_format(plugin):
    rows = [("example.com", "2"), ("other.org", "1")]
    assert mgr(plugin, "maildomain").stdout == "domain=example.com clients=2\ndomain=other.org clients=1\n"
    assert mgr(plugin, "-o", "xml", "maildomain").stdout.endswith(
        '<doc func="maildomain" lang="en">'
        "<elem><domain>example.com</domain><clients>2</clients></elem>"
        "<elem><domain>other.org</domain><clients>1</clients></elem>"
        "<p_elems>2</p_elems><p_num>1</p_num><p_cnt>2</p_cnt></doc>\n")
    for out in ("json", "sjson"):
        doc = plugin.call("maildomain", out=out)
        assert [(e["domain"]["$"], e["clients"]["$"]) for e in doc["elem"]] == rows and doc["p_elems"] == {"$": "2"}
    for out in ("JSONdata", "bjson"):
        assert [(e["domain"], e["clients"]) for e in plugin.call("maildomain", out=out)["elem"]] == rows
    devel = mgr(plugin, "-o", "devel", "maildomain", "lang=ru").stdout
    assert '<metadata name="maildomain" type="list"' in devel and '<msg name="domain">Домен</msg>' in devel
    printed = mgr(plugin, "-o", "print", "maildomain").stdout
    assert "<title>Mail domains of clients</title>" in printed and "<td>example.com</td><td>2</td>" in printed


def test_the_form_validates_and_creates_through_mgrctl(plugin):
    assert mgr(plugin, "maildomain.client").stdout == "email=\nname=\n"
    assert mgr(plugin, "maildomain.client", "sok=ok").stderr == "ERROR empty(email): The field 'Email' is required\n"
    assert "ERROR value(email)" in mgr(plugin, "maildomain.client", "email=nobody", "sok=ok").stderr
    created = mgr(plugin, "-o", "JSONdata", "maildomain.client", "email=dave@example.net", "sok=ok")
    reply = json.loads(created.stdout)
    assert reply["ok"] is True and int(reply["id"]) > 0
    shown = plugin.call("account.edit", f"elid={reply['id']}", out="JSONdata")
    assert (shown["email"], shown["name"]) == ("dave@example.net", "dave")


def test_the_before_event_refuses_a_blocked_domain_and_nothing_is_written(plugin):
    before = emails(plugin)
    refused = mgr(plugin, "account.edit", "email=eve@Spam.test", "sok=ok")
    assert refused.returncode == 1
    assert refused.stderr == "ERROR value(email): Clients with mail at spam.test are not accepted\n"
    assert plugin.call("account.edit", "email=eve@spam.test", "sok=ok", "lang=ru", out="bjson")["error"] == {
        "type": "value", "object": "email", "value": "eve@spam.test",
        "msg": "Клиенты с почтой в домене spam.test не принимаются"}
    through_the_form = mgr(plugin, "maildomain.client", "email=eve@spam.test", "sok=ok")
    assert through_the_form.stderr == "ERROR value(email): Clients with mail at spam.test are not accepted\n"
    assert emails(plugin) == before


@pytest.mark.parametrize("out", ["text", "xml", "json", "sjson", "JSONdata", "bjson", "devel", "print"])
def test_the_after_event_adds_a_field_to_the_core_form(plugin, out):
    body = mgr(plugin, "-o", out, "account.edit", "elid=1").stdout
    field = "<mail_domain>example.com</mail_domain>"
    expected = {"text": ["\nmail_domain=example.com\n"], "xml": [field], "print": ["mail_domain=example.com"],
                "devel": [field, '<msg name="mail_domain">Mail domain</msg>']}
    if out in expected:
        assert all(part in body for part in expected[out])
    else:
        doc = json.loads(body)
        field = doc.get("doc", doc.get("model", doc))["mail_domain"]
        assert field in ("example.com", {"$": "example.com"})


def test_describe(plugin):
    listing = mgr(plugin, "-i").stdout.splitlines()
    assert {"maildomain\tlist\tMail domains of clients", "maildomain.client\tform\tNew client by email",
            "account\tlist\tClients"} <= set(listing)
    described = mgr(plugin, "-i", "maildomain.client", "lang=ru").stdout
    assert "Новый клиент по email" in described
    assert "  email\temail, обязательный\tEmail -- Логин клиента;" in described
    events = mgr(plugin, "-i", "account.edit").stdout
    assert "Run before it (events):\n  maildomain_guard\tcgi\t" in events
    assert "Run after it (events):\n  maildomain_show\txml\t" in events
