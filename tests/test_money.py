"""Currencies, providers' default currency and payment methods through the real daemon,
mgrctl and HTTP, in English and Russian; a module's private settings never leak."""

import pytest
from conftest import Daemon
from test_http import ADMIN, Web

PMTEST = """<?xml version="1.0" encoding="UTF-8"?>
<mgrdata>
  <plugin name="pmtest"><group>payment_method</group></plugin>
  <metadata name="paymethod.edit.test" type="form">
    <form>
      <field name="shop_id"><input type="text" name="shop_id" required="yes"/></field>
      <field name="secret_key"><input type="password" name="secret_key" private="yes"/></field>
    </form>
  </metadata>
</mgrdata>
"""
PMTEST_CONFIG = "#!/bin/sh\necho '<doc><feature/><param/></doc>'\n"   # a module that does nothing but exist


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("money"))
    d.plugin_xml.mkdir(parents=True)
    (d.plugin_xml / "billmgr_mod_pmtest.xml").write_text(PMTEST)
    (d.root / "paymethods").mkdir()
    (d.root / "paymethods" / "pmtest").write_text(PMTEST_CONFIG)
    (d.root / "paymethods" / "pmtest").chmod(0o755)
    d.start()
    yield d
    d.stop()


# -- currencies ----------------------------------------------------------------

def test_every_iso_currency_is_known_and_three_are_enabled(panel):
    every = panel.rows("currency")
    assert len(every) > 150 and {"JPY", "BHD", "CLF"} <= {c["iso"] for c in every}
    enabled = panel.rows("currency", "filter=on", "status=1")
    assert [(c["iso"], c["code"], c["minor_units"], c["status"]) for c in enabled] == [
        ("EUR", "978", "2", "Enabled"), ("RUB", "643", "2", "Enabled"), ("USD", "840", "2", "Enabled")]
    ru = {c["iso"]: (c["name"], c["status"]) for c in panel.rows("currency", "lang=ru")}
    assert ru["JPY"] == ("Иена", "Отключена") and ru["BHD"][0] == "Бахрейнский динар"
    assert [c["iso"] for c in panel.rows("currency", "filter=on", "name=dinar", "p_sort=iso")][:2] == ["BHD", "DZD"]


def test_currency_view_and_modify(panel):
    assert panel.form("currency.edit", "elid=48") == {
        "elid": "48", "iso": "BHD", "code": "48", "minor_units": "3", "name": "Bahraini Dinar",
        "name_ru": "Бахрейнский динар", "symbol": "BHD", "active": "off"}
    done = panel.run("currency.edit", "elid=48", "symbol=BD", "name_ru=Динар", "active=on", "minor_units=2",
               "iso=XXX", "sok=ok")
    assert done.returncode == 0, done.stderr
    assert panel.stored("SELECT iso, minor_units, symbol, name_ru, active FROM currency WHERE id = 48") == [
        ("BHD", 3, "BD", "Динар", 1)]      # codes and minor units are ISO's: never edited
    assert panel.run("currency.edit", "elid=48", "active=off", "sok=ok").returncode == 0


@pytest.mark.parametrize("lang, fragment", [("en", "cannot be disabled"), ("ru", "не может быть отключена")])
def test_a_currency_in_use_cannot_be_disabled(panel, lang, fragment):
    result = panel.run("currency.edit", "elid=643", "active=off", f"lang={lang}", "sok=ok")
    assert result.returncode == 1 and "value(active)" in result.stderr and fragment in result.stderr
    assert panel.stored("SELECT active FROM currency WHERE id = 643") == [(1,)]


@pytest.mark.parametrize("params, error", [(["name=X"], "empty(elid)"), (["elid=999"], "missed(currency)"),
                                           (["elid=978", "name="], "empty(name)"),
                                           (["elid=978", "active=maybe"], "value(active)")])
def test_currency_edit_errors(panel, params, error):
    result = panel.run("currency.edit", *params, "sok=ok")
    assert result.returncode == 1 and error in result.stderr


# -- providers -----------------------------------------------------------------

