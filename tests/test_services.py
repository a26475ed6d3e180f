"""Services through the real daemon, over HTTP with a client's authinfo and through mgrctl: ordering (the
seed's three order URLs as written), the basket, lists, renewal, add-on changes pro rata, auto-renewal,
suspension, resumption and deletion -- every balance computed by hand, the ledger check clean throughout."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote, unquote

import pytest
from test_auth import shift_clock
from test_http import ADMIN, CLIENT_PASSWORD, Web

ALICE = f"alice@example.com:{CLIENT_PASSWORD}"
BOB = f"bob@example.com:{CLIENT_PASSWORD}"
OS = "ISPsystem__CentOS-7-amd64"
# the seed's order URLs (../shared/seeds/004), exactly as written but for the host and the credentials
VHOST_URL = ("func=v2.vhost.order.param&autoprolong=1&datacenter=1&domain=domain.name&order_period=1&pricelist=2"
             "&skipbasket=on&addon_5=10&sok=ok")
VDS_URL = ("func=v2.vds.order.param&addon_10=6&addon_11=256&addon_12=500&addon_13=1&addon_14=28&addon_15=0"
           "&addon_28=1&addon_7=5000&addon_9=5&autoprolong=1&ostempl=ISPsystem%5F%5FCentOS%2D7%2Damd64"
           "&order_period=1&pricelist=6&skipbasket=on&domain=vds.test&sok=ok")
DEDIC_URL = ("func=v2.dedic.order.param&order_period=1&pricelist=32&datacenter=1&domain=domain.name"
             "&addon_33=1&addon_35=1&sok=ok")
DEDIC_PRICE = "5750.00"    # 5000 + RAID 500 + IPMI 250


def _addon(d, plid, name, addontype, price="", **limits):
    params = [f"plid={plid}", f"name={name}", f"addontype={addontype}", "billtype=2"]
    params += [f"addon{key}={value}" for key, value in limits.items()] + ([f"monthly643={price}"] if price else [])
    return d.create("pricelist.addon.edit", *params)


def _catalog(d):
    """Tariffs and add-ons whose ids are those of the seed's URLs (ids are given out in order)."""
    assert d.create("datacenter.edit", "name=Moscow", "intname=msk") == 1
    os_id = d.create("ostemplate.edit", "name=CentOS 7", f"intname={OS}")
    made = [d.create("pricelist.edit", "itemtype=vhost", "name=Hosting Lite", "monthly643=100"),
            d.create("pricelist.edit", "itemtype=vhost", "name=Hosting", "monthly643=200", "annually643=2000",
                     "datacenter=1")]
    made += [_addon(d, 2, "SSL", 1, "50"), _addon(d, 2, "Sites", 2, "10", min=1, max=100, limit=5),
             _addon(d, 2, "Disk, GB", 2, "20", min=1, max=100, step=1, limit=5)]
    made.append(d.create("pricelist.edit", "itemtype=vds", "name=VDS", "monthly643=500", "quarterly643=1400",
                         f"ostempl={os_id}", "datacenter=1"))
    made += [_addon(d, 6, "Traffic, GB", 2, "0", min=0, max=100000, step=1000, limit=5000),
             _addon(d, 6, "IPv6", 1, "10"), _addon(d, 6, "CPU", 2, "100", min=1, max=32, limit=1),
             _addon(d, 6, "SSD", 2, "0", min=1, max=10, limit=1),
             _addon(d, 6, "RAM, MB", 2, "0.5", min=256, max=65536, step=256, limit=256),
             _addon(d, 6, "Disk, GB", 2, "2", min=10, max=2000, step=10, limit=20),
             _addon(d, 6, "Backup", 1, "150"), _addon(d, 6, "Backup days", 2, "1", min=1, max=60, limit=7),
             _addon(d, 6, "Panel", 1, "300")]
    made += [_addon(d, 6, f"Option {n}", 1) for n in range(16, 28)]
    made.append(_addon(d, 6, "IPv4", 2, "80", min=1, max=8, limit=1))
    made += [d.create("pricelist.edit", "itemtype=soft", "name=ISPmanager Lite", "monthly643=150"),
             d.create("pricelist.edit", "itemtype=platform", "name=Platform", "monthly643=1000"),
             _addon(d, 6, "Option 31", 1)]
    made += [d.create("pricelist.edit", "itemtype=dedic", "name=Dedic", "monthly643=5000", "datacenter=1"),
             _addon(d, 32, "RAID", 1, "500"), _addon(d, 2, "Mail, MB", 2, "0.10", min=0, max=10240, step=256,
                                                      limit=512), _addon(d, 32, "IPMI", 1, "250")]
    assert made == list(range(1, 36))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    d = Web(tmp_path_factory.mktemp("shop"), settings="Option TestClock\n").start().populate()
    _catalog(d)
    vds = next(row["id"] for row in d.rows("itemtype") if row["intname"] == "vds")
    d.ok("itemtype.edit", f"elid={vds}", "clientdelete=on", "sok=ok")     # the seed's clients delete their VDS
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    yield d
    d.stop()


