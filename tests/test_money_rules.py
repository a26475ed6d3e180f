"""The money rules' directories through the real daemon and mgrctl: clients' discounts, tax rules,
currency rates; the lookups later steps call (rules.py) on the rows those functions wrote; the client's
desktop over HTTP; and a client that reads its own discounts only."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import Daemon
from test_http import ADMIN, Web
from test_subaccounts import books, fund

from billmgr import rules
from billmgr.billing.currency import currency
from billmgr.billing.discounts import Charge
from billmgr.billing.errors import NoRate
from billmgr.billing.money import Money
from billmgr.billing.text import parse

PASSWORD = "Cl1ent-secret"
RUB, USD = currency("RUB"), currency("USD")


def lookup(d, find):
    """``find(ctx)`` on the daemon's database, as an order or expense would call it."""
    with books(d) as ctx:
        return find(ctx)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("rules")).start()
    d.alice = d.new_account("alice@example.com", f"passwd={PASSWORD}")
    d.bob = d.new_account("bob@example.com", f"passwd={PASSWORD}")
    d.as_alice = f"authinfo=alice@example.com:{PASSWORD}"
    yield d
    d.stop()


# -- discounts ---------------------------------------------------------------

def test_discount_create_view_modify_list_and_history(panel):
    client = panel.new_account("disc@example.com")
    blank = panel.form("account.discount.edit", f"plid={client}")
    assert (blank["type"], blank["actiontype"], blank["priority"], blank["project"]) == ("percent", "all", "0", "1")
    percent = panel.create("account.discount.edit", f"plid={client}", "percentage=12,5", "fromdate=2026-01-01",
                      "todate=2026-12-31", "period=12, 1", "itemtype=vds,domain", "pricelist=7", "note=loyal")
    fixed = panel.create("account.discount.add", f"plid={client}", "type=fixed", "amount=5,5", "currency=USD",
                    "priority=-3", "actiontype=prolong", "name=Renewal bonus")
    shown = panel.form("account.discount.edit", f"plid={client}", f"elid={percent}")
    assert {k: shown[k] for k in ("type", "percentage", "period", "itemtype", "pricelist", "fromdate", "todate",
                                  "note")} == {"type": "percent", "percentage": "12.5", "period": "1,12",
                                               "itemtype": "domain,vds", "pricelist": "7", "fromdate": "2026-01-01",
                                               "todate": "2026-12-31", "note": "loyal"}
    changed = panel.run("account.discount.edit", f"plid={client}", f"elid={percent}", "percentage=15", "sok=ok")
    assert changed.returncode == 0 and changed.stdout == "OK\n", changed.stderr
    listed = panel.rows("account.discount", f"plid={client}")
    assert [(r["id"], r["name"], r["value"], r["actiontype"], r["discount_type"], r.get("period", ""),
             r["priority"]) for r in listed] == [
        (str(percent), "15%", "15%", "Ordering and renewal", "Personal", "2026-01-01 - 2026-12-31", "0"),
        (str(fixed), "Renewal bonus", "5.50 USD", "Renewal", "Personal", "", "-3")]
    in_ru = panel.rows("account.discount", f"plid={client}", "lang=ru")
    assert [r["actiontype"] for r in in_ru] == ["Заказ и продление", "Продление"]
    assert panel.stored("SELECT kind, percent, amount, currency FROM discount WHERE account = ? ORDER BY id",
                  client) == [("percent", "15", None, None), ("fixed", None, 550, 840)]
    history = [h["desc"] for h in panel.rows("account.discount.history", f"plid={client}", f"elid={percent}")]
    assert history[0] == f"discount #{percent}: percentage: 12.5 -> 15"
    assert history[1].startswith(f"discount #{percent}: created;") and len(history) == 2
    assert panel.run("account.discount.delete", f"plid={client}", f"elid={fixed}").returncode == 0
    assert [r["id"] for r in panel.rows("account.discount", f"plid={client}")] == [str(percent)]
    gone = [h["desc"] for h in panel.rows("account.discount.history", f"elid={fixed}", f"plid={client}")]
    assert gone[0] == f"discount #{fixed}: deleted" and len(gone) == 2
    assert len(panel.rows("account.discount.history", f"plid={client}")) == 4   # two created, one changed, one gone
    assert any("discount #" in h["desc"] for h in panel.rows("account.history", f"elid={client}"))


