"""Access levels for every function: a client reaches only client functions,
and through them only its own account's data."""

import pytest
from conftest import Daemon

from billmgr.registry import Registry

PASSWORD = "Cl1ent-secret"
REGISTRY = Registry.load()
STAFF_ONLY = sorted(name for name, spec in REGISTRY.callable().items() if spec.levels == {"admin"})
FOR_CLIENTS = sorted(name for name, spec in REGISTRY.callable().items() if "user" in spec.levels)


@pytest.fixture(scope="module")
def two_clients(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("access")).start()
    d.alice = d.new_account("alice@example.com", f"passwd={PASSWORD}")
    d.bob = d.new_account("bob@example.com", f"passwd={PASSWORD}")
    for client in (d.alice, d.bob):
        d.mgrctl("-m", "billmgr", "ticket.write.account", f"elid={client}", f"subject=T{client}",
                 "message=m", "sok=ok")
    d.as_alice = f"authinfo=alice@example.com:{PASSWORD}"
    d.method = d.mgrctl("-m", "billmgr", "paymethod.edit", "name=Wire", "sok=ok").stdout.split("id=")[1].strip()
    subaccount = d.mgrctl("-m", "billmgr", "subaccount.edit", f"plid={d.bob}", "sok=ok").stdout.split("id=")[1].strip()
    d.mgrctl("-m", "billmgr", "payment.add", f"plid={d.bob}", f"paymethod={d.method}", "amount=5", "sok=ok")
    d.mgrctl("-m", "billmgr", "subaccount.expense.edit", f"plid={d.bob}", f"subaccount={subaccount}", "amount=1",
             "postpaid=on", "sok=ok")
    tariff = d.create("pricelist.edit", "itemtype=vds", "name=Free VDS", "monthly643=0")
    as_bob = ("su=bob@example.com", f"pricelist={tariff}", "order_period=1")
    d.bob_vds = d.ok("v2.vds.order.param", *as_bob, "skipbasket=on", "sok=ok")["service_id"]
    d.bob_billorder = d.ok("v2.vds.order.param", *as_bob, "sok=ok")["billorder.id"]
    d.bob_line = d.rows("basket", "su=bob@example.com")[0]["id"]
    d.tariff = tariff
    yield d
    d.stop()


@pytest.mark.parametrize("func", STAFF_ONLY)
def test_staff_functions_refuse_clients(two_clients, func):
    result = two_clients.mgrctl("-m", "billmgr", func, f"elid={two_clients.bob}", f"plid={two_clients.bob}",
                                "sok=ok", two_clients.as_alice)
    assert result.returncode == 1
    assert result.stderr.startswith(f"ERROR access({func})"), result.stderr


def _bob_user(d):
    return d.call("user", f"plid={d.bob}", out="JSONdata")["elem"][0]["id"]


def _bob_ticket(d):
    return next(t["id"] for t in d.call("ticket", out="JSONdata")["elem"] if t["subject"] == f"T{d.bob}")


def check_whoami(d):
    assert d.call("whoami", d.as_alice, out="JSONdata")["account"] == str(d.alice)


def check_user(d):
    names = [u["name"] for u in d.call("user", d.as_alice, f"plid={d.bob}", out="JSONdata")["elem"]]
    assert names == ["alice@example.com"]


def check_user_edit(d):
    for extra in ([], ["realname=stolen", "sok=ok"]):
        result = d.mgrctl("-m", "billmgr", "user.edit", f"elid={_bob_user(d)}", *extra, d.as_alice)
        assert result.stderr.startswith("ERROR missed(user)")


def check_user_delete(d):
    d.mgrctl("-m", "billmgr", "user.delete", f"elid={_bob_user(d)}", d.as_alice)
    assert d.call("user", f"plid={d.bob}", out="JSONdata")["p_elems"] == "1"


def check_ticket(d):
    subjects = [t["subject"] for t in d.call("ticket", d.as_alice, out="JSONdata")["elem"]]
    assert subjects == [f"T{d.alice}"]


