"""Payments and expenses through the real daemon and mgrctl: create, credit once, pay expenses oldest
first, refund, the gateway's calls, errors in both languages, and the checks that prove the books."""

import subprocess

import pytest
from conftest import BILLMGRD, Daemon

from billmgr.store import Store
from billmgr.store.postgres import PostgresStore


def balance(daemon, subaccount):
    return daemon.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0]


def problems(daemon):
    return [e["problem"] for e in daemon.call("ledger.check", out="JSONdata").get("elem", [])]


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("payments")).start()
    d.method = int(d.ok("paymethod.edit", "name=Wire", "commission=2.5", "minamount=1", "maxamount=100000",
                      "allowrefund=on", "sok=ok")["id"])
    d.norefund = int(d.ok("paymethod.edit", "name=Cash", "sok=ok")["id"])
    yield d
    d.stop()


def pay(panel, account, amount, method=None, setpaid=True):
    payment = int(panel.ok("payment.add", f"plid={account}", f"paymethod={method or panel.method}",
                     f"amount={amount}", "sok=yes")["payment_id"])
    if setpaid:
        panel.ok("payment.setpaid", f"elid={payment}")
    return payment


def charge(panel, account, subaccount, amount, *params):
    return int(panel.ok("subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}",
                  f"amount={amount}", "sok=ok", *params)["id"])


def test_payment_add_takes_commission_and_credits_once(panel):
    account, subaccount = panel.new_client("pay@example.com")
    payment = pay(panel, account, "100.00", setpaid=False)
    row = panel.stored("SELECT status, subaccountamount, paymethodamount, commissionamount, usedamount, number "
                 "FROM payment WHERE id = ?", payment)[0]
    assert row == (1, 9750, 10000, 250, 0, str(payment))
    panel.ok("payment.setpaid", f"elid={payment}", "info=gw", "externalid=X-1")
    assert balance(panel, subaccount) == 9750
    assert panel.error("payment.setpaid", f"elid={payment}")[0] == "value"
    assert panel.error("payment.setpaid", f"elid={payment}", lang="ru")[1].startswith("Платёж")
    assert balance(panel, subaccount) == 9750
    assert panel.stored("SELECT count(*) FROM journal WHERE kind = 'payment' AND ref_id = ?", payment) == [(1,)]
    assert panel.stored("SELECT status, info, externalid FROM payment WHERE id = ?", payment) == [(4, "gw", "X-1")]
    history = panel.call("payment.history", f"elid={payment}", out="JSONdata")["elem"]
    assert [h["desc"] for h in history][-1].startswith("status: 1 -> 4")
    listed = panel.call("account.payment", f"plid={account}", out="JSONdata")["elem"]
    assert [(e["id"], e["subaccountamount_iso"], e["paymethodamount_iso"], e["status"]) for e in listed] == [
        (str(payment), "97.50 RUB", "100.00 RUB", "Paid")]


def test_the_journal_refuses_a_second_credit_even_past_the_code(panel):
    account, subaccount = panel.new_client("unique@example.com")
    payment = pay(panel, account, "10")
    with pytest.raises((Store.IntegrityError, PostgresStore.IntegrityError)):
        panel.stored("INSERT INTO journal (subaccount, amount, kind, ref_kind, ref_id, at, actor) "
                     "VALUES (?, 1, 'payment', 'payment', ?, '', 'test')", subaccount, payment)


def test_limits_and_bad_input_are_clear_errors(panel):
    account, _ = panel.new_client("limits@example.com")
    assert panel.error("payment.add", f"plid={account}", f"paymethod={panel.method}", "amount=0.5", "sok=ok") == (
        "value", "The amount is outside the payment method's limits: 1.00 - 100000.00")
    assert panel.error("payment.add", f"plid={account}", f"paymethod={panel.method}", "amount=abc", "sok=ok",
                 lang="ru")[0] == "value"
    assert panel.error("payment.add", f"plid={account}", "paymethod=999", "amount=5", "sok=ok")[0] == "missed"
    assert panel.error("payment.setpaid", "elid=999999")[0] == "missed"
    assert panel.stored("SELECT count(*) FROM payment WHERE account = ?", account) == [(0,)]