def test_changing_the_kind_needs_the_new_value(panel):
    client = panel.new_account("kind@example.com")
    elid = panel.create("account.discount.edit", f"plid={client}", "percentage=10")
    missing = panel.run("account.discount.edit", f"plid={client}", f"elid={elid}", "type=fixed", "sok=ok")
    assert missing.returncode == 1 and "empty(amount)" in missing.stderr
    assert panel.run("account.discount.edit", f"plid={client}", f"elid={elid}", "type=fixed", "amount=3",
               "sok=ok").returncode == 0
    assert panel.stored("SELECT kind, percent, amount, currency FROM discount WHERE id = ?", elid) == [
        ("fixed", None, 300, 643)]


@pytest.mark.parametrize("params, error", [
    (["percentage=100.5"], "value(percentage)"),
    (["percentage=-1"], "value(percentage)"),
    (["percentage=1e1"], "value(percentage)"),
    ([], "empty(percentage)"),
    (["type=fixed"], "empty(amount)"),
    (["type=fixed", "amount=1.005"], "value(amount)"),
    (["type=fixed", "amount=-2"], "value(amount)"),
    (["type=fixed", "amount=2", "currency=AUD"], "value(currency)"),
    (["type=bonus", "percentage=5"], "value(type)"),
    (["actiontype=forever", "percentage=5"], "value(actiontype)"),
    (["percentage=5", "priority=high"], "value(priority)"),
    (["percentage=5", "period=5"], "value(period)"),
    (["percentage=5", "itemtype=VDS!"], "value(itemtype)"),
    (["percentage=5", "pricelist=x"], "value(pricelist)"),
    (["percentage=5", "fromdate=2026-02-30"], "value(fromdate)"),
    (["percentage=5", "project=99"], "missed(project)"),
])
def test_bad_discounts_are_refused_and_nothing_is_written(panel, params, error):
    before = panel.stored("SELECT count(*) FROM discount")
    result = panel.run("account.discount.edit", f"plid={panel.bob}", *params, "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr
    assert panel.stored("SELECT count(*) FROM discount") == before


@pytest.mark.parametrize("lang, message", [("en", "last day of the discount is before its first day"),
                                           ("ru", "Последний день скидки раньше первого")])
def test_a_discount_ends_after_it_starts(panel, lang, message):
    result = panel.run("account.discount.edit", f"plid={panel.bob}", "percentage=5", "fromdate=2026-05-01",
                 "todate=2026-04-30", f"lang={lang}", "sok=ok")
    assert result.returncode == 1 and "value(todate)" in result.stderr and message in result.stderr


def test_discounts_belong_to_their_client(panel):
    elid = panel.create("account.discount.edit", f"plid={panel.alice}", "percentage=7")
    for func, extra in (("account.discount.edit", []), ("account.discount.edit", ["percentage=50", "sok=ok"]),
                        ("account.discount.delete", [])):
        result = panel.run(func, f"plid={panel.bob}", f"elid={elid}", *extra)
        assert result.returncode == 1 and "missed(discount)" in result.stderr
    assert panel.stored("SELECT percent FROM discount WHERE id = ?", elid) == [("7",)]
    assert panel.run("account.discount.history", f"plid={panel.bob}", f"elid={elid}").stderr.startswith(
        "ERROR missed(discount)")
    assert panel.run("account.discount.add", f"plid={panel.alice}", f"elid={elid}", "percentage=1",
               "sok=ok").stderr.startswith("ERROR value(elid)")
    assert panel.run("account.discount.edit", "plid=999999", "percentage=1", "sok=ok").stderr.startswith(
        "ERROR missed(account)")


def test_a_client_reads_its_own_discounts_and_changes_none(panel):
    mine = panel.create("account.discount.edit", f"plid={panel.alice}", "percentage=3", "name=mine")
    panel.create("account.discount.edit", f"plid={panel.bob}", "percentage=4", "name=bobs")
    for extra in ([], [f"plid={panel.bob}"]):
        names = {r["name"] for r in panel.rows("account.discount", panel.as_alice, *extra)}
        assert "mine" in names and "bobs" not in names
    for func in ("account.discount.edit", "account.discount.add", "account.discount.delete",
                 "account.discount.history"):
        result = panel.run(func, panel.as_alice, f"plid={panel.alice}", f"elid={mine}", "percentage=99", "sok=ok")
        assert result.returncode == 1 and result.stderr.startswith(f"ERROR access({func})")
    assert panel.stored("SELECT percent FROM discount WHERE id = ?", mine) == [("3",)]


# -- tax rules ---------------------------------------------------------------

def test_tax_rules_create_view_modify_list_delete(panel):
    group = panel.mgrctl("-m", "billmgr", "accountgroup.edit", "name=Resellers", "sok=ok").stdout.split("id=")[1]
    own = panel.create("account.taxrule.edit", f"plid={panel.bob}", "taxrate=0", "specialitemtype=on",
                  "itemtype=domain, vds")
    regional = panel.create("account.taxrule.edit", "taxrate=18,5", "state=RU-MOW", "included=off")
    grouped = panel.create("account.taxrule.edit", "taxrate=10", f"accountgroup={group.strip()}")
    shown = panel.form("account.taxrule.edit", f"elid={regional}")
    moscow = str(panel.stored("SELECT id FROM state WHERE code = 'RU-MOW'")[0][0])
    assert {k: shown[k] for k in ("taxrate", "country", "state", "included", "specialitemtype")} == {
        "taxrate": "18.5", "country": "643", "state": moscow, "included": "off", "specialitemtype": "off"}
    assert panel.run("account.taxrule.edit", f"elid={regional}", "taxrate=20", "sok=ok").returncode == 0
    listed = {r["id"]: r for r in panel.rows("account.taxrule")}
    assert (listed[str(regional)]["type"], listed[str(regional)]["taxrate"], listed[str(regional)]["state"]) == (
        "Region", "20", "RU-MOW")
    assert listed[str(grouped)]["type"] == "Client group" and listed[str(own)]["itemtype"] == "domain,vds"
    assert [r["id"] for r in panel.rows("account.taxrule", f"plid={panel.bob}")] == [str(own)]
    assert panel.rows("account.taxrule", f"plid={panel.bob}", "lang=ru")[0]["type"] == "Клиент"
    assert "tax rule #%d: created, 0%%" % own in [h["desc"] for h in panel.rows("account.history",
                                                                        f"elid={panel.bob}")]
    assert panel.run("account.taxrule.delete", f"plid={panel.alice}", f"elid={own}").stderr.startswith(
        "ERROR missed(taxrule)")
    assert panel.run("account.taxrule.delete", f"elid={grouped}").returncode == 0
    assert panel.stored("SELECT count(*) FROM taxrule WHERE id = ?", grouped) == [(0,)]
    assert panel.run("account.taxrule.delete", f"elid={grouped}").stderr.startswith("ERROR missed(taxrule)")


@pytest.mark.parametrize("params, error", [
    ([], "empty(taxrate)"),
    (["taxrate=-1"], "value(taxrate)"),
    (["taxrate=abc"], "value(taxrate)"),
    (["taxrate=1000"], "value(taxrate)"),
    (["taxrate=5.00001"], "value(taxrate)"),
    (["taxrate=5", "country=XX"], "value(country)"),
    (["taxrate=5", "country=US", "state=RU-MOW"], "value(state)"),
    (["taxrate=5", "specialitemtype=on"], "empty(itemtype)"),
    (["taxrate=5", "specialitemtype=on", "itemtype=Vds"], "value(itemtype)"),
    (["taxrate=5", "accountgroup=999"], "missed(accountgroup)"),
    (["taxrate=5", "project=99"], "missed(project)"),
])
def test_bad_tax_rules_are_refused_and_nothing_is_written(panel, params, error):
    before = panel.stored("SELECT count(*) FROM taxrule")
    result = panel.run("account.taxrule.edit", *params, "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr
    assert panel.stored("SELECT count(*) FROM taxrule") == before


@pytest.mark.parametrize("lang, fragment", [("en", "Tax rate"), ("ru", "Ставка налога")])
def test_tax_rule_errors_speak_the_callers_language(panel, lang, fragment):
    result = panel.run("account.taxrule.edit", "taxrate=-5", f"lang={lang}", "sok=ok")
    assert result.returncode == 1 and fragment in result.stderr


# -- currency rates ----------------------------------------------------------

def test_currency_rates_global_and_per_client(panel):
    world = panel.create("account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB", "rate=92,5",
                    "ratedate=2026-01-01")
    own = panel.create("account.currencyrate.edit", f"plid={panel.alice}", "currency_base=840",
                  "currency_relate=643", "rate=90.1234", "amount=1", "ratedate=2026-02-01 10:30")
    assert [(r["id"], r["currency_base"], r["currency_relate"], r["rate"], r["amount"], r["ratedate"])
            for r in panel.rows("account.currencyrate")] == [
        (str(world), "USD", "RUB", "92.5", "1", "2026-01-01 00:00:00")]
    assert [r["id"] for r in panel.rows("account.currencyrate", f"plid={panel.alice}")] == [str(own)]
    assert panel.form("account.currencyrate.edit", f"plid={panel.alice}", f"elid={own}")["rate"] == "90.1234"
    assert panel.run("account.currencyrate.edit", f"plid={panel.alice}", f"elid={own}", "rate=91", "amount=10",
               "sok=ok").returncode == 0
    assert panel.stored("SELECT rate, amount, account FROM currencyrate WHERE id = ?", own) == [
        ("91", "10", panel.alice)]
    assert "currency rate #%d: rate: 90.1234 -> 91; amount: 1 -> 10" % own in [
        h["desc"] for h in panel.rows("account.history", f"elid={panel.alice}")]
    for elsewhere in (["elid=%d" % own], [f"plid={panel.bob}", f"elid={own}"]):   # not the global list's, nor bob's
        assert panel.run("account.currencyrate.delete", *elsewhere).stderr.startswith("ERROR missed(currencyrate)")
    assert panel.run("account.currencyrate.delete", f"plid={panel.alice}", f"elid={own}").returncode == 0
    assert panel.stored("SELECT count(*) FROM currencyrate WHERE id = ?", own) == [(0,)]


@pytest.mark.parametrize("params, error", [
    (["currency_relate=RUB", "rate=1"], "empty(currency_base)"),
    (["currency_base=USD", "rate=1"], "empty(currency_relate)"),
    (["currency_base=USD", "currency_relate=RUB"], "empty(rate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=0"], "value(rate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=-1"], "value(rate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=1e2"], "value(rate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=1", "amount=0"], "value(amount)"),
    (["currency_base=XYZ", "currency_relate=RUB", "rate=1"], "value(currency_base)"),
    (["currency_base=USD", "currency_relate=USD", "rate=1"], "value(currency_relate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=1", "ratedate=yesterday"], "value(ratedate)"),
    (["currency_base=USD", "currency_relate=RUB", "rate=1", "ratedate=2026-01-01T00:00+03:00"], "value(ratedate)"),
])
def test_bad_rates_are_refused_and_nothing_is_written(panel, params, error):
    before = panel.stored("SELECT count(*) FROM currencyrate")
    result = panel.run("account.currencyrate.edit", *params, "sok=ok")
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr
    assert panel.stored("SELECT count(*) FROM currencyrate") == before


