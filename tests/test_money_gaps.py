"""The money lists' saved filters, payments credited in another currency than their method's, and the tax
rule and discount an expense takes -- through the real daemon and mgrctl."""


import pytest
from conftest import Daemon


def listed(daemon, func, *params):
    return [e["id"] for e in daemon.call(func, *params, out="JSONdata").get("elem", [])]


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("moneygaps")).start()
    d.method = int(d.ok("paymethod.edit", "name=Wire", "sok=ok")["id"])
    d.cash = int(d.ok("paymethod.edit", "name=Cash", "sok=ok")["id"])
    yield d
    d.stop()


def pay(panel, account, amount, method):
    payment = int(panel.ok("payment.add", f"plid={account}", f"paymethod={method}", f"amount={amount}",
                     "sok=ok")["payment_id"])
    panel.ok("payment.setpaid", f"elid={payment}")
    return payment


def test_a_saved_payment_filter_applies_until_cleared(panel):
    account, _ = panel.new_client("filter-pay@example.com")
    wire, cash = pay(panel, account, "10", panel.method), pay(panel, account, "20", panel.cash)
    assert listed(panel, "account.payment", f"plid={account}") == [str(wire), str(cash)]
    panel.ok("account.payment.filter", f"paymethod={panel.cash}", "sok=ok")
    assert panel.stored("SELECT func FROM list_filter WHERE func = 'account.payment'") == [("account.payment",)]
    assert listed(panel, "account.payment", f"plid={account}") == [str(cash)]
    form = panel.call("account.payment.filter", out="JSONdata")
    assert form["paymethod"] == str(panel.cash) and form["number"] == ""
    # a call's own filter=on values win over the saved ones
    assert listed(panel, "account.payment", f"plid={account}", "filter=on", f"number={wire}") == [str(wire)]
    panel.ok("account.payment.filter", "sok=ok")     # sent empty: cleared
    assert listed(panel, "account.payment", f"plid={account}") == [str(wire), str(cash)]
    assert panel.stored("SELECT count(*) FROM list_filter WHERE func = 'account.payment'") == [(0,)]


def test_a_saved_expense_filter_applies_and_bad_values_save_nothing(panel):
    account, subaccount = panel.new_client("filter-exp@example.com")
    pay(panel, account, "100", panel.method)
    manual = panel.ok("subaccount.expense.edit", f"plid={account}", "amount=1", "sok=ok")["id"]
    opened = panel.ok("subaccount.expense.edit", f"plid={account}", "amount=2", "operation=open", "sok=ok")["id"]
    panel.ok("subaccount.expense.filter", "operation=open", "sok=ok")
    assert listed(panel, "subaccount.expense", f"plid={account}") == [opened]
    assert panel.error("account.payment.filter", "status=42", "sok=ok")[0] == "value"
    assert panel.error("account.payment.filter", "paymethod=x", "sok=ok", lang="ru")[0] == "value"
    assert panel.stored("SELECT count(*) FROM list_filter WHERE func = 'account.payment'") == [(0,)]
    # each list keeps its own filter: the payments are not filtered by the expenses' one
    assert len(listed(panel, "account.payment", f"plid={account}")) == 1
    panel.ok("subaccount.expense.filter", "sok=ok")
    assert listed(panel, "subaccount.expense", f"plid={account}") == [manual, opened]


def test_the_client_filter_still_works_through_the_shared_mechanism(panel):
    panel.new_client("filter-acc-one@example.com")
    panel.new_client("filter-acc-two@example.com")
    panel.ok("account.setfilter", "email=filter-acc-one")
    assert [e["email"] for e in panel.call("account", out="JSONdata")["elem"]] == ["filter-acc-one@example.com"]
    assert panel.call("account.filter", out="JSONdata")["email"] == "filter-acc-one"
    panel.ok("account.filter", "sok=ok")
    assert len(panel.call("account", out="JSONdata")["elem"]) > 1


def test_a_payment_in_another_currency_credits_the_converted_amount_frozen_at_creation(panel):
    dollars = int(panel.ok("paymethod.edit", "name=Card USD", "currency=USD", "commission=1", "sok=ok")["id"])
    account, subaccount = panel.new_client("usd-payer@example.com")
    assert panel.stored("SELECT c.iso FROM subaccount s JOIN currency c ON c.id = s.currency WHERE s.id = ?",
                  subaccount) == [("RUB",)]
    # no rate: a clear error in the caller's language, and nothing written
    assert panel.error("payment.add", f"plid={account}", f"paymethod={dollars}", "amount=10", "sok=ok") == (
        "value", "No currency rate converts USD -> RUB now: add one (account.currencyrate) and try again")
    assert panel.error("payment.add", f"plid={account}", f"paymethod={dollars}", "amount=10", "sok=ok",
                 lang="ru")[1].startswith("Нет курса валют")
    assert panel.stored("SELECT count(*) FROM payment WHERE account = ?", account) == [(0,)]
    panel.ok("account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB", "rate=92.5",
       "ratedate=2026-01-01", "sok=ok")
    payment = int(panel.ok("payment.add", f"plid={account}", f"paymethod={dollars}", "amount=10",
                     "sok=ok")["payment_id"])
    # 10.00 USD less 1 % commission is 9.90 USD, at 92.5 is 915.75 RUB, stored on the payment
    assert panel.stored("SELECT subaccount, paymethodamount, commissionamount, subaccountamount FROM payment "
                  "WHERE id = ?", payment) == [(subaccount, 1000, 10, 91575)]
    # a newer rate changes nothing of a payment already made: crediting moves what was stored
    panel.ok("account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB", "rate=100",
       "ratedate=2026-01-02", "sok=ok")
    panel.ok("payment.setpaid", f"elid={payment}")
    assert panel.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount) == [(91575,)]
    assert panel.stored("SELECT amount FROM journal WHERE kind = 'payment' AND ref_id = ?", payment) == [(91575,)]
    shown = {e["id"]: e for e in panel.call("account.payment", f"plid={account}", out="JSONdata")["elem"]}
    assert (shown[str(payment)]["subaccountamount_iso"], shown[str(payment)]["paymethodamount_iso"]) == (
        "915.75 RUB", "10.00 USD")


