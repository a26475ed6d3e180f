"""The catalog through the real daemon: product types, tariffs and their prices and history, add-ons,
data centres, OS templates and recipes."""

import pytest


@pytest.fixture(scope="module")
def panel(shared_daemon):
    return shared_daemon


def test_a_fresh_install_has_the_usual_product_types(panel):
    names = {row["intname"] for row in panel.rows("itemtype")}
    assert {"vds", "dedic", "vhost", "soft", "platform", "domain"} <= names
    vds = next(row for row in panel.rows("itemtype") if row["intname"] == "vds")
    assert panel.form("itemtype.edit", f"elid={vds['id']}")["autodeleteperiod"] == "30"
    assert [row["intname"] for row in panel.rows("itemtype", "filter=on", "intname=edi")] == ["dedic"]


def test_product_types_are_created_changed_and_their_intname_is_unique(panel):
    elid = panel.create("itemtype.edit", "name=Backup", "name_ru=Бэкап", "intname=backup", "autodeleteperiod=10",
                        "clientdelete=on")
    assert panel.form("itemtype.edit", f"elid={elid}").items() >= {
        "name": "Backup", "intname": "backup", "autodeleteperiod": "10", "clientdelete": "on"}.items()
    panel.ok("itemtype.edit", f"elid={elid}", "autodeleteperiod=45", "clientdelete=off", "sok=ok")
    assert panel.stored("SELECT autodeleteperiod, clientdelete FROM itemtype WHERE id = ?", elid) == [(45, 0)]
    assert panel.error("itemtype.edit", "name=Again", "intname=backup", "sok=ok")[0] == "exists"
    assert panel.error("itemtype.edit", f"elid={elid}", "autodeleteperiod=soon", "sok=ok")[0] == "value"
    assert panel.error("itemtype.edit", "name=X", "intname=bad name", "sok=ok")[0] == "value"
    assert panel.error("itemtype.edit", "name=X", "intname=ssl.cert", "sok=ok")[0] == "value"   # would be ssl.cert.edit
    assert panel.error("itemtype.edit", "elid=999999")[0] == "missed"
    panel.ok("itemtype.delete", f"elid={elid}")
    assert panel.stored("SELECT count(*) FROM itemtype WHERE id = ?", elid) == [(0,)]


def _tariff(panel, *params):
    return panel.create("pricelist.edit", "itemtype=vds", "name=VDS Start", *params)


def test_prices_round_trip_to_the_cent_and_the_form_shows_every_price_field(panel):
    elid = _tariff(panel, "monthly643=199.99", "annually643=1999,9", "day643=7", "billdaily=on")
    form = panel.form("pricelist.edit", f"elid={elid}")
    assert (form["monthly643"], form["annually643"], form["day643"], form["quarterly643"]) == (
        "199.99", "1999.90", "7.00", "")
    assert {f"{p}643" for p in ("day", "monthly", "quarterly", "semiannual", "annually", "biennial",
                                "triennial")} <= set(form)
    assert form["billdaily"] == "on" and form["itemtype"] == str(panel.stored(
        "SELECT id FROM itemtype WHERE intname = 'vds'")[0][0])
    assert sorted(panel.stored("SELECT period, currency, cost FROM pricelist_price WHERE pricelist = ?", elid)) == [
        (-50, 643, 700), (1, 643, 19999), (12, 643, 199990)]
    panel.ok("pricelist.edit", f"elid={elid}", "monthly643=", "quarterly643=500", "sok=ok")
    assert sorted(panel.stored("SELECT period, cost FROM pricelist_price WHERE pricelist = ?", elid)) == [
        (-50, 700), (3, 50000), (12, 199990)]
    row = next(r for r in panel.rows("pricelist") if r["id"] == str(elid))
    assert row["name"] == "VDS Start" and row.get("pricelist_cost", "") == ""


@pytest.mark.parametrize("param", ["monthly643=0.001", "monthly643=-1", "monthly643=1e3", "monthly643=12.5.0",
                                   "monthly999=1", "annually36=5"])