def web_call(d, query, auth=ALICE):
    """A seed-style URL (``func=…&…``) on the site root with ``auth``'s authinfo: the JSON doc."""
    response, body = d.request(f"/?authinfo={quote(auth)}&{query}&out=json")
    assert response.status == 200
    return json.loads(body)["doc"]


def elems(doc):
    """A list's rows in a json doc (one row is an object, not a list of one)."""
    rows = doc.get("elem", [])
    return [rows] if isinstance(rows, dict) else rows


def balance(d, account):
    return d.rows("subaccount", f"plid={account}")[0]["balance"]


def top_up(d, account, amount):
    payment = d.ok("payment.add", f"plid={account}", f"paymethod={d.method}", f"amount={amount}", "sok=ok")
    d.ok("payment.setpaid", f"elid={payment['payment_id']}")


def books_balance(d):
    assert d.rows("ledger.check") == [], "the ledger check found a problem"


def item(d, elid):
    status, expiredate, autoprolong, period = d.stored(
        "SELECT status, expiredate, autoprolong, period FROM item WHERE id = ?", elid)[0]
    return {"status": status, "expiredate": expiredate, "autoprolong": autoprolong, "period": period,
            "operations": [op for (op,) in d.stored("SELECT operation FROM runningoperation WHERE item = ? "
                                                    "ORDER BY id", elid)]}


def module_did(d, elid, command):
    """What a processing module does when it has carried ``command`` out: it calls back."""
    d.ok(f"service.post{command}", f"elid={elid}", "sok=ok")