@pytest.mark.parametrize("lang, message", [("en", "not USD and itself"), ("ru", "а не USD саму с собой")])
def test_a_rate_links_two_currencies(panel, lang, message):
    result = panel.run("account.currencyrate.edit", "currency_base=USD", "currency_relate=USD", "rate=1",
                 f"lang={lang}", "sok=ok")
    assert message in result.stderr


# -- lookups on the stored rows ----------------------------------------------

def test_lookups_choose_from_the_stored_rules(tmp_path):
    d = Daemon(tmp_path).start()
    try:
        group = d.mgrctl("-m", "billmgr", "accountgroup.edit", "name=VIP", "sok=ok").stdout.split("id=")[1].strip()
        region = d.stored("SELECT id FROM state WHERE code = 'RU-MOW'")[0][0]
        moscow = d.new_account("moscow@example.com", "country=643", f"state={region}")
        vip = d.new_account("vip@example.com", "country=643")
        d.mgrctl("-m", "billmgr", "account.group.edit", f"plid={vip}", f"accountgroup={group}", "sok=ok")
        abroad = d.new_account("abroad@example.com", "country=840")
        default = d.create("account.taxrule.edit", "taxrate=20")
        regional = d.create("account.taxrule.edit", "taxrate=18", "country=RU", "state=RU-MOW")
        domains = d.create("account.taxrule.edit", "taxrate=0", "country=RU", "state=RU-MOW", "specialitemtype=on",
                          "itemtype=domain")
        grouped = d.create("account.taxrule.edit", "taxrate=10", f"accountgroup={group}", "included=off")
        own = d.create("account.taxrule.edit", f"plid={abroad}", "taxrate=5")
        chosen = {(who, itemtype): lookup(d, lambda ctx, w=who, t=itemtype: rules.tax_rule(ctx, w, t)).id
                  for who in (moscow, vip, abroad) for itemtype in ("vds", "domain")}
        assert chosen == {(moscow, "vds"): regional, (moscow, "domain"): domains, (vip, "vds"): grouped,
                          (vip, "domain"): grouped, (abroad, "vds"): own, (abroad, "domain"): own}
        rule = lookup(d, lambda ctx: rules.tax_rule(ctx, vip, "vds"))
        assert (rule.rate, rule.included) == (Decimal(10), False)
        assert rule.split(Money(10000, RUB)).tax == Money(1000, RUB)
        d.mgrctl("-m", "billmgr", "account.taxrule.delete", f"elid={default}")
        bare = d.new_account("bare@example.com")
        assert lookup(d, lambda ctx: rules.tax_rule(ctx, bare, "vds")) is None

        d.create("account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB", "rate=90",
                "ratedate=2026-01-01")
        d.create("account.currencyrate.edit", "currency_base=USD", "currency_relate=RUB", "rate=95",
                "ratedate=2026-03-01")
        d.create("account.currencyrate.edit", f"plid={vip}", "currency_base=USD", "currency_relate=RUB",
                "rate=85", "ratedate=2026-02-01")
        feb, april = datetime(2026, 2, 15), datetime(2026, 4, 1)
        assert lookup(d, lambda ctx: rules.rate(ctx, USD, RUB, feb)).rate == Decimal(90)
        assert lookup(d, lambda ctx: rules.rate(ctx, RUB, USD, april)).rate == Decimal(95)
        assert lookup(d, lambda ctx: rules.rate(ctx, USD, RUB, april, vip)).rate == Decimal(85)   # own wins
        assert lookup(d, lambda ctx: rules.convert(ctx, parse("10", USD), RUB, feb, moscow)) == parse("900", RUB)
        assert lookup(d, lambda ctx: rules.convert(ctx, parse("1000", RUB), USD, april)) == parse("10.53", USD)
        with pytest.raises(NoRate):
            lookup(d, lambda ctx: rules.rate(ctx, USD, RUB, datetime(2025, 12, 31)))

        small = d.create("account.discount.edit", f"plid={moscow}", "percentage=5", "actiontype=open")
        renewal = d.create("account.discount.edit", f"plid={moscow}", "type=fixed", "amount=30", "priority=2",
                          "actiontype=prolong", "period=12", "todate=2026-06-30")
        order = Charge(parse("100", RUB), "open", date(2026, 5, 1), period=12, itemtype="vds")
        renew = Charge(parse("100", RUB), "prolong", date(2026, 5, 1), period=12, itemtype="vds")
        assert lookup(d, lambda ctx: rules.discount(ctx, moscow, order)) == (
            lookup(d, lambda ctx: rules.client_discounts(ctx, moscow))[0], parse("5", RUB))
        found, off = lookup(d, lambda ctx: rules.discount(ctx, moscow, renew))
        assert (found.id, off) == (renewal, parse("30", RUB))
        late = Charge(parse("100", RUB), "prolong", date(2026, 7, 1), period=12)
        assert lookup(d, lambda ctx: rules.discount(ctx, moscow, late)) == (None, Money.zero(RUB))
        assert lookup(d, lambda ctx: rules.discount(ctx, vip, order))[0] is None
        assert small != renewal
    finally:
        d.stop()