def test_a_bad_price_is_a_value_error_and_changes_nothing(panel, param):
    before = panel.stored("SELECT count(*) FROM pricelist")
    kind, message = panel.error("pricelist.edit", "itemtype=vds", "name=Bad", param, "sok=ok")
    assert kind in ("value", "missed") and message
    assert panel.stored("SELECT count(*) FROM pricelist") == before


def test_tariff_errors_en_and_ru(panel):
    assert panel.error("pricelist.edit", "name=No type", "sok=ok")[0] == "empty"
    assert panel.error("pricelist.edit", "itemtype=nosuch", "name=X", "sok=ok")[0] == "missed"
    assert panel.error("pricelist.edit", "itemtype=vds", "name=X", "project=77", "sok=ok")[0] == "missed"
    assert panel.error("pricelist.edit", "itemtype=vds", "name=X", "datacenter=4242", "sok=ok")[0] == "missed"
    assert panel.error("pricelist.edit", "itemtype=vds", "name=X", "processingmodule=a b", "sok=ok")[0] == "missed"
    assert panel.error("pricelist.history", "elid=999999")[0] == "missed"
    en = panel.error("pricelist.edit", "itemtype=vds", "name=X", "monthly643=0.001", "sok=ok")[1]
    ru = panel.error("pricelist.edit", "itemtype=vds", "name=X", "monthly643=0.001", "sok=ok", lang="ru")[1]
    assert "monthly643" in en and en != ru


def test_suspend_resume_and_history(panel):
    elid = _tariff(panel, "monthly643=100")
    panel.ok("pricelist.suspend", f"elid={elid}")
    assert next(r for r in panel.rows("pricelist", "filter=on", "status=0") if r["id"] == str(elid))
    panel.ok("pricelist.resume", f"elid={elid}")
    panel.ok("pricelist.edit", f"elid={elid}", "monthly643=120", "name=VDS Plus", "sok=ok")
    lines = [r["desc"] for r in panel.rows("pricelist.history", f"elid={elid}")]
    assert lines[0].startswith("created: ") and lines[1:3] == ["suspended", "resumed"]
    assert "monthly643: 100.00 -> 120.00" in lines[3] and "name: VDS Start -> VDS Plus" in lines[3]


def test_offers_data_centres_templates_and_recipes(panel):
    dc = panel.create("datacenter.edit", "name=Moscow", "name_ru=Москва", "intname=msk")
    os1 = panel.create("ostemplate.edit", "name=Debian 12", "intname=debian12")
    os2 = panel.create("ostemplate.edit", "name=Ubuntu 24.04", "intname=ubuntu2404")
    recipe = panel.create("recipe.edit", "name=LAMP", "intname=lamp")
    elid = _tariff(panel, f"datacenter={dc}", f"ostempl={os2}, {os1}", f"recipe={recipe}")
    form = panel.form("pricelist.edit", f"elid={elid}")
    assert (form["datacenter"], form["ostempl"], form["recipe"]) == (str(dc), f"{os1},{os2}", str(recipe))
    assert [r["name"] for r in panel.rows("datacenter", "lang=ru") if r["id"] == str(dc)] == ["Москва"]
    panel.ok("ostemplate.delete", f"elid={os2}")
    assert panel.form("pricelist.edit", f"elid={elid}")["ostempl"] == str(os1)
    assert panel.error("datacenter.edit", "name=Again", "intname=msk", "sok=ok")[0] == "exists"


def test_a_type_a_tariff_uses_cannot_be_deleted(panel):
    kind = panel.create("itemtype.edit", "name=Mail", "intname=mail")
    tariff = panel.create("pricelist.edit", "itemtype=mail", "name=Mail 1")
    assert panel.error("itemtype.delete", f"elid={kind}") == (
        "value", f"{kind} is in use in the catalog and cannot be deleted")
    assert panel.error("itemtype.delete", f"elid={kind}", lang="ru")[1].startswith(str(kind))
    panel.ok("pricelist.delete", f"elid={tariff}")
    panel.ok("itemtype.delete", f"elid={kind}")
    assert panel.stored("SELECT count(*) FROM itemtype WHERE id = ?", kind) == [(0,)]