def test_a_provider_has_a_default_currency(panel):
    assert panel.form("project.edit", "elid=1")["currency"] == "643"
    project = panel.create("project.edit", "name=Dollar provider", "currency=USD")
    assert {p["id"]: p["currency_str"] for p in panel.rows("project")} == {"1": "RUB", str(project): "USD"}
    assert panel.run("project.edit", f"elid={project}", "currency=978", "sok=ok").returncode == 0
    assert panel.form("project.edit", f"elid={project}")["currency"] == "978"
    for code, error in (("AUD", "value(currency)"), ("XYZ", "value(currency)")):
        result = panel.run("project.edit", f"elid={project}", f"currency={code}", "lang=ru", "sok=ok")
        assert result.returncode == 1 and error in result.stderr
    assert panel.stored("SELECT currency FROM project WHERE id = ?", project) == [(978,)]


# -- payment methods -------------------------------------------------------------

def test_payment_method_create_view_list_modify(panel):
    elid = panel.create("paymethod.edit", "name=Bank transfer", "name_ru=Банковский перевод", "currency=RUB",
                   "project=1", "commission=2.5", "minamount=100", "maxamount=15000,50", "allowrefund=on",
                   "note=manual")
    assert panel.form("paymethod.edit", f"elid={elid}") == {
        "elid": str(elid), "name": "Bank transfer", "name_ru": "Банковский перевод", "currency": "643",
        "project": "1", "commission": "2.5", "minamount": "100.00", "maxamount": "15000.50", "allowrefund": "on",
        "active": "on", "module": "", "note": "manual"}
    listed = {m["id"]: m for m in panel.rows("paymethod", "lang=ru")}[str(elid)]
    assert (listed["name"], listed["currency_name"], listed["projects"], listed["minamount"], listed["status"]) == (
        "Банковский перевод", "RUB", "Default provider", "100.00", "Включён")
    assert panel.run("currency.edit", "elid=392", "active=on", "sok=ok").returncode == 0
    assert panel.run("paymethod.edit", f"elid={elid}", "currency=JPY", "maxamount=", "active=off",
               "sok=ok").returncode == 0
    assert panel.stored("SELECT currency, minamount, maxamount, active FROM paymethod WHERE id = ?", elid) == [
        (392, 100, None, 0)]       # 100.00 RUB is read again as 100 JPY
    refused = panel.run("paymethod.edit", f"elid={elid}", "minamount=0.5", "sok=ok")
    assert refused.returncode == 1 and "value(minamount)" in refused.stderr


@pytest.mark.parametrize("params, error", [
    (["name="], "empty(name)"),
    (["currency=AUD"], "value(currency)"),
    (["currency=ZZZ"], "value(currency)"),
    (["project=42"], "missed(project)"),
    (["commission=101"], "value(commission)"),
    (["commission=1e2"], "value(commission)"),
    (["minamount=-5"], "value(minamount)"),
    (["minamount=10", "maxamount=5"], "value(maxamount)"),
    (["module=qiwi"], "value(module)"),
    (["module=pm../../etc"], "value(module)"),
    (["allowrefund=sometimes"], "value(allowrefund)"),
])
def test_payment_method_errors_write_nothing(panel, params, error):
    before = panel.stored("SELECT count(*) FROM paymethod")
    result = panel.run("paymethod.edit", *(["name=Card"] if params[0] != "name=" else []), *params, "sok=ok")
    assert result.returncode == 1 and error in result.stderr
    assert panel.stored("SELECT count(*) FROM paymethod") == before


def test_max_below_min_is_explained_in_russian(panel):
    result = panel.run("paymethod.edit", "name=Card", "minamount=10", "maxamount=5", "lang=ru", "sok=ok")
    assert "Максимальная сумма меньше минимальной" in result.stderr