def test_a_clients_own_rate_wins_when_its_payment_is_converted(panel):
    euros = int(panel.ok("paymethod.edit", "name=Card EUR", "currency=EUR", "sok=ok")["id"])
    panel.ok("account.currencyrate.edit", "currency_base=EUR", "currency_relate=RUB", "rate=95",
       "ratedate=2026-01-03", "sok=ok")
    account, subaccount = panel.new_client("eur-own-rate@example.com")
    panel.ok("account.currencyrate.edit", f"plid={account}", "currency_base=EUR", "currency_relate=RUB",
       "rate=90", "ratedate=2025-06-01", "sok=ok")
    payment = pay(panel, account, "2.50", euros)
    assert panel.stored("SELECT subaccountamount FROM payment WHERE id = ?", payment) == [(22500,)]
    assert panel.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount) == [(22500,)]
    assert [e["problem"] for e in panel.call("ledger.check", out="JSONdata").get("elem", [])] == []


def expense(panel, account, *params):
    return int(panel.ok("subaccount.expense.edit", f"plid={account}", "sok=ok", *params)["id"])


def charged(panel, elid):
    return panel.stored("SELECT amount, taxamount, taxrate, discount, discountamount, notpayd FROM expense "
                  "WHERE id = ?", elid)[0]


def test_an_expense_takes_the_clients_discount_and_tax_rule_unless_given(panel):
    account, subaccount = panel.new_client("taxed@example.com")
    pay(panel, account, "1000", panel.method)
    panel.ok("account.taxrule.edit", f"plid={account}", "taxrate=20", "sok=ok")
    discount = int(panel.ok("account.discount.edit", f"plid={account}", "percentage=10", "actiontype=all",
                      "sok=ok")["id"])
    # an order: 100.00 less 10 % is 90.00 charged, 20 % tax included in it is 15.00
    opened = expense(panel, account, "amount=100", "operation=open")
    assert charged(panel, opened) == (9000, 1500, "20", discount, 1000, 0)
    # a manual charge gets no discount (discounts are for orders and renewals), but the tax rule
    manual = expense(panel, account, "amount=100")
    assert charged(panel, manual) == (10000, 1667, "20", None, 0, 0)
    # the caller's own values win: taxrate (included) and discountamount (0: none)
    given = expense(panel, account, "amount=100", "operation=prolong", "taxrate=0", "discountamount=0")
    assert charged(panel, given) == (10000, 0, "0", None, 0, 0)
    by_hand = expense(panel, account, "amount=100", "operation=open", "discountamount=2.5", "taxrate=10")
    assert charged(panel, by_hand) == (9750, 886, "10", None, 250, 0)
    assert panel.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount) == [(100000 - 9000 - 10000
                                                                                          - 10000 - 9750,)]
    form = panel.call("subaccount.expense.edit", f"elid={opened}", out="JSONdata")
    assert (form["discountamount"], form["discount"], form["taxamount"]) == ("10.00", str(discount), "15.00")
    shown = {e["id"]: e for e in panel.call("subaccount.expense", f"plid={account}", out="JSONdata")["elem"]}
    assert (shown[str(opened)]["amount"], shown[str(opened)]["discountamount"]) == ("90.00", "10.00")


def test_a_discount_taking_everything_and_bad_discounts_are_refused(panel):
    account, _ = panel.new_client("free@example.com")
    pay(panel, account, "100", panel.method)
    assert panel.error("subaccount.expense.edit", f"plid={account}", "amount=5", "discountamount=5", "sok=ok") == (
        "value", "The discount 5.00 takes the whole amount: there is nothing to charge")
    assert panel.error("subaccount.expense.edit", f"plid={account}", "amount=5", "discountamount=6", "sok=ok",
                 lang="ru")[0] == "value"
    assert panel.error("subaccount.expense.edit", f"plid={account}", "amount=5", "discountamount=x",
                 "sok=ok")[0] == "value"
    assert panel.stored("SELECT count(*) FROM expense WHERE account = ?", account) == [(0,)]


def test_a_tax_rule_on_top_adds_its_tax_and_no_rule_is_no_tax(panel):
    account, subaccount = panel.new_client("on-top@example.com")
    pay(panel, account, "1000", panel.method)
    untaxed = expense(panel, account, "amount=100")
    assert charged(panel, untaxed) == (10000, 0, "0", None, 0, 0)
    panel.ok("account.taxrule.edit", f"plid={account}", "taxrate=10", "included=off", "sok=ok")
    taxed = expense(panel, account, "amount=100")
    assert charged(panel, taxed) == (11000, 1000, "10", None, 0, 0)
    assert panel.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount) == [(100000 - 10000 - 11000,)]
    assert [e["problem"] for e in panel.call("ledger.check", out="JSONdata").get("elem", [])] == []