def test_add_ons_integer_statistics_and_enumeration(panel):
    plid = _tariff(panel, "monthly643=300")
    ram = panel.create("pricelist.addon.edit", f"plid={plid}", "name=RAM", "intname=ram", "addontype=2",
                       "billtype=2", "measure=GB", "addonmin=1", "addonmax=64", "addonstep=1", "addonlimit=2",
                       "monthly643=150.50")
    form = panel.form("pricelist.addon.edit", f"plid={plid}", f"elid={ram}")
    assert (form["addonmin"], form["addonmax"], form["addonlimit"], form["monthly643"]) == ("1", "64", "2", "150.50")
    traffic = panel.create("pricelist.addon.edit", f"plid={plid}", "name=Traffic", "addontype=2", "billtype=3",
                           "measure=GB", "addonlimit=100", "overage643=0.75", "statperiod=daily")
    form = panel.form("pricelist.addon.edit", f"plid={plid}", f"elid={traffic}")
    assert (form["overage643"], form["statperiod"]) == ("0.75", "daily")
    os_choice = panel.create("pricelist.addon.edit", f"plid={plid}", "name=Panel", "addontype=3",
                             "enumeration=none, ISPmanager, cPanel")
    assert panel.form("pricelist.addon.edit", f"plid={plid}", f"elid={os_choice}")["enumeration"] == (
        "none, ISPmanager, cPanel")
    listed = {r["id"]: r for r in panel.rows("pricelist.addon", f"plid={plid}")}
    assert set(listed) == {str(ram), str(traffic), str(os_choice)}
    assert str(ram) not in {r["id"] for r in panel.rows("pricelist")}
    assert any(d.startswith(f"addon #{ram}: created") for d in
               (r["desc"] for r in panel.rows("pricelist.history", f"elid={plid}")))
    panel.ok("pricelist.addon.delete", f"plid={plid}", f"elid={traffic}")
    assert panel.stored("SELECT count(*) FROM pricelist_overage WHERE pricelist = ?", traffic) == [(0,)]


@pytest.mark.parametrize("params, field", [
    (("addonmin=5", "addonmax=2"), "addonmax"),
    (("addonmin=1", "addonmax=4", "addonlimit=9"), "addonlimit"),
    (("addonstep=0",), "addonstep"),
    (("addonmin=-1",), "addonmin"),
    (("addontype=7",), "addontype"),
    (("billtype=5",), "billtype"),
    (("statperiod=daily",), "statperiod"),
    (("overage643=0.001", "billtype=3"), "overage643"),
    (("monthly643=abc",), "monthly643"),
])
def test_add_on_limits_are_checked_naming_the_field(panel, params, field):
    plid = _tariff(panel)
    typed = () if any(p.startswith("addontype=") for p in params) else ("addontype=2",)
    doc = panel.call("pricelist.addon.edit", f"plid={plid}", "name=Disk", *typed, *params, "sok=ok")
    assert (doc["error"]["$type"], doc["error"]["$object"]) == ("value", field)
    assert panel.stored("SELECT count(*) FROM pricelist WHERE parent = ?", plid) == [(0,)]


def test_add_on_errors(panel):
    plid = _tariff(panel)
    assert panel.error("pricelist.addon.edit", "name=X", "addontype=1", "sok=ok")[0] == "empty"
    assert panel.error("pricelist.addon.edit", f"plid={plid}", "name=X", "sok=ok")[0] == "empty"
    assert panel.error("pricelist.addon.edit", f"plid={plid}", "name=X", "addontype=3", "sok=ok")[0] == "empty"
    assert panel.error("pricelist.addon.edit", "plid=999999", "name=X", "addontype=1", "sok=ok")[0] == "missed"
    assert panel.error("pricelist.addon.edit", f"plid={plid}", "elid=999999")[0] == "missed"
    en = panel.error("pricelist.addon.edit", f"plid={plid}", "name=X", "addontype=2", "addonstep=0", "sok=ok")[1]
    ru = panel.error("pricelist.addon.edit", f"plid={plid}", "name=X", "addontype=2", "addonstep=0", "sok=ok",
                     lang="ru")[1]
    assert "0" in en and ru.startswith("Шаг")