def test_expenses_debit_and_are_paid_oldest_first(panel):
    account, subaccount = panel.new_client("exp@example.com")
    assert panel.error("subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}", "amount=10",
                 "sok=ok") == ("balance", "Insufficient funds: 0.00 RUB available")
    assert panel.stored("SELECT count(*) FROM expense WHERE account = ?", account) == [(0,)]
    first = charge(panel, account, subaccount, "30", "postpaid=on", "operation=prolong", "taxrate=20")
    second = charge(panel, account, subaccount, "50", "postpaid=on", "item=77", "name=Hosting", "name_ru=Хостинг")
    assert balance(panel, subaccount) == -8000
    assert panel.stored("SELECT name, name_ru, taxamount, notpayd, item FROM expense WHERE id IN (?, ?) ORDER BY id",
                  first, second) == [("Service renewal", "Продление услуги", 500, 3000, None),
                                     ("Hosting", "Хостинг", 0, 5000, 77)]
    payment = pay(panel, account, "40", method=panel.norefund)
    assert panel.stored("SELECT expense, amount FROM payment_expense WHERE payment = ? ORDER BY expense",
                  payment) == [(first, 3000), (second, 1000)]
    assert panel.stored("SELECT notpayd FROM expense WHERE id IN (?, ?) ORDER BY id", first, second) == [(0,), (4000,)]
    later = pay(panel, account, "100", method=panel.norefund)
    third = charge(panel, account, subaccount, "15")
    assert panel.stored("SELECT payment, amount FROM payment_expense WHERE expense = ?", third) == [(later, 1500)]
    listed = panel.call("subaccount.expense", f"plid={account}", out="JSONdata")["elem"]
    assert [(e["id"], e["amount"], e["notpayd"], e.get("payments", "")) for e in listed] == [
        (str(first), "30.00", "0.00", str(payment)), (str(second), "50.00", "0.00", f"{payment}, {later}"),
        (str(third), "15.00", "0.00", str(later))]
    assert problems(panel) == []


def test_the_seed_example_request_works_as_written(panel):
    account, subaccount = panel.new_client("seed@example.com")
    result = panel.run("subaccount.expense.edit", "amount=12.34", "item=5", "name=Name", "name_ru=Имя",
                 "operation=prolong", f"plid={account}", "postpaid=on", "sok=ok", f"subaccount={subaccount}")
    assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout
    assert balance(panel, subaccount) == -1234


def test_deleting_an_expense_gives_money_back_to_balance_and_payment(panel):
    account, subaccount = panel.new_client("undo@example.com")
    payment = pay(panel, account, "50", method=panel.norefund)
    expense = charge(panel, account, subaccount, "20")
    panel.ok("subaccount.expense.delete", f"elid={expense}")
    assert balance(panel, subaccount) == 5000
    assert panel.stored("SELECT usedamount FROM payment WHERE id = ?", payment) == [(0,)]
    assert panel.stored("SELECT amount, kind, ref_kind, ref_id FROM journal WHERE subaccount = ? ORDER BY id",
                  subaccount) == [(5000, "payment", "payment", payment), (-2000, "expense", "expense", expense),
                                  (2000, "expense", "expense", expense)]
    assert problems(panel) == []


def test_refund_within_what_is_left(panel):
    account, subaccount = panel.new_client("refund@example.com")
    payment = pay(panel, account, "100")        # 97.50 credited
    charge(panel, account, subaccount, "40")
    assert panel.error("payment.refund", f"elid={payment}", "amount=60", "sok=ok") == (
        "value", "The refund 60.00 RUB is more than the payment's refundable amount")
    refund = int(panel.ok("payment.refund", f"elid={payment}", "amount=57.50", "description=asked", "sok=ok")["id"])
    assert balance(panel, subaccount) == 0
    assert panel.stored("SELECT status, subaccountamount, refund_of FROM payment WHERE id = ?", refund) == [
        (6, -5750, payment)]
    assert panel.stored("SELECT status FROM payment WHERE id = ?", payment) == [(4,)]
    assert panel.error("payment.refund", f"elid={payment}", "amount=0.01", "sok=ok")[0] == "value"
    cash = pay(panel, account, "5", method=panel.norefund)
    assert panel.error("payment.refund", f"elid={cash}", "amount=1", "sok=ok", lang="ru")[1].startswith("Платёж")
    assert problems(panel) == []


def test_gateway_moves_and_the_transition_table(panel):
    account, subaccount = panel.new_client("gate@example.com")
    payment = pay(panel, account, "10", setpaid=False)
    panel.ok("payment.setinpay", f"elid={payment}", "externalid=T-9")
    panel.ok("payment.setnopay", f"elid={payment}", "info=expired")
    panel.ok("payment.setfraud", f"elid={payment}")
    assert panel.error("payment.setpaid", f"elid={payment}")[0] == "value"
    assert panel.error("payment.setinpay", f"elid={payment}")[0] == "value"
    panel.ok("payment.setcanceled", f"elid={payment}")
    assert panel.stored("SELECT status, externalid, info FROM payment WHERE id = ?", payment) == [
        (9, "T-9", "expired")]
    assert [h["desc"] for h in panel.call("payment.history", f"elid={payment}", out="JSONdata")["elem"]][1:] == [
        "status: 1 -> 2; externalid: T-9", "status: 2 -> 1; info: expired", "status: 1 -> 7", "status: 7 -> 9"]
    assert balance(panel, subaccount) == 0
    panel.ok("payment.delete", f"elid={payment}")
    assert panel.stored("SELECT count(*) FROM payment WHERE id = ?", payment) == [(0,)]
    paid = pay(panel, account, "10")
    assert panel.error("payment.delete", f"elid={paid}")[0] == "value"