# -- the client's desktop ----------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    d = Web(tmp_path_factory.mktemp("desktop")).start().populate()
    yield d
    d.stop()


def test_desktop_shows_the_clients_money_and_who_it_is_over_http(web):
    rub = web.create("subaccount.edit", f"plid={web.alice}", "creditlimit=100")
    usd = web.create("subaccount.edit", f"plid={web.alice}", "subaccount_currency=USD")
    fund(web, rub, "12.5")
    doc = web.json(func="desktop", authinfo=f"alice@example.com:{PASSWORD}")
    assert {k: doc[k]["$"] for k in ("account", "name", "email", "balance", "creditlimit")} == {
        "account": str(web.alice), "name": "alice@example.com", "email": "alice@example.com",
        "balance": "12.50 RUB", "creditlimit": "100.00 RUB"}
    assert [(e["id"]["$"], e["currency"]["$"], e["balance"]["$"], e["creditlimit"]["$"]) for e in doc["elem"]] == [
        (str(rub), "RUB", "12.50 RUB", "100.00 RUB"), (str(usd), "USD", "0.00 USD", "0.00 USD")]
    bobs = web.json(func="desktop", authinfo=f"bob@example.com:{PASSWORD}", lang="ru")
    assert "elem" not in bobs and bobs["balance"]["$"] == "0.00 RUB" and bobs["email"]["$"] == "bob@example.com"
    staff = web.json(func="desktop", authinfo=ADMIN)
    assert staff["error"]["$type"] == "access"


def test_a_merged_clients_rules_move_to_the_target(panel):
    source, target = panel.new_account("merged@example.com"), panel.new_account("keeper@example.com")
    discount = panel.create("account.discount.edit", f"plid={source}", "percentage=8")
    taxrule = panel.create("account.taxrule.edit", f"plid={source}", "taxrate=7")
    rate = panel.create("account.currencyrate.edit", f"plid={source}", "currency_base=EUR", "currency_relate=RUB",
                   "rate=100")
    assert panel.run("account.join", f"elid={source}", f"account={target}", "sok=ok").returncode == 0
    assert [r["id"] for r in panel.rows("account.discount", f"plid={target}")] == [str(discount)]
    assert [r["id"] for r in panel.rows("account.taxrule", f"plid={target}")] == [str(taxrule)]
    assert [r["id"] for r in panel.rows("account.currencyrate", f"plid={target}")] == [str(rate)]
