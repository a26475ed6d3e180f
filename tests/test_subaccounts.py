"""Subaccounts through the real daemon and mgrctl: create, view, modify, suspend, resume,
refund within the credit limit, account.join through the ledger, and the balance check."""

import subprocess
from contextlib import contextmanager

import pytest
from conftest import BILLMGRD, Daemon

from billmgr import config, ledger
from billmgr.billing.text import parse
from billmgr.clock import Clock
from billmgr.context import Context
from billmgr.store import open_store


@contextmanager
def books(daemon):
    """A context in one write transaction on the daemon's own store, as a handler or the nightly run has."""
    store = open_store(config.load(str(daemon.conf)))
    try:
        with store.transaction(write=True) as db:
            yield Context(db, Clock(), "test", dialect=store.dialect)
    finally:
        store.close()


def fund(daemon, subaccount_id, amount):
    """Money in through the ledger itself (payments are a later step), on the daemon's database."""
    with books(daemon) as ctx:
        unit = ledger.subaccount(ctx.db, subaccount_id).currency
        ledger.post(ctx, subaccount_id, parse(amount, unit), "correction")


def journal(daemon, subaccount_id):
    return daemon.stored("SELECT amount, kind, ref_kind, ref_id, actor, note FROM journal WHERE subaccount = ? "
                         "ORDER BY id", subaccount_id)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("subaccounts")).start()
    d.other = d.new_account("referrer@example.com")
    yield d
    d.stop()


def test_create_view_modify_and_list(panel):
    client = panel.new_account("sub@example.com")
    fresh = panel.form("subaccount.edit", f"plid={client}")
    assert (fresh["subaccount_project"], fresh["subaccount_currency"], fresh["active"]) == ("1", "643", "on")
    elid = panel.create("subaccount.edit", f"plid={client}")
    usd = panel.create("subaccount.edit", f"plid={client}", "subaccount_currency=USD", "creditlimit=10.5")
    changed = panel.run("subaccount.edit", f"plid={client}", f"elid={elid}", "creditlimit=100.50", "allowpostpaid=on",
                  f"referer={panel.other}", "incident_limit=5", "sok=ok")
    assert changed.returncode == 0 and changed.stdout == "OK\n", changed.stderr
    shown = panel.form("subaccount.edit", f"plid={client}", f"elid={elid}")
    assert {k: shown[k] for k in ("subaccount_project", "subaccount_currency", "balance", "creditlimit",
                                  "allowpostpaid", "referer", "active", "incident_limit")} == {
        "subaccount_project": "1", "subaccount_currency": "643", "balance": "0.00", "creditlimit": "100.50",
        "allowpostpaid": "on", "referer": str(panel.other), "active": "on", "incident_limit": "5"}
    listed = panel.rows("subaccount", f"plid={client}")
    assert [(r["id"], r["currency"], r["balance"], r["creditlimit"], r["status"]) for r in listed] == [
        (str(elid), "RUB", "0.00", "100.50", "Active"), (str(usd), "USD", "0.00", "10.50", "Disabled")]
    history = [e["desc"] for e in panel.rows("account.history", f"elid={client}")]
    assert "subaccount #%d: creditlimit: 0.00 -> 100.50" % elid in history[0]


@pytest.mark.parametrize("lang, fragment", [("en", "already has an account in USD"), ("ru", "уже есть счёт в USD")])
def test_one_subaccount_per_provider_and_currency_one_active_per_provider(panel, lang, fragment):
    client = panel.new_account(f"unique-{lang}@example.com")
    panel.create("subaccount.edit", f"plid={client}", "subaccount_currency=USD")
    twice = panel.run("subaccount.edit", f"plid={client}", "subaccount_currency=USD", f"lang={lang}", "sok=ok")
    assert twice.returncode == 1 and "exists(subaccount_currency)" in twice.stderr and fragment in twice.stderr
    second = panel.run("subaccount.edit", f"plid={client}", "subaccount_currency=EUR", "active=on", "sok=ok")
    assert second.returncode == 1 and "exists(active)" in second.stderr and "Default provider" in second.stderr
    assert len(panel.rows("subaccount", f"plid={client}")) == 1


@pytest.mark.parametrize("params, error", [
    (["subaccount_currency=XYZ"], "value(subaccount_currency)"),
    (["subaccount_currency=AUD"], "value(subaccount_currency)"),
    (["subaccount_project=99"], "missed(project)"),
    (["creditlimit=-1"], "value(creditlimit)"),
    (["creditlimit=1.005"], "value(creditlimit)"),
    (["creditlimit=1e3"], "value(creditlimit)"),
    (["referer=999999"], "missed(referer)"),
    (["incident_limit=-3"], "value(incident_limit)"),
])
def test_bad_values_are_refused_and_nothing_is_written(panel, params, error):
    client = panel.new_account(f"bad-{abs(hash(error + params[0]))}@example.com")
    result = panel.run("subaccount.edit", f"plid={client}", *params, "sok=ok")
    assert result.returncode == 1 and error in result.stderr
    assert panel.stored("SELECT count(*) FROM subaccount WHERE account = ?", client) == [(0,)]