def cents(value):
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_a_client_walks_a_services_whole_life(shop):
    d = shop
    top_up(d, d.alice, "10000")
    assert balance(d, d.alice) == "10000.00"

    vhost = web_call(d, VHOST_URL)
    assert "error" not in vhost and vhost["ok"] is not None
    vhost = int(vhost["service_id"]["$"])
    assert balance(d, d.alice) == "9700.00"          # 200 + (10 - 5 included) GB x 20
    assert item(d, vhost) == {"status": 5, "expiredate": item(d, vhost)["expiredate"], "autoprolong": 1,
                              "period": 1, "operations": ["open"]}
    module_did(d, vhost, "open")
    assert item(d, vhost)["status"] == 2 and item(d, vhost)["operations"] == []
    books_balance(d)

    vds = int(web_call(d, VDS_URL)["service_id"]["$"])
    # 500 + CPU (5-1) x 100 + disk (500-20) x 2 + backup 150 + backup days (28-7) x 1; the rest included or off
    assert balance(d, d.alice) == "7669.00"
    assert d.stored("SELECT o.intname, i.domain FROM item i JOIN ostemplate o ON o.id = i.ostemplate "
                    "WHERE i.id = ?", vds) == [(OS, "vds.test")]
    d.ok("vds.open", f"elid={vds}", "sok=ok")          # a module may report it so, too
    assert item(d, vds)["status"] == 2 and item(d, vds)["operations"] == []

    dedic = web_call(d, DEDIC_URL)                    # no skipbasket: into the basket, nothing charged
    billorder, dedic = int(dedic["billorder.id"]["$"]), int(dedic["service_id"]["$"])
    assert balance(d, d.alice) == "7669.00" and item(d, dedic)["status"] == 1
    lines = elems(web_call(d, "func=basket"))
    assert [(row["item"]["$"], row["cost"]["$"]) for row in lines] == [(str(dedic), f"{DEDIC_PRICE} RUB")]
    paid_by = int(web_call(d, f"func=payment.add.pay&billorder={billorder}&paymethod={d.method}&sok=ok")
                  ["payment_id"]["$"])
    assert balance(d, d.alice) == "7669.00" and item(d, dedic)["status"] == 1
    d.ok("payment.setpaid", f"elid={paid_by}")        # the gateway confirms: the money comes and pays the order
    assert balance(d, d.alice) == "7669.00"
    assert item(d, dedic)["status"] == 5 and item(d, dedic)["operations"] == ["open"]
    assert elems(web_call(d, "func=basket")) == []
    books_balance(d)

    # an order put in the basket and taken out again costs nothing and leaves nothing
    second = web_call(d, "func=v2.vhost.order.param&pricelist=1&order_period=1&sok=ok")
    line = elems(web_call(d, "func=basket"))[0]["id"]["$"]
    assert "error" not in web_call(d, f"func=basket.delete&elid={line}")
    assert d.stored("SELECT count(*) FROM item WHERE id = ?", int(second["service_id"]["$"])) == [(0,)]

    # the basket paid from the balance
    soft = int(web_call(d, "func=v2.soft.order.param&pricelist=29&order_period=1&sok=ok")["service_id"]["$"])
    assert "error" not in web_call(d, "func=basket.pay")
    assert balance(d, d.alice) == "7519.00" and item(d, soft)["operations"] == ["open"]
    module_did(d, soft, "open")

    # an add-on raised on the day it opened: a whole month's difference, (512 - 256) MB x 0.50, via the basket
    raised = web_call(d, f"func=vds.edit&addon_11=512&elid={vds}&sok=ok")
    assert "billorder.id" in raised and balance(d, d.alice) == "7519.00"
    web_call(d, "func=basket.pay")
    assert balance(d, d.alice) == "7391.00" and item(d, vds)["operations"] == ["setparam"]
    assert d.stored("SELECT params FROM runningoperation WHERE item = ?", vds) == [('{"addon": 11, "value": 512}',)]
    module_did(d, vds, "setparam")
    assert d.stored("SELECT intvalue FROM item WHERE parent = ? AND pricelist = 11", vds) == [(512,)]

    # ten days later, mail raised with skipbasket: (1024 - 512) MB x 0.10 for the days left, rounded once
    shift_clock(d, 10 * 86400)
    opened = date.fromisoformat(d.stored("SELECT opendate FROM item WHERE id = ?", vhost)[0][0][:10])
    expiry = date.fromisoformat(item(d, vhost)["expiredate"])
    days, left = (expiry - opened).days, (expiry - opened).days - 10
    web_call(d, f"func=vhost.edit&addon_34=1024&elid={vhost}&skipbasket=on&sok=ok")
    expected = Decimal("7391.00") - cents(Decimal("51.20") * left / days)
    assert Decimal(balance(d, d.alice)) == expected
    module_did(d, vhost, "setparam")
    # lowered again: the tariff returns nothing (no return policy), the value changes
    web_call(d, f"func=vhost.edit&addon_34=512&elid={vhost}&skipbasket=on&sok=ok")
    assert Decimal(balance(d, d.alice)) == expected
    module_did(d, vhost, "setparam")

    # renewal: the period's price with today's add-ons, expiry a calendar month on
    renewed = web_call(d, f"func=service.prolong&period=1&elid={vhost}&skipbasket=on&sok=ok")
    assert "error" not in renewed
    assert Decimal(balance(d, d.alice)) == expected - 300
    assert item(d, vhost)["expiredate"] > expiry.isoformat() and item(d, vhost)["operations"] == ["prolong"]
    module_did(d, vhost, "prolong")
    books_balance(d)

    # auto-renewal set and cleared (the seed's soft.edit)
    web_call(d, f"func=soft.edit&autoprolong=1&elid={soft}&sok=ok")
    assert item(d, soft)["autoprolong"] == 1
    web_call(d, f"func=soft.edit&autoprolong=null&elid={soft}&sok=ok")
    assert item(d, soft)["autoprolong"] is None

    # staff suspend and resume; the module confirms each
    d.ok("vds.suspend", f"elid={vds}")
    assert item(d, vds)["status"] == 5 and item(d, vds)["operations"] == ["suspend"]
    module_did(d, vds, "suspend")
    assert item(d, vds)["status"] == 3
    d.ok("vds.resume", f"elid={vds}")
    module_did(d, vds, "resume")
    assert item(d, vds)["status"] == 2

    # deleted by the client (the seed's vds.delete); then it can no longer be renewed
    assert "error" not in web_call(d, f"func=vds.delete&elid={vds}&sok=ok")
    assert item(d, vds)["operations"] == ["close"]
    module_did(d, vds, "close")
    assert item(d, vds)["status"] == 4
    refused = web_call(d, f"func=service.prolong&period=1&elid={vds}&skipbasket=on&sok=ok")
    assert refused["error"]["$type"] == "value"
    assert Decimal(balance(d, d.alice)) == expected - 300
    books_balance(d)


