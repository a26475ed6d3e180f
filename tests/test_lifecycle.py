"""A service's whole life through the example processing module, on the test clock: ordered, opened by
the module (1 -> 5 -> 2), its usage reported by the module's stat and charged, renewed on time with
money, suspended by the module without it, resumed after a top-up, deleted after its type's period --
the module's servers following every step, balances by hand, the ledger check clean throughout."""

import json
from datetime import date, timedelta

import pytest
from conftest import Daemon, eventually
from test_nightly import nightly
from test_processing import install
from test_services import balance, books_balance, item, top_up


@pytest.fixture
def host(tmp_path):
    d = Daemon(tmp_path, settings="Option TestClock\n")
    install(d)
    d.servers = d.root / "servers"
    d.servers.mkdir()
    d.start()
    d.today = date.today()
    module = d.create("processing.edit", "name=Files", "module=vdsfile", f"serverdir={d.servers}",
                      "password=Secret-api-1")
    d.tariff = d.create("pricelist.edit", "itemtype=vds", "name=VDS", f"processingmodule={module}",
                        "monthly643=300")
    d.create("pricelist.addon.edit", f"plid={d.tariff}", "name=Traffic", "intname=traffic", "addontype=2",
             "billtype=3", "measure=GB", "addonlimit=10", "overage643=1", "statperiod=daily")
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    yield d
    d.stop()


def server(d, elid):
    path = d.servers / f"{elid}.json"
    return json.loads(path.read_text()) if path.exists() else None


def settled(d, elid, status):
    """The service reaches ``status`` with nothing left for its module to do."""
    eventually(lambda: item(d, elid)["status"] == status and not item(d, elid)["operations"],
               what=f"service {elid} did not reach status {status}: {item(d, elid)}")


def test_a_vds_lives_its_life_through_the_module(host):
    d = host
    account = d.new_account("life@example.com")
    top_up(d, account, "350")
    ordered = d.ok("v2.vds.order.param", "su=life@example.com", f"pricelist={d.tariff}", "order_period=1",
                   "autoprolong=1", "skipbasket=on", "sok=ok")
    elid = int(ordered["service_id"])
    assert d.stored("SELECT operation FROM runningoperation WHERE item = ?", elid) in ([("open",)], [])
    settled(d, elid, 2)                                   # the module opened it and called back
    assert server(d, elid)["state"] == "running" and balance(d, account) == "50.00"
    books_balance(d)

    # the module counted 25 GB yesterday: 15 over the 10 included, 1.00 each
    yesterday = d.today - timedelta(days=1)
    record = server(d, elid)
    (d.servers / f"{elid}.json").write_text(json.dumps({**record, "usage": {yesterday.isoformat(): {"traffic": 25}}}))
    run = nightly(d, d.today, "collect", "statistics")
    assert run["collect"] == (1, 0, 0) and run["statistics"][0] >= 1
    assert balance(d, account) == "35.00"
    assert [(row["statdate"], row["value"], row["amount"]) for row in d.rows("service.stat", f"elid={elid}")
            if row["name"] == "Traffic"] == [(yesterday.isoformat(), "25", "15.00")]

    # three days before expiry: 35.00 does not cover 300.00; the day after expiry the module suspends it
    expiry = date.fromisoformat(item(d, elid)["expiredate"])
    assert nightly(d, expiry - timedelta(days=3), "renew")["renew"][0] == 0
    nightly(d, expiry + timedelta(days=1), "suspend")
    settled(d, elid, 3)
    assert server(d, elid)["state"] == "stopped"

    # a top-up, and the next run renews it from its expiry and the module resumes it
    top_up(d, account, "300")
    nightly(d, expiry + timedelta(days=2), "renew")
    settled(d, elid, 2)
    assert server(d, elid)["state"] == "running" and balance(d, account) == "35.00"
    assert item(d, elid)["expiredate"] > expiry.isoformat()
    books_balance(d)

    # staff suspend it, and with DeleteManualSuspend off it stays; the client deletes it: the module closes it
    d.ok("vds.suspend", f"elid={elid}")
    settled(d, elid, 3)
    d.ok("itemtype.edit", f"elid={d.stored('SELECT itemtype FROM item WHERE id = ?', elid)[0][0]}",
         "clientdelete=on", "sok=ok")
    assert nightly(d, expiry + timedelta(days=40), "delete")["delete"][0] == 0
    d.ok("vds.delete", "su=life@example.com", f"elid={elid}", "sok=ok")
    settled(d, elid, 4)
    assert server(d, elid) is None and balance(d, account) == "35.00"
    books_balance(d)


def test_an_automatically_suspended_service_is_deleted_after_its_types_period(host):
    d = host
    account = d.new_account("gone@example.com")
    top_up(d, account, "300")
    elid = int(d.ok("v2.vds.order.param", "su=gone@example.com", f"pricelist={d.tariff}", "order_period=1",
                    "skipbasket=on", "sok=ok")["service_id"])
    settled(d, elid, 2)
    expiry = date.fromisoformat(item(d, elid)["expiredate"])
    nightly(d, expiry + timedelta(days=1), "suspend")
    settled(d, elid, 3)
    assert nightly(d, expiry + timedelta(days=30), "delete")["delete"] == (0, 0, 0)    # suspended 29 days
    assert nightly(d, expiry + timedelta(days=31), "delete")["delete"] == (1, 0, 0)
    settled(d, elid, 4)
    assert server(d, elid) is None and balance(d, account) == "0.00"
    books_balance(d)