def check_ticket_edit(d):
    for extra in ([], ["message=sneaky", "sok=ok"]):
        result = d.mgrctl("-m", "billmgr", "ticket.edit", f"elid={_bob_ticket(d)}", *extra, d.as_alice)
        assert result.stderr.startswith("ERROR missed(ticket)")


def check_account_payment(d):
    assert d.call("account.payment", d.as_alice, f"plid={d.bob}", out="JSONdata").get("elem", []) == []


def check_payment_add(d):
    added = d.call("payment.add", d.as_alice, f"plid={d.bob}", f"paymethod={d.method}", "amount=7", "sok=ok")
    mine = d.call("account.payment", d.as_alice, out="JSONdata")["elem"]
    assert added["payment_id"]["$"] in [p["id"] for p in mine]
    assert {p["account_name"] for p in mine} == {"alice@example.com"}


def check_return_pages(d):
    """payment.success / .fail / .pending show the client its own payment, never another's."""
    bobs = d.rows("account.payment", f"plid={d.bob}")[0]["id"]
    mine = d.call("payment.add", d.as_alice, f"paymethod={d.method}", "amount=2", "sok=ok")["payment_id"]["$"]
    for func in ("payment.success", "payment.fail", "payment.pending"):
        result = d.mgrctl("-m", "billmgr", func, f"elid={bobs}", d.as_alice)
        assert result.stderr.startswith("ERROR missed(payment)"), result.stderr
        assert d.call(func, f"elid={mine}", d.as_alice, out="JSONdata")["elid"] == mine


def check_subaccount_expense(d):
    assert d.call("subaccount.expense", d.as_alice, f"plid={d.bob}", out="JSONdata").get("elem", []) == []
    assert d.call("subaccount.expense", f"plid={d.bob}", out="JSONdata")["p_elems"] == "1"


def check_payment(d):
    kept = d.call("payment.add", d.as_alice, f"paymethod={d.method}", "amount=9", "sok=ok")["payment_id"]["$"]
    left = d.call("payment.add", d.as_alice, f"paymethod={d.method}", "amount=3", "sok=ok")["payment_id"]["$"]
    assert d.run("payment.edit", f"elid={left}", "status=8", "sok=ok").returncode == 0   # a checkout she left
    everyone = {p["id"]: p for p in d.rows("account.payment")}
    mine = d.rows("payment", d.as_alice, f"plid={d.bob}")
    assert kept in [p["id"] for p in mine] and left not in [p["id"] for p in mine]
    assert all(everyone[p["id"]]["account_name"] == "alice@example.com" for p in mine)
    assert set(mine[0]) <= {"id", "number", "create_date", "pay_date", "paymethod_name", "subaccountamount_iso",
                            "paymethodamount_iso", "status"}


def check_expense(d):
    assert d.rows("expense", d.as_alice, f"plid={d.bob}") == []
    assert d.call("subaccount.expense", f"plid={d.bob}", out="JSONdata")["p_elems"] == "1"


def check_account_discount(d):
    d.mgrctl("-m", "billmgr", "account.discount.edit", f"plid={d.bob}", "percentage=9", "name=bobs", "sok=ok")
    for extra in ([], [f"plid={d.bob}"]):
        assert d.call("account.discount", d.as_alice, *extra, out="JSONdata")["p_elems"] == "0"


def check_desktop(d):
    shown = d.call("desktop", d.as_alice, f"plid={d.bob}", f"elid={d.bob}", out="JSONdata")
    assert (shown["account"], shown["email"]) == (str(d.alice), "alice@example.com")


def _refused(d, func, *params, error):
    result = d.mgrctl("-m", "billmgr", func, *params, d.as_alice)
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr


def check_vds(d):
    def owned(account):
        return {str(i) for (i,) in d.stored("SELECT id FROM item WHERE account = ? AND parent IS NULL", account)}
    assert {row["id"] for row in d.rows("vds", d.as_alice, f"plid={d.bob}")} == owned(d.alice)
    assert {row["id"] for row in d.rows("vds", "su=bob@example.com")} == owned(d.bob) and d.bob_vds in owned(d.bob)


def check_order(d, func="v2.vds.order.param"):
    made = d.call(func, d.as_alice, f"plid={d.bob}", f"pricelist={d.tariff}", "order_period=1", "skipbasket=on",
                  "sok=ok")["service_id"]["$"]
    assert d.stored("SELECT account FROM item WHERE id = ?", int(made)) == [(d.alice,)]


def check_vds_edit(d):
    for extra in ([], ["autoprolong=1", "sok=ok"]):
        _refused(d, "vds.edit", f"elid={d.bob_vds}", *extra, error="missed(item)")
    assert d.stored("SELECT autoprolong FROM item WHERE id = ?", int(d.bob_vds)) == [(None,)]


def check_vds_delete(d):
    _refused(d, "vds.delete", f"elid={d.bob_vds}", "sok=ok", error="missed(item)")
    assert d.stored("SELECT status FROM item WHERE id = ?", int(d.bob_vds)) == [(5,)]


def check_service_prolong(d):
    _refused(d, "service.prolong", f"elid={d.bob_vds}", "period=1", "skipbasket=on", "sok=ok", error="missed(item)")


def check_service_stat(d):
    _refused(d, "service.stat", f"elid={d.bob_vds}", error="missed(item)")


def check_basket(d):
    assert d.rows("basket", d.as_alice, f"plid={d.bob}") == []


def check_basket_delete(d):
    _refused(d, "basket.delete", f"elid={d.bob_line}", error="missed(basket)")
    assert [row["id"] for row in d.rows("basket", "su=bob@example.com")] == [d.bob_line]


def check_basket_pay(d):
    _refused(d, "basket.pay", f"billorder={d.bob_billorder}", error="missed(billorder)")


def check_payment_add_pay(d):
    _refused(d, "payment.add.pay", f"billorder={d.bob_billorder}", f"paymethod={d.method}", "sok=ok",
             error="missed(billorder)")


CONFINEMENT = {"vds": check_vds, "v2.vds.order.param": check_order,
               "vds.order.param": lambda d: check_order(d, "vds.order.param"), "vds.edit": check_vds_edit,
               "vds.delete": check_vds_delete, "service.prolong": check_service_prolong, "basket": check_basket,
               "service.stat": check_service_stat,
               "basket.delete": check_basket_delete, "basket.pay": check_basket_pay,
               "payment.add.pay": check_payment_add_pay,
               "account.payment": check_account_payment, "payment.add": check_payment_add,
               "subaccount.expense": check_subaccount_expense, "payment": check_payment, "expense": check_expense,
               "account.discount": check_account_discount, "desktop": check_desktop,
               "whoami": check_whoami, "user": check_user, "user.edit": check_user_edit,
               "user.delete": check_user_delete, "ticket": check_ticket, "ticket.edit": check_ticket_edit,
               "payment.success": check_return_pages, "payment.fail": check_return_pages,
               "payment.pending": check_return_pages}


def test_every_client_function_has_a_confinement_test():
    assert sorted(CONFINEMENT) == FOR_CLIENTS


@pytest.mark.parametrize("func", FOR_CLIENTS)
def test_clients_see_only_their_own_data(two_clients, func):
    CONFINEMENT[func](two_clients)


@pytest.mark.parametrize("lang, text", [("en", "call it as the client"), ("ru", "от имени клиента")])
def test_a_clients_own_view_asks_the_superuser_to_act_as_a_client(two_clients, lang, text):
    refused = two_clients.call("desktop", f"lang={lang}", out="JSONdata")["error"]
    assert refused["type"] == "access" and text in refused["msg"]
    shown = two_clients.call("desktop", "su=alice@example.com", out="JSONdata")
    assert shown["email"] == "alice@example.com"