def test_a_repeated_order_with_the_same_remoteid_returns_the_first(shop):
    account = shop.new_account("remote@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "5000")
    auth = f"remote@example.com:{CLIENT_PASSWORD}"
    first = web_call(shop, VDS_URL + "&remoteid=R-77", auth)
    again = web_call(shop, VDS_URL + "&remoteid=R-77", auth)
    assert first["service_id"]["$"] == again["service_id"]["$"]
    assert balance(shop, account) == "2969.00"       # 5000 - 2031, once
    other = web_call(shop, VDS_URL + "&remoteid=R-78", auth)
    assert other["service_id"]["$"] != first["service_id"]["$"] and balance(shop, account) == "938.00"


def test_discount_and_tax_apply_to_an_order(shop):
    account = shop.new_account("taxed@example.com", f"passwd={CLIENT_PASSWORD}")
    shop.create("account.discount.edit", f"plid={account}", "percentage=10")
    shop.create("account.taxrule.edit", f"plid={account}", "taxrate=20")
    top_up(shop, account, "1000")
    web_call(shop, VHOST_URL, f"taxed@example.com:{CLIENT_PASSWORD}")
    # 300 less 10 % = 270, tax included: 270 - 270 / 1.2 = 45
    assert shop.stored("SELECT amount, discountamount, taxamount, operation FROM expense WHERE account = ?",
                       account) == [(27000, 3000, 4500, "open")]
    assert balance(shop, account) == "730.00"


def test_lists_as_the_seed_describes(shop):
    account = shop.new_account("lists@example.com", f"passwd={CLIENT_PASSWORD}", "name=Пример Примерович")
    top_up(shop, account, "20000")
    auth = f"lists@example.com:{CLIENT_PASSWORD}"
    dedic = int(web_call(shop, DEDIC_URL.replace("sok=ok", "skipbasket=on&sok=ok"), auth)["service_id"]["$"])
    module_did(shop, dedic, "open")
    response, body = shop.get(authinfo=ADMIN, func="dedic", filter="on", account="Пример Примерович "
                              "(lists@example.com)", out="json", status="2")
    rows = elems(json.loads(body)["doc"])
    assert [row["id"]["$"] for row in rows] == [str(dedic)]
    assert rows[0]["item_status"]["$orig"] == "2" and rows[0]["cost"]["$"] == f"{DEDIC_PRICE} RUB"
    assert {"id", "domain", "pricelist", "period", "cost", "item_status", "expiredate"} <= set(rows[0])
    web_call(shop, VHOST_URL, auth)
    renewing = elems(web_call(shop, "func=vhost", auth))[0]
    assert renewing["autoprolong"]["$"] == "1" and renewing["period"]["$"] == "1"
    response, body = shop.get(authinfo=auth, func="dedic", clickstat="yes", out="xml")
    assert f"<id>{dedic}</id>" in body and "<elem>" in body
    # a client sees only its own services
    assert str(dedic) not in {row["id"]["$"] for row in elems(web_call(shop, "func=dedic"))}


@pytest.mark.parametrize("query, error", [
    ("func=v2.vhost.order.param&pricelist=999&order_period=1&sok=ok", "value(pricelist)"),
    ("func=v2.vhost.order.param&pricelist=6&order_period=1&sok=ok", "value(pricelist)"),
    ("func=v2.vhost.order.param&pricelist=2&order_period=3&sok=ok", "value(order_period)"),
    ("func=v2.vhost.order.param&pricelist=2&order_period=soon&sok=ok", "value(order_period)"),
    ("func=v2.vhost.order.param&pricelist=2&order_period=1&addon_5=101&sok=ok", "value(addon_5)"),
    ("func=v2.vhost.order.param&pricelist=2&order_period=1&addon_9=1&sok=ok", "value(addon_9)"),
    ("func=v2.vhost.order.param&pricelist=2&order_period=1&domain=bad%20name&sok=ok", "value(domain)"),
    ("func=v2.vds.order.param&pricelist=6&order_period=1&ostempl=Windows&sok=ok", "value(ostempl)"),
    ("func=v2.vds.order.param&pricelist=6&order_period=1&addon_11=300&sok=ok", "value(addon_11)"),
    ("func=v2.dedic.order.param&pricelist=32&order_period=1&skipbasket=on&sok=ok", "balance(subaccount)"),
    ("func=v2.nosuchtype.order.param&pricelist=2&order_period=1&sok=ok", "func(v2.nosuchtype.order.param)"),
])
def test_a_bad_order_is_a_clear_error_and_writes_nothing(shop, query, error):
    email = f"bad{len(shop.stored('SELECT id FROM account'))}@example.com"
    shop.new_account(email, f"passwd={CLIENT_PASSWORD}")
    before = shop.stored("SELECT (SELECT count(*) FROM item), (SELECT count(*) FROM expense), "
                         "(SELECT count(*) FROM billorder_line), (SELECT count(*) FROM runningoperation)")
    doc = web_call(shop, query, f"{email}:{CLIENT_PASSWORD}")
    assert f"{doc['error']['$type']}({doc['error']['$object']})" == error
    assert shop.stored("SELECT (SELECT count(*) FROM item), (SELECT count(*) FROM expense), "
                       "(SELECT count(*) FROM billorder_line), (SELECT count(*) FROM runningoperation)") == before


def test_a_client_cannot_touch_another_clients_service_nor_staff_fields(shop):
    owner = shop.new_account("owner@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, owner, "1000")
    own = f"owner@example.com:{CLIENT_PASSWORD}"
    vhost = web_call(shop, VHOST_URL, own)["service_id"]["$"]
    assert web_call(shop, f"func=vhost.edit&elid={vhost}", BOB)["error"]["$type"] == "missed"
    assert web_call(shop, f"func=vhost.delete&elid={vhost}&sok=ok", BOB)["error"]["$type"] == "missed"
    assert web_call(shop, f"func=vhost.edit&elid={vhost}&ip=8.8.8.8&sok=ok", own)["error"]["$type"] == "access"
    shown = web_call(shop, f"func=vhost.edit&elid={vhost}", own)
    assert web_call(shop, f"func=vhost.edit&elid={vhost}&domain={shown['domain']['$']}&autoprolong=1&sok=ok",
                    own).get("ok") is not None
    # staff may (the seed's admin vds.edit): domain, ip, user name, server
    assert web_call(shop, f"func=vhost.edit&elid={vhost}&userpassword=mine&sok=ok", own)["error"]["$type"] == "access"
    shop.ok("vhost.edit", f"elid={vhost}", "username=user134", "userpassword=jYh4nsqe", "domain=company.com",
            "ip=8.8.8.8", "serverid=node-3", "sok=ok")
    assert shop.stored("SELECT domain, ip, username, serverid FROM item WHERE id = ?", int(vhost)) == [
        ("company.com", "8.8.8.8", "user134", "node-3")]
    [(kept, crypted)] = shop.stored("SELECT value, crypted FROM item_param WHERE item = ? AND name = 'userpassword'",
                                    int(vhost))
    assert crypted == 1 and "jYh4nsqe" not in kept and "jYh4nsqe" not in shop.log.read_text()
    assert "jYh4nsqe" not in json.dumps(web_call(shop, f"func=vhost.edit&elid={vhost}", ADMIN))
    assert web_call(shop, f"func=vds.edit&elid={vhost}", own)["error"]["$type"] == "missed"   # not a vds


def test_the_seed_order_urls_work_through_mgrctl_too(shop):
    account = shop.new_account("cli@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "10000")
    made = []
    for url in (VHOST_URL, VDS_URL, DEDIC_URL):
        pairs = [pair.split("=", 1) for pair in url.split("&")]
        func = dict(pairs)["func"]
        args = [f"{key}={unquote(value)}" for key, value in pairs if key != "func"]
        made.append(shop.ok(func, "su=cli@example.com", *args))
    assert all("service_id" in reply for reply in made) and "billorder.id" in made[2]
    assert shop.stored("SELECT o.intname FROM item i JOIN ostemplate o ON o.id = i.ostemplate WHERE i.id = ?",
                       int(made[1]["service_id"])) == [(OS,)]
    assert balance(shop, account) == "7669.00"     # 10000 - 300 - 2031; the dedic waits in the basket


def test_concurrent_orders_with_one_remoteid_make_one_service(shop):
    account = shop.new_account("same@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "1000")
    order = ("v2.vds.order.param", "su=same@example.com", "pricelist=6", "order_period=1", "remoteid=SAME",
             "skipbasket=on", "sok=ok")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: shop.call(*order), range(8)))
    assert {reply["service_id"]["$"] for reply in replies if "ok" in reply} == {
        str(i) for (i,) in shop.stored("SELECT id FROM item WHERE account = ? AND parent IS NULL", account)}
    assert all("ok" in reply for reply in replies)
    assert balance(shop, account) == "500.00"        # the VDS with every add-on at its included amount, once
    books_balance(shop)


def test_a_repeated_add_on_parameter_counts_once(shop):
    account = shop.new_account("dedic@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "6000")
    auth = f"dedic@example.com:{CLIENT_PASSWORD}"
    dedic = web_call(shop, DEDIC_URL.replace("sok=ok", "skipbasket=on&sok=ok"), auth)["service_id"]["$"]
    module_did(shop, int(dedic), "open")
    # the seed's dedic.edit shape: one add-on twice, another once; lowering returns nothing (no return policy)
    reply = web_call(shop, f"func=dedic.edit&addon_33=0&addon_33=0&addon_35=0&elid={dedic}&sok=ok", auth)
    assert "error" not in reply and balance(shop, account) == "250.00"
    assert shop.stored("SELECT pricelist, intvalue FROM item WHERE parent = ? ORDER BY pricelist", int(dedic)) == [
        (33, 0), (35, 0)]
    assert shop.stored("SELECT operation FROM runningoperation WHERE item = ?", int(dedic)) == [
        ("setparam",), ("setparam",)]


def test_a_basket_paid_by_a_method_with_commission_is_covered_to_the_cent(shop):
    account = shop.new_account("fee@example.com", f"passwd={CLIENT_PASSWORD}")
    method = shop.ok("paymethod.edit", "name=Card", "commission=2.5", "sok=ok")["id"]
    auth = f"fee@example.com:{CLIENT_PASSWORD}"
    soft = web_call(shop, "func=v2.soft.order.param&pricelist=29&order_period=1&sok=ok", auth)
    shown = web_call(shop, f"func=payment.add.pay&billorder={soft['billorder.id']['$']}", auth)
    assert shown["amount"]["$"] == "150.00"
    payment = web_call(shop, f"func=payment.add.pay&paymethod={method}&sok=ok", auth)["payment_id"]["$"]
    # 150 / (1 - 2.5 %) = 153.846… -> 153.85; less its commission 3.85 (rounded once) it credits exactly 150.00
    assert shop.stored("SELECT paymethodamount, commissionamount, subaccountamount FROM payment WHERE id = ?",
                       int(payment)) == [(15385, 385, 15000)]
    shop.ok("payment.setpaid", f"elid={payment}")
    assert balance(shop, account) == "0.00" and item(shop, int(soft["service_id"]["$"]))["status"] == 5
    books_balance(shop)


def test_a_payment_for_a_basket_that_cannot_be_paid_is_still_credited(shop):
    account = shop.new_account("late@example.com", f"passwd={CLIENT_PASSWORD}")
    auth = f"late@example.com:{CLIENT_PASSWORD}"
    soft = web_call(shop, "func=v2.soft.order.param&pricelist=29&order_period=1&sok=ok", auth)
    payment = web_call(shop, f"func=payment.add.pay&paymethod={shop.method}&sok=ok", auth)["payment_id"]["$"]
    shop.ok("soft.delete", f"elid={soft['service_id']['$']}")      # staff delete the order before the money comes
    line = shop.ok("v2.soft.order.param", "su=late@example.com", "pricelist=29", "order_period=1", "sok=ok")
    shop.stored("UPDATE item SET status = 4 WHERE id = ?", int(line["service_id"]))   # its line cannot be opened
    shop.ok("payment.setpaid", f"elid={payment}")
    assert balance(shop, account) == "150.00"             # credited; the basket stays open, nothing charged
    assert shop.stored("SELECT count(*) FROM expense WHERE account = ?", account) == [(0,)]
    assert elems(web_call(shop, "func=basket", auth)) != []
    books_balance(shop)


def test_one_charge_per_service_and_period_start_is_a_database_key(shop):
    account = shop.new_account("key@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "1000")
    vhost = int(web_call(shop, VHOST_URL, f"key@example.com:{CLIENT_PASSWORD}")["service_id"]["$"])
    subaccount, cdate = shop.stored("SELECT subaccount, cdate FROM expense WHERE item = ?", vhost)[0]
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        shop.stored("INSERT INTO expense (account, subaccount, item, operation, amount, notpayd, realdate, cdate) "
                    "VALUES (?, ?, ?, 'open', 1, 1, ?, ?)", account, subaccount, vhost, cdate, cdate)


def test_a_product_type_added_today_has_its_functions_at_once(shop):
    shop.create("itemtype.edit", "name=Backup storage", "intname=backup")
    tariff = shop.create("pricelist.edit", "itemtype=backup", "name=Backup 100", "monthly643=40")
    account = shop.new_account("backup@example.com", f"passwd={CLIENT_PASSWORD}")
    top_up(shop, account, "100")
    auth = f"backup@example.com:{CLIENT_PASSWORD}"
    ordered = web_call(shop, f"func=v2.backup.order.param&pricelist={tariff}&order_period=1&skipbasket=on&sok=ok",
                       auth)
    assert [row["id"]["$"] for row in elems(web_call(shop, "func=backup", auth))] == [ordered["service_id"]["$"]]
    assert balance(shop, account) == "60.00"
    assert web_call(shop, "func=nosuchtype", auth)["error"]["$type"] == "func"