def test_provider_and_currency_of_an_existing_subaccount_never_change(panel):
    client = panel.new_account("fixed@example.com")
    elid = panel.create("subaccount.edit", f"plid={client}")
    result = panel.run("subaccount.edit", f"plid={client}", f"elid={elid}", "subaccount_currency=840", "lang=ru",
                 "sok=ok")
    assert result.returncode == 1 and "value(subaccount_currency)" in result.stderr and "не меняются" in result.stderr
    assert panel.run("subaccount.edit", f"plid={panel.other}", f"elid={elid}").returncode == 1   # not that client's


@pytest.mark.parametrize("lang, message", [("en", "Insufficient funds: 3.00 RUB available"),
                                           ("ru", "Недостаточно средств: доступно 3.00 RUB")])
def test_refund_goes_down_to_minus_the_credit_limit_and_no_further(panel, lang, message):
    client = panel.new_account(f"refund-{lang}@example.com")
    elid = panel.create("subaccount.edit", f"plid={client}", "creditlimit=5")
    fund(panel, elid, "10.00")
    done = panel.run("-o", "xml", "subaccount.refund", f"elid={elid}", "amount=12,00", "note=back to card")
    assert done.returncode == 0 and "<balance>-2.00</balance>" in done.stdout
    before = journal(panel, elid)
    refused = panel.run("subaccount.refund", f"elid={elid}", "amount=3.01", f"lang={lang}")
    assert refused.returncode == 1 and "balance(subaccount)" in refused.stderr and message in refused.stderr
    assert journal(panel, elid) == before
    assert panel.rows("subaccount", f"plid={client}")[0]["balance"] == "-2.00"
    assert panel.run("subaccount.refund", f"elid={elid}", "amount=3").returncode == 0
    assert journal(panel, elid) == [(1000, "correction", "", None, "test", ""), (-1200, "refund", "", None, "root",
                                    "back to card"), (-300, "refund", "", None, "root", "")]
    assert panel.rows("subaccount", f"plid={client}")[0]["balance"] == "-5.00"
    for amount in ("0", "-1", "1.001", "abc", ""):
        bad = panel.run("subaccount.refund", f"elid={elid}", f"amount={amount}")
        assert bad.returncode == 1 and ("value(amount)" in bad.stderr or "empty(amount)" in bad.stderr), amount


def test_a_suspended_subaccount_refuses_a_debit_until_resumed(panel):
    client = panel.new_account("suspend@example.com")
    elid = panel.create("subaccount.edit", f"plid={client}")
    fund(panel, elid, "50")
    assert panel.run("subaccount.suspend", f"elid={elid}").returncode == 0
    assert panel.rows("subaccount", f"plid={client}")[0]["status"] == "Disabled"
    refused = panel.run("subaccount.refund", f"elid={elid}", "amount=1", "lang=ru")
    assert refused.returncode == 1 and "suspended(subaccount)" in refused.stderr and "отключён" in refused.stderr
    assert len(journal(panel, elid)) == 1
    other = panel.create("subaccount.edit", f"plid={client}", "subaccount_currency=EUR", "active=on")
    assert panel.run("subaccount.resume", f"elid={elid}").returncode == 1     # EUR is the active one now
    assert panel.run("subaccount.suspend", f"elid={other}").returncode == 0
    assert panel.run("subaccount.resume", f"elid={elid}").returncode == 0
    assert panel.run("subaccount.refund", f"elid={elid}", "amount=1").returncode == 0
    assert panel.rows("subaccount", f"plid={client}")[0]["balance"] == "49.00"