def test_payment_info_has_the_shape_gateway_scripts_read(panel):
    panel.stored("UPDATE paymethod SET module = 'pmtest' WHERE id = ?", panel.method)   # no module installed here
    panel.stored("INSERT INTO paymethod_param (paymethod, name, value, private) VALUES (?, 'secret', 's3', 1)",
                 panel.method)
    account, _ = panel.new_client("info@example.com")
    payment = pay(panel, account, "20", setpaid=False)
    xml = panel.run("-o", "xml", "payment.info", f"elid={payment}").stdout
    from lxml import etree
    doc = etree.fromstring(xml.encode())
    assert [e.text for e in doc.findall("paymethod")][0] == str(panel.method)
    assert doc.findall("paymethod")[1].findtext("secret") == "s3"
    currency = doc.findall("currency")
    assert currency[0].text == "643"
    assert {c.tag: c.text for c in currency[1]} == {"id": "643", "name": "Russian Ruble", "iso": "RUB", "code": "643"}
    assert (doc.findtext("paymethodamount"), doc.findtext("subaccountamount"), doc.findtext("status")) == (
        "20.00", "19.50", "1")
    assert doc.find("project/id").text == "1" and doc.find("items") is not None


def test_edit_view_modify_and_status_through_the_table(panel):
    account, subaccount = panel.new_client("edit@example.com")
    created = panel.ok("payment.edit", f"plid={account}", f"paymethod={panel.norefund}", "paymethodamount=15",
                 "description=by hand", "sok=ok")
    payment = int(created["id"])
    shown = panel.call("payment.edit", f"elid={payment}")
    assert (shown["subaccountamount"]["$"], shown["status"]["$"], shown["description"]["$"]) == (
        "15.00", "1", "by hand")
    panel.ok("payment.edit", f"elid={payment}", "subaccountamount=16", "note=n", "status=4", "sok=ok")
    assert balance(panel, subaccount) == 1600
    assert panel.error("payment.edit", f"elid={payment}", "subaccountamount=17", "sok=ok")[0] == "value"
    assert panel.error("payment.edit", f"elid={payment}", "status=6", "sok=ok", lang="ru")[0] == "value"
    assert problems(panel) == []


def test_payment_expense_distribution_by_hand(panel):
    account, subaccount = panel.new_client("dist@example.com")
    expense = charge(panel, account, subaccount, "30", "postpaid=on")
    payment = pay(panel, account, "10", method=panel.norefund)      # pays 10 of the 30
    assert panel.call("payment.expense", f"plid={payment}", out="JSONdata")["elem"] == [
        {"expense": str(expense), "expense_locale_name": "Charge", "amount_iso": "10.00 RUB"}]
    panel.ok("payment.expense.delete", f"plid={payment}", f"elid={expense}")
    assert panel.stored("SELECT notpayd FROM expense WHERE id = ?", expense) == [(3000,)]
    panel.ok("payment.expense.edit", f"plid={payment}", f"expense={expense}", "amount=4", "sok=ok")
    assert panel.error("payment.expense.edit", f"plid={payment}", f"elid={expense}", "amount=11", "sok=ok")[0] == (
        "value")
    assert panel.stored("SELECT usedamount FROM payment WHERE id = ?", payment) == [(400,)]
    assert problems(panel) == []


def test_check_names_a_broken_payment_and_expense(tmp_path):
    d = Daemon(tmp_path).start()
    try:
        method = d.ok("paymethod.edit", "name=W", "sok=ok")["id"]
        account, subaccount = d.new_account("c@example.com"), None
        subaccount = d.ok("subaccount.edit", f"plid={account}", "sok=ok")["id"]
        payment = d.ok("payment.add", f"plid={account}", f"paymethod={method}", "amount=5", "sok=ok")["payment_id"]
        d.ok("payment.setpaid", f"elid={payment}")
        expense = d.ok("subaccount.expense.edit", f"plid={account}", f"subaccount={subaccount}", "amount=2",
                     "sok=ok")["id"]
    finally:
        d.stop()
    d.stored("UPDATE payment SET usedamount = 1 WHERE id = ?", int(payment))
    d.stored("UPDATE expense SET notpayd = 1 WHERE id = ?", int(expense))
    check = subprocess.run([BILLMGRD, "check"], env=d.env, capture_output=True, text=True, timeout=120)
    assert check.returncode != 0
    assert f"payment #{payment}: usedamount 0.01 RUB, its distributions sum 2.00 RUB" in check.stdout
    assert f"expense #{expense}: notpayd 0.01 RUB, amount 2.00 RUB less 2.00 RUB paid" in check.stdout
