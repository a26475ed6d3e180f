"""Tariffs: pricelist, pricelist.edit / .delete / .suspend / .resume / .history.

A tariff sells one product type for one provider.  Its prices are given as
BILLmanager names them, ``<period><currency id>`` (``monthly643=199.99``),
and kept as integer minor units per (tariff, period, currency); an empty
value removes that price.  A tariff also lists the data centres, OS
templates and recipes it offers (comma-separated ids).  Every change is a
line of ``pricelist_history``, add-on changes included (on their tariff).
"""

import re

from .. import errors, history
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..billing.money import Money
from ..doc import Cell, Doc
from ..lists import contains, equals, localized_name, sql_list
from ..sqlmoney import shown
from ..store import rows
from .currency import known

PERIODS = {"day": -50, "monthly": 1, "quarterly": 3, "semiannual": 6, "annually": 12, "biennial": 24,
           "triennial": 36}
_PRICE = re.compile(rf"({'|'.join(PERIODS)})([0-9]{{1,4}})")
_STORED = ("itemtype", "project", "name", "name_ru", "billdaily", "processingmodule", "allowchange",
           "returnpolicy", "active")
_FLAGS = ("billdaily", "allowchange", "returnpolicy", "active")
OFFERS = {"datacenter": "datacenter", "ostempl": "ostemplate", "recipe": "recipe"}   # param -> table offered


def note(ctx, pricelist, description):
    """One line of the tariff's history, by ``ctx``'s actor."""
    ctx.db.execute('INSERT INTO pricelist_history (pricelist, changedate, "user", ip, action, description) '
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (pricelist, ctx.clock.stamp(), ctx.actor, ctx.address, ctx.action, description))


def _labels(req):
    return {"status": {"1": Cell(req.msg("status_active"), (("orig", "1"),)),
                       "0": Cell(req.msg("status_suspended"), (("orig", "0"),))}}


def pricelist(req):
    name = localized_name(req.lang, "p")
    columns = {"id": "p.id", "name": name, "itemtype_name": localized_name(req.lang, "t"), "project": "j.name",
               "processingmodules": "p.processingmodule",
               "pricelist_cost": f"coalesce({shown('pp.cost', 'c.minor_units')} || ' ' || c.iso, '')",
               "status": "p.active"}
    source = ("pricelist p JOIN itemtype t ON t.id = p.itemtype JOIN project j ON j.id = p.project "
              "JOIN currency c ON c.id = j.currency "
              "LEFT JOIN pricelist_price pp ON pp.pricelist = p.id AND pp.period = 1 AND pp.currency = j.currency")
    return sql_list(req, source, columns, "p.id", where=["p.parent IS NULL"],
                    filters={"name": contains(name), "itemtype": equals("p.itemtype"), "status": equals("p.active")},
                    labels=req.cached("labels", lambda: _labels(req)))


def load(req, elid, parent=None):
    """The stored tariff ``elid`` (an add-on of ``parent`` when given, else a tariff itself)."""
    where = "parent = ?" if parent else "parent IS NULL"
    row = req.db.execute(f"SELECT {', '.join(_STORED)} FROM pricelist WHERE id = ? AND {where}",
                         (elid, *([parent] if parent else []))).fetchone()
    if row is None:
        raise errors.missed("pricelist", elid)
    return dict(zip(_STORED, row))


def prices_shown(req, pricelist_id):
    """Every price field of the tariff as the form shows it: each enabled currency's, set or empty."""
    stored = {(period, cur): cost for period, cur, cost in req.db.execute(
        "SELECT period, currency, cost FROM pricelist_price WHERE pricelist = ?", (pricelist_id,))}
    currencies = {cur for (cur,) in req.db.execute("SELECT id FROM currency WHERE active = 1")}
    return [(f"{name}{cur}", shown_amount(stored.get((period, cur)), cur))
            for cur in sorted(currencies | {cur for _, cur in stored}) for name, period in PERIODS.items()]


def shown_amount(minor, currency_id):
    return "" if minor is None else text.show(Money(minor, iso_currency(currency_id)))


def parse_amount(name, value, currency_id):
    """A price typed for param ``name``: minor units of the currency, never negative."""
    try:
        amount = text.parse(value, iso_currency(currency_id))
    except InvalidValue:
        raise errors.value(name, value) from None
    if amount.minor < 0:
        raise errors.value(name, value)
    return amount.minor


def given_prices(req):
    """{(period, currency): minor units, or None to remove} of the price params the call gives."""
    prices = {}
    for name, value in req.params.pairs:
        match = _PRICE.fullmatch(name)
        if match is not None:
            currency_id = known(req.db, match.group(2), field=name)
            prices[PERIODS[match.group(1)], currency_id] = (
                parse_amount(name, value, currency_id) if value.strip() else None)
    return prices


def save_prices(req, pricelist_id, prices):
    for (period, currency_id), cost in prices.items():
        req.db.execute("DELETE FROM pricelist_price WHERE pricelist = ? AND period = ? AND currency = ?",
                       (pricelist_id, period, currency_id))
        if cost is not None:
            req.db.execute("INSERT INTO pricelist_price (pricelist, period, currency, cost) VALUES (?, ?, ?, ?)",
                           (pricelist_id, period, currency_id, cost))