def test_private_settings_are_shown_as_set_kept_and_never_logged(panel):
    missing = panel.run("paymethod.edit", "name=Gateway", "module=pmtest", "secret_key=x", "sok=ok")
    assert missing.returncode == 1 and "empty(shop_id)" in missing.stderr
    result = panel.run("-o", "xml", "paymethod.edit", "name=Gateway", "module=pmtest", "shop_id=42",
                 "secret_key=t0p-s3cret", "sok=ok")
    assert result.returncode == 0 and "t0p-s3cret" not in result.stdout and "<secret_key>***" in result.stdout
    elid = int(result.stdout.split("<id>")[1].split("<")[0])
    shown = panel.form("paymethod.edit", f"elid={elid}")
    assert (shown["module"], shown["shop_id"], shown["secret_key"]) == ("pmtest", "42", "***")
    assert panel.run("paymethod.edit", f"elid={elid}", "shop_id=43", "secret_key=***", "sok=ok").returncode == 0
    assert panel.stored("SELECT name, value, private FROM paymethod_param WHERE paymethod = ? ORDER BY name",
                  elid) == [("secret_key", "t0p-s3cret", 1), ("shop_id", "43", 0)]
    assert panel.run("paymethod.edit", f"elid={elid}", "secret_key=n3w-s3cret", "sok=ok").returncode == 0
    assert panel.stored("SELECT value FROM paymethod_param WHERE name = 'secret_key'") == [("n3w-s3cret",)]
    assert "s3cret" not in panel.log.read_text()
    assert {m["id"]: m.get("module") for m in panel.rows("paymethod")}[str(elid)] == "pmtest"
    unset = panel.create("paymethod.edit", "name=Gateway 2", "module=pmtest", "shop_id=1")
    assert panel.form("paymethod.edit", f"elid={unset}")["secret_key"] == ""
    assert "paymethod.edit.test" not in panel.mgrctl("-m", "billmgr", "-i").stdout   # a part, not a function


@pytest.mark.parametrize("lang, fragment", [("en", "is used by payments"), ("ru", "используется платежами")])
def test_a_method_that_payments_use_cannot_be_deleted(panel, lang, fragment):
    elid = panel.create("paymethod.edit", f"name=Used {lang}")
    panel.stored("CREATE TABLE IF NOT EXISTS payment_probe (id INTEGER PRIMARY KEY, "
                 "paymethod INTEGER NOT NULL REFERENCES paymethod(id))")
    panel.stored("INSERT INTO payment_probe (id, paymethod) VALUES (?, ?)", elid, elid)
    result = panel.run("paymethod.delete", f"elid={elid}", f"lang={lang}")
    assert result.returncode == 1 and "value(elid)" in result.stderr and fragment in result.stderr
    assert panel.stored("SELECT count(*) FROM paymethod WHERE id = ?", elid) == [(1,)]


def test_delete_methods(panel):
    first, second = panel.create("paymethod.edit", "name=Old 1"), panel.create("paymethod.edit", "name=Old 2")
    assert panel.run("paymethod.delete", f"elid={first}, {second}, 999999").returncode == 0
    assert panel.stored("SELECT count(*) FROM paymethod WHERE id IN (?, ?)", first, second) == [(0,)]
    assert "value(elid)" in panel.run("paymethod.delete", "elid=abc").stderr


# -- over HTTP -------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(tmp_path_factory):
    d = Web(tmp_path_factory.mktemp("money-web")).start().populate()
    yield d
    d.stop()


def test_subaccount_and_refund_over_http(web):
    doc = web.json(authinfo=ADMIN, func="subaccount.edit", plid=web.alice, creditlimit="20", sok="ok")
    elid = doc["id"]["$"]
    doc = web.json(authinfo=ADMIN, func="subaccount.refund", elid=elid, amount="15.5")
    assert doc["balance"]["$"] == "-15.50"
    refused = web.json(authinfo=ADMIN, func="subaccount.refund", elid=elid, amount="5", lang="ru")
    assert refused["error"]["$type"] == "balance" and "доступно 4.50 RUB" in refused["error"]["msg"]["$"]
    listed = web.json(authinfo=ADMIN, func="account")["elem"]
    assert {row["email"]["$"]: row["balance"]["$"] for row in listed}["alice@example.com"] == "-15.50"


def test_clients_may_not_touch_money_settings(web):
    for func in ("currency.edit", "paymethod.edit", "subaccount.refund", "ledger.check"):
        doc = web.json(authinfo="alice@example.com:Cl1ent-secret", func=func, elid="1")
        assert doc["error"]["$type"] == "access", func
