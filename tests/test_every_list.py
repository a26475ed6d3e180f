"""Every list function answers in xml and json, and every form shows itself in both."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BILLMGRD, Daemon, eventually
from lxml import etree

from billmgr.registry import Registry

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "paymethods"
REGISTRY = Registry.load()
LISTS = sorted(n for n, s in REGISTRY.callable().items() if s.kind == "list")
FORMS = sorted(n for n, s in REGISTRY.callable().items() if s.kind == "form")


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("lists")).start()
    d.client = d.new_account("lists@example.com", "passwd=Lists-pass1", "verify_email=on")
    d.staff = d.mgrctl("-m", "billmgr", "employee.edit", "name=staff", "passwd=Staff-pass1", "confirm=Staff-pass1",
                       "sok=ok").stdout.split("id=")[1].strip()
    d.department = d.mgrctl("-m", "billmgr", "department.edit", "name=Sales", f"employee={d.staff}",
                            "functions=account", "sok=ok").stdout.split("id=")[1].strip()
    d.login = d.call("user", f"plid={d.client}", out="JSONdata")["elem"][0]["id"]
    d.group = d.mgrctl("-m", "billmgr", "accountgroup.edit", "name=G", "auto=on",
                       "sok=ok").stdout.split("id=")[1].strip()
    d.mgrctl("-m", "billmgr", "accountgroup.condition.edit", f"plid={d.group}", "field=email", "op=contains",
             "value=lists", "sok=ok")
    d.ticket = d.mgrctl("-m", "billmgr", "ticket.write.account", f"elid={d.client}", "subject=S", "message=M",
                        "sok=ok").stdout.split("id=")[1].strip()
    d.mgrctl("-m", "billmgr", "subaccount.edit", f"plid={d.client}", "sok=ok")
    d.mgrctl("-m", "billmgr", "paymethod.edit", "name=Wire", "sok=ok")
    d.expense = d.mgrctl("-m", "billmgr", "subaccount.expense.edit", f"plid={d.client}", "amount=3", "postpaid=on",
                         "sok=ok").stdout.split("id=")[1].strip()
    d.payment = d.mgrctl("-m", "billmgr", "payment.add", f"plid={d.client}", "paymethod=1", "amount=5",
                         "sok=ok").stdout.split("payment_id=")[1].strip()
    d.mgrctl("-m", "billmgr", "payment.setpaid", f"elid={d.payment}")
    d.item = d.mgrctl("-m", "billmgr", "payment.orderinfo.edit", f"plid={d.payment}", "name=Hosting",
                      "sok=ok").stdout.split("id=")[1].strip()
    d.discount = d.mgrctl("-m", "billmgr", "account.discount.edit", f"plid={d.client}", "percentage=5",
                          "sok=ok").stdout.split("id=")[1].strip()
    d.taxrule = d.mgrctl("-m", "billmgr", "account.taxrule.edit", "taxrate=20", "sok=ok").stdout.split("id=")[1].strip()
    d.rate = d.mgrctl("-m", "billmgr", "account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB",
                      "rate=90", "sok=ok").stdout.split("id=")[1].strip()
    for func in ("datacenter.edit", "ostemplate.edit", "recipe.edit"):
        d.mgrctl("-m", "billmgr", func, "name=One", "intname=one", "sok=ok")
    for name, folder in (("billmgr_mod_pmexample.xml", "etc/xml"), ("pmexample", "paymethods")):  # for paymethod.module
        (d.root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE / name, d.root / folder)
    d.mgrctl("-m", "billmgr", "-R")
    d.pricelist = d.create("pricelist.edit", "itemtype=vds", "name=VDS", "monthly643=100")
    d.addon = d.create("pricelist.addon.edit", f"plid={d.pricelist}", "name=RAM", "addontype=2")
    d.create("pricelist.addon.edit", f"plid={d.pricelist}", "name=Traffic", "intname=traffic", "addontype=2",
             "billtype=3", "overage643=1")
    ordered = d.ok("v2.vds.order.param", "su=lists@example.com", f"pricelist={d.pricelist}", "order_period=1",
                   "sok=ok")
    d.service, d.billorder = ordered["service_id"], ordered["billorder.id"]
    d.ok("service.setstat", f"item={d.service}", "addon=traffic", "statdate=2026-01-01", "value=5")
    assert subprocess.run([BILLMGRD, "nightly", "--step", "notify"], env=d.env, capture_output=True).returncode == 0
    d.stored("INSERT INTO processingmodule (name, module, createdate) VALUES ('VDS', 'vdsfile', '2026-01-01')")
    [(service,)] = d.stored("INSERT INTO item (account, subaccount, pricelist, itemtype, status, createdate) "
                            "SELECT s.account, s.id, ?, p.itemtype, 5, '2026-01-01' FROM subaccount s, pricelist p "
                            "WHERE s.account = ? AND p.id = ? RETURNING id", d.pricelist, d.client, d.pricelist)
    [(d.operation,)] = d.stored("INSERT INTO runningoperation (item, operation, createdate) "
                                "VALUES (?, 'open', '2026-01-01 00:00:00') RETURNING id", service)
    d.task = eventually(lambda: d.stored("SELECT id FROM task WHERE runningoperation = ?", d.operation))[0][0]
    yield d
    d.stop()


def context(d, func):
    """The parameters a function needs to be about something."""
    per_client = {"account.history", "account.validate", "account.orders", "account.currency",
                  "account.project", "account.group", "account.edit", "account.group.edit"}
    if func in per_client:
        return [f"elid={d.client}", f"plid={d.client}"]
    if func.startswith("accountgroup.condition") or func == "accountgroup.edit":
        return [f"plid={d.group}", f"elid={d.group}"] if func == "accountgroup.edit" else [f"plid={d.group}"]
    if func == "ticket.edit":
        return [f"elid={d.ticket}"]
    if func == "employee.edit":
        return [f"elid={d.staff}"]
    if func == "department.edit":
        return [f"elid={d.department}"]
    if func == "user.edit":
        return [f"elid={d.login}"]
    if func in ("project.edit", "paymethod.edit", "subaccount.edit"):
        return ["elid=1", f"plid={d.client}"]
    if func == "payment.orderinfo":
        return [f"plid={d.payment}"]
    if func == "payment.orderinfo.edit":
        return [f"plid={d.payment}", f"elid={d.item}"]
    if func in ("payment.edit", "payment.history", "payment.info", "payment.refund", "payment.print",
                "payment.print.pdf"):
        return [f"elid={d.payment}", f"plid={d.client}"]
    if func.startswith("payment.expense"):
        return [f"plid={d.payment}"] + ([f"elid={d.expense}"] if func.endswith(".edit") else [])
    if func in ("payment.add", "subaccount.expense"):
        return [f"plid={d.client}"]
    if func == "subaccount.expense.edit":
        return [f"elid={d.expense}", f"plid={d.client}"]
    if func == "currency.edit":
        return ["elid=643"]
    if func in ("account.discount", "account.discount.history", "account.discount.add"):
        return [f"plid={d.client}"]
    if func == "account.discount.edit":
        return [f"plid={d.client}", f"elid={d.discount}"]
    if func == "account.taxrule.edit":
        return [f"elid={d.taxrule}"]
    if func == "account.currencyrate.edit":
        return [f"elid={d.rate}"]
    if func.startswith("pricelist.addon"):
        return [f"plid={d.pricelist}", f"elid={d.addon}"] if func.endswith(".edit") else [f"plid={d.pricelist}"]
    if func == "pricelist.history":
        return [f"elid={d.pricelist}"]
    if func in ("vds.edit", "service.prolong", "service.stat", "vds.open"):
        return [f"elid={d.service}"]
    if func == "payment.add.pay":
        return [f"billorder={d.billorder}"]
    if func in ("payment.success", "payment.fail", "payment.pending"):
        return [f"elid={d.payment}", "authinfo=lists@example.com:Lists-pass1"]
    if func == "runningoperation.edit":
        return [f"elid={d.operation}"]
    if func == "task.edit":
        return [f"elid={d.task}"]
    if func == "task.gettype":
        return ["operation=open"]
    if func in ("desktop", "payment", "expense", "v2.vds.order.param", "vds.order.param"):
        return ["authinfo=lists@example.com:Lists-pass1"]
    return []


@pytest.mark.parametrize("func", LISTS + FORMS)
def test_answers_in_xml_and_json(populated, func):
    xml = populated.mgrctl("-m", "billmgr", "-o", "xml", func, *context(populated, func))
    doc = etree.fromstring(xml.stdout.encode())
    assert doc.find("error") is None, xml.stdout
    as_json = json.loads(populated.mgrctl("-m", "billmgr", "-o", "json", func, *context(populated, func)).stdout)
    assert "error" not in as_json["doc"]
    if func in LISTS:
        assert int(doc.findtext("p_elems")) == len(doc.findall("elem"))
        assert int(as_json["doc"]["p_elems"]["$"]) >= (1 if func not in ("account.orders", "ledger.check")
                                                         else 0)