def _offers(req, pricelist_id):
    result = []
    for param, table in OFFERS.items():
        ids = [str(i) for (i,) in req.db.execute(
            f"SELECT {table} FROM pricelist_{table} WHERE pricelist = ? ORDER BY {table}", (pricelist_id,))]
        result.append((param, ",".join(ids)))
    return result


def _save_offers(req, pricelist_id):
    for param, table in OFFERS.items():
        if param not in req.params:
            continue
        ids = sorted(set(req.params.ids(param)))
        for offered in ids:
            if not req.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (offered,)).fetchone():
                raise errors.missed(table, offered)
        req.db.execute(f"DELETE FROM pricelist_{table} WHERE pricelist = ?", (pricelist_id,))
        for offered in ids:
            req.db.execute(f"INSERT INTO pricelist_{table} (pricelist, {table}) VALUES (?, ?)",
                           (pricelist_id, offered))


def _shown(stored):
    return {name: ("on" if stored[name] else "off") if name in _FLAGS else str(stored[name]) for name in _STORED}


def _everything(req, elid, stored):
    """The tariff's fields as the form shows them: stored fields, offers, every price."""
    return [*_shown(stored).items(), *_offers(req, elid), *prices_shown(req, elid)]


def _choices(req):
    return [("itemtype", [(str(i), n) for i, n in req.db.execute(
                f"SELECT id, {localized_name(req.lang, 't')} FROM itemtype t ORDER BY id")]),
            ("project", [(str(i), n) for i, n in req.db.execute("SELECT id, name FROM project ORDER BY id")])]


def _given(req):
    values = {name: req.params.get(name) for name in _STORED if name in req.params and name != "active"}
    for name in _FLAGS:
        if name in values:
            values[name] = 1 if values[name] == "on" else 0
    if "itemtype" in values:
        values["itemtype"] = _itemtype(req, values["itemtype"])
    if "project" in values:
        values["project"] = req.int_param("project")
        if values["project"] is None or not req.db.execute(
                "SELECT 1 FROM project WHERE id = ?", (values["project"],)).fetchone():
            raise errors.missed("project", req.params.get("project"))
    if "name" in values and not values["name"]:
        raise errors.empty("name")
    module = values.get("processingmodule", "")
    if module and not req.db.execute("SELECT 1 FROM processingmodule WHERE CAST(id AS TEXT) = ?",
                                     (module,)).fetchone():
        raise errors.missed("processingmodule", module)
    return values


def _itemtype(req, given):
    """A product type by id or internal name (``vds``)."""
    row = req.db.execute("SELECT id FROM itemtype WHERE intname = ? OR CAST(id AS TEXT) = ?",
                         (given, given)).fetchone()
    if row is None:
        raise errors.missed("itemtype", given) if given else errors.empty("itemtype")
    return row[0]


def pricelist_edit(req):
    elid = req.int_param("elid")
    if not req.sok:
        if not elid:
            return Doc.form([(name, "") for name in _STORED] + prices_shown(req, 0), _choices(req))
        return Doc.form([("elid", str(elid)), *_everything(req, elid, load(req, elid))], _choices(req))
    values = _given(req)
    prices = given_prices(req)
    if elid:
        stored = load(req, elid)
        before = dict(_everything(req, elid, stored))
        rows.update(req.db, "pricelist", elid, values)
    else:
        for name in ("itemtype", "name"):
            if not values.get(name):
                raise errors.empty(name)
        values.setdefault("project", 1)
        before, elid = {}, rows.insert(req.db, "pricelist", values)
    save_prices(req, elid, prices)
    _save_offers(req, elid)
    changes = history.describe_changes(before, dict(_everything(req, elid, load(req, elid))))
    if changes:
        note(req.context, elid, ("created: " if not before else "") + changes)
    return Doc.success(id=elid) if not before else Doc.success()


def pricelist_delete(req):
    """Deletes tariffs with their add-ons, prices and history; one that something uses is refused."""
    for elid in req.params.ids():
        try:
            req.db.execute("DELETE FROM pricelist WHERE id = ? AND parent IS NULL", (elid,))
        except req.store.IntegrityError:
            raise errors.MgrError("value", "elid", elid, "msg_error_catalog_in_use") from None


def _set_active(req, active):
    for elid in req.params.ids():
        if load(req, elid)["active"] != active:
            req.db.execute("UPDATE pricelist SET active = ? WHERE id = ?", (active, elid))
            note(req.context, elid, "resumed" if active else "suspended")


def pricelist_suspend(req):
    _set_active(req, 0)


def pricelist_resume(req):
    _set_active(req, 1)


def pricelist_history(req):
    elid = req.int_param("elid")
    load(req, elid)
    columns = {"changedate": "changedate", "desc": "description", "user": '"user"', "ip": "ip", "action": "action"}
    return sql_list(req, "pricelist_history", columns, "id", where=["pricelist = ?"], args=(elid,))