def test_account_join_moves_balances_exactly_through_the_journal(panel):
    source, target = panel.new_account("join-src@example.com"), panel.new_account("join-dst@example.com")
    src_rub = panel.create("subaccount.edit", f"plid={source}")
    src_usd = panel.create("subaccount.edit", f"plid={source}", "subaccount_currency=USD")
    dst_rub = panel.create("subaccount.edit", f"plid={target}", "creditlimit=1")
    fund(panel, src_rub, "100.10")
    fund(panel, src_usd, "3.07")
    fund(panel, dst_rub, "2.50")
    assert {a["id"]: a["balance"] for a in panel.rows("account")}[str(source)] == "100.10"
    assert panel.run("account.join", f"elid={source}", f"account={target}", "sok=ok").returncode == 0
    listed = {r["currency"]: (r["balance"], r["creditlimit"], r["status"])
              for r in panel.rows("subaccount", f"plid={target}")}
    assert listed == {"RUB": ("102.60", "1.00", "Active"), "USD": ("3.07", "0.00", "Disabled")}
    assert {a["id"]: a["balance"] for a in panel.rows("account")}[str(target)] == "102.60"
    note = f"client #{source} merged into #{target}"
    assert journal(panel, dst_rub)[-1] == (10010, "merge", "subaccount", src_rub, "root", note)
    assert journal(panel, src_rub)[-1] == (-10010, "merge", "subaccount", dst_rub, "root", note)
    assert panel.rows("ledger.check") == []
    check = subprocess.run([BILLMGRD, "check"], env=panel.env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and "balances: ok" in check.stdout


def test_the_client_list_shows_the_balance_in_the_currency_of_its_provider(panel):
    assert panel.run("currency.edit", "elid=392", "active=on", "sok=ok").returncode == 0
    project = panel.create("project.edit", "name=Yen provider", "currency=JPY")
    client = panel.new_account("yen@example.com", f"project={project}")
    assert {a["id"]: a["balance"] for a in panel.rows("account")}[str(client)] == "0"
    elid = panel.create("subaccount.edit", f"plid={client}")
    fund(panel, elid, "1250")
    assert {a["id"]: a["balance"] for a in panel.rows("account")}[str(client)] == "1250"
    assert [(c["iso"], c["balance"]) for c in panel.rows("account.currency", f"elid={client}")] == [("JPY", "1250")]


def test_check_names_a_balance_corrupted_by_hand(tmp_path):
    d = Daemon(tmp_path).start()
    try:
        client = d.new_account("corrupt@example.com")
        elid = d.create("subaccount.edit", f"plid={client}")
        fund(d, elid, "7.00")
        d.stored("UPDATE subaccount SET balance = balance + 1 WHERE id = ?", elid)
        problem = f"subaccount #{elid} of client #{client}: balance 7.01 RUB, journal sum 7.00 RUB"
        assert [r["problem"] for r in d.rows("ledger.check")] == [problem]
        assert [r["problem"] for r in d.rows("ledger.check", "lang=ru")] == [problem]
    finally:
        d.stop()
    check = subprocess.run([BILLMGRD, "check"], env=d.env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 1 and "balances: 1 problem(s)" in check.stdout and problem in check.stdout


@pytest.mark.parametrize("lang, text", [("en", "cannot be deleted"), ("ru", "нельзя удалить")])
def test_a_client_with_money_in_the_books_is_not_deleted(panel, lang, text):
    moneyless = panel.new_account(f"moneyless-{lang}@example.com")
    panel.create("subaccount.edit", f"plid={moneyless}")          # a subaccount that never held money
    funded = panel.new_account(f"funded-{lang}@example.com")
    elid = panel.create("subaccount.edit", f"plid={funded}")
    fund(panel, elid, "1.00")
    refused = panel.run("account.delete", f"elid={moneyless}, {funded}", f"lang={lang}")
    assert refused.returncode == 1 and "value(elid)" in refused.stderr and text in refused.stderr
    assert {moneyless, funded} <= {int(a["id"]) for a in panel.rows("account")}    # nothing deleted, not even the first
    assert panel.run("account.delete", f"elid={moneyless}").returncode == 0
    assert moneyless not in {int(a["id"]) for a in panel.rows("account")}
    assert panel.call("ledger.check", out="JSONdata").get("elem", []) == []


def test_account_join_keeps_the_sources_payments_and_expenses_and_pays_the_targets_debts(panel):
    method = panel.create("paymethod.edit", "name=Join wire", "allowrefund=on")
    source, target = panel.new_account("join-pay-src@example.com"), panel.new_account("join-pay-dst@example.com")
    src, dst = panel.create("subaccount.edit", f"plid={source}"), panel.create("subaccount.edit", f"plid={target}")
    payment = panel.ok("payment.add", f"plid={source}", f"paymethod={method}", "amount=10", "sok=ok")["payment_id"]
    assert panel.run("payment.setpaid", f"elid={payment}").returncode == 0
    spent = panel.create("subaccount.expense.edit", f"plid={source}", f"subaccount={src}", "amount=3")
    owed = panel.create("subaccount.expense.edit", f"plid={target}", f"subaccount={dst}", "amount=4", "postpaid=on")
    assert panel.run("account.join", f"elid={source}", f"account={target}", "sok=ok").returncode == 0
    assert panel.stored("SELECT account, subaccount, usedamount FROM payment WHERE id = ?", payment) == [
        (target, dst, 700)]
    assert panel.stored("SELECT id, account, subaccount, notpayd FROM expense WHERE id IN (?, ?) ORDER BY id",
                        spent, owed) == [(spent, target, dst, 0), (owed, target, dst, 0)]
    assert panel.stored("SELECT balance FROM subaccount WHERE id = ?", dst) == [(300,)]
    assert panel.form("payment.refund", f"elid={payment}")["amount"] == "3.00"   # what no debt is owed
    assert panel.rows("ledger.check") == []
