"""Tariff add-ons: pricelist.addon, pricelist.addon.edit / .delete (``plid`` = the tariff).

An add-on is a child tariff (a ``pricelist`` row with ``parent``) of the
tariff's type and provider, so it is priced the same way (``monthly643=``
per unit).  Its amounts are whole units: ``addonmin`` ≤ ``addonlimit``
(included) ≤ ``addonmax``, ``addonstep`` > 0.  A statistics add-on
(billtype 3) also has an overage price per unit per currency
(``overage<currency id>``) and monthly or daily accounting (``statperiod``);
an enumeration (addontype 3) has its values (``enumeration``, comma-separated
names, each also its internal name).  Changes are lines of the tariff's history.
"""

import re

from .. import errors, history
from ..doc import Cell, Doc
from ..lists import localized_name, sql_list
from ..store import rows
from ..validation import integer
from .currency import known
from .pricelist import given_prices, load, note, parse_amount, prices_shown, save_prices, shown_amount

ADDONTYPES = {1: "boolean", 2: "integer", 3: "enumeration"}
BILLTYPES = {1: "none", 2: "ordered", 3: "statistics", 4: "compound", 10: "manual"}
STATISTICS, ENUMERATION = 3, 3
STATPERIODS = ("monthly", "daily")
_AMOUNTS = ("addonmin", "addonmax", "addonstep", "addonlimit")
_STORED = ("name", "name_ru", "intname", "addontype", "billtype", "measure", "statperiod", *_AMOUNTS)
_OVERAGE = re.compile(r"overage([0-9]{1,4})")
_INTNAME = re.compile(r"[A-Za-z0-9_.-]{0,64}")


def _labels(req):
    return {"addontype": {str(k): Cell(req.msg(f"addontype_{k}"), (("orig", str(k)),)) for k in ADDONTYPES},
            "billtype": {str(k): Cell(req.msg(f"billtype_{k}"), (("orig", str(k)),)) for k in BILLTYPES}}


def _tariff(req):
    plid = req.int_param("plid")
    if plid is None:
        raise errors.empty("plid")
    return plid, load(req, plid)


def pricelist_addon(req):
    plid, _ = _tariff(req)
    columns = {"id": "a.id", "name": localized_name(req.lang, "a"), "intname": "a.intname", "addontype": "a.addontype",
               "billtype": "a.billtype", "measure": "a.measure", "addonlimit": "a.addonlimit"}
    return sql_list(req, "pricelist a", columns, "a.id", where=["a.parent = ?"], args=(plid,),
                    labels=req.cached("labels", lambda: _labels(req)))


def _load(req, plid, elid):
    row = req.db.execute(f"SELECT {', '.join(_STORED)} FROM pricelist WHERE id = ? AND parent = ?",
                         (elid, plid)).fetchone()
    if row is None:
        raise errors.missed("pricelist.addon", elid)
    return dict(zip(_STORED, row))


def _enumeration(req, elid):
    return ", ".join(n for (n,) in req.db.execute(
        "SELECT name FROM enumerationitem WHERE pricelist = ? ORDER BY id", (elid,)))


def _overage_shown(req, elid):
    stored = dict(req.db.execute("SELECT currency, cost FROM pricelist_overage WHERE pricelist = ?", (elid,)))
    currencies = {cur for (cur,) in req.db.execute("SELECT id FROM currency WHERE active = 1")} | set(stored)
    return [(f"overage{cur}", shown_amount(stored.get(cur), cur)) for cur in sorted(currencies)]


def _everything(req, elid, stored):
    fields = [(name, "" if stored[name] is None else str(stored[name])) for name in _STORED]
    return [*fields, ("enumeration", _enumeration(req, elid)), *_overage_shown(req, elid), *prices_shown(req, elid)]


def _number(name, given):
    value = integer(given.strip())
    if value is None:
        raise errors.value(name, given)
    return value


def _given(req, stored):
    """The stored fields the call changes, checked together with the kept ones."""
    values = {name: req.params.get(name) for name in _STORED if name in req.params}
    for name, known_codes in (("addontype", ADDONTYPES), ("billtype", BILLTYPES)):
        if name in values:
            code = integer(values[name].strip())
            if code not in known_codes:
                raise errors.value(name, values[name])
            values[name] = code
    for name in _AMOUNTS:
        if name in values:
            values[name] = _number(name, values[name]) if values[name].strip() else None
    if "name" in values and not values["name"]:
        raise errors.empty("name")
    if not _INTNAME.fullmatch(values.get("intname", "")):
        raise errors.value("intname", values["intname"])
    after = {**stored, **values}
    if after["addontype"] is None:
        raise errors.empty("addontype")
    if after["billtype"] == STATISTICS:
        if after["statperiod"] not in STATPERIODS:
            if after["statperiod"]:
                raise errors.value("statperiod", after["statperiod"])
            values["statperiod"] = after["statperiod"] = STATPERIODS[0]
    elif after["statperiod"]:
        raise errors.value("statperiod", after["statperiod"])
    _check_amounts(values, after)
    return values


def _check_amounts(values, after):
    """min ≤ included ≤ max and step > 0, blaming the field the call gave (or the one out of line)."""
    low, high, step, limit = (after[name] for name in _AMOUNTS)
    if step is not None and step <= 0:
        raise errors.MgrError("value", "addonstep", str(step), "msg_error_addonstep")
    if low is not None and high is not None and high < low:
        raise errors.MgrError("value", "addonmax" if "addonmax" in values else "addonmin",
                              str(values.get("addonmax", values.get("addonmin", ""))), "msg_error_addonmax")
    if limit is not None and ((low is not None and limit < low) or (high is not None and limit > high)):
        raise errors.MgrError("value", "addonlimit", str(limit), "msg_error_addonlimit")


def _save_overage(req, elid):
    for name, value in req.params.pairs:
        match = _OVERAGE.fullmatch(name)
        if match is None:
            continue
        currency_id = known(req.db, match.group(1), field=name)
        req.db.execute("DELETE FROM pricelist_overage WHERE pricelist = ? AND currency = ?", (elid, currency_id))
        if value.strip():
            req.db.execute("INSERT INTO pricelist_overage (pricelist, currency, cost) VALUES (?, ?, ?)",
                           (elid, currency_id, parse_amount(name, value, currency_id)))


def _save_enumeration(req, elid, addontype):
    if "enumeration" not in req.params:
        if addontype == ENUMERATION and not req.db.execute(
                "SELECT 1 FROM enumerationitem WHERE pricelist = ?", (elid,)).fetchone():
            raise errors.empty("enumeration")
        return
    names = list(dict.fromkeys(n.strip() for n in req.params.get("enumeration").split(",") if n.strip()))
    if addontype == ENUMERATION and not names:
        raise errors.empty("enumeration")
    if any(len(n) > 255 for n in names):
        raise errors.value("enumeration", req.params.get("enumeration"))
    req.db.execute("DELETE FROM enumerationitem WHERE pricelist = ?", (elid,))
    for name in names:
        req.db.execute("INSERT INTO enumerationitem (pricelist, intname, name) VALUES (?, ?, ?)", (elid, name, name))


def pricelist_addon_edit(req):
    plid, tariff = _tariff(req)
    elid = req.int_param("elid")
    empty = {name: None for name in _STORED} | {"name": "", "name_ru": "", "intname": "", "measure": "",
                                               "statperiod": "", "billtype": 2, "addonstep": 1}
    stored = _load(req, plid, elid) if elid else empty
    if not req.sok:
        return Doc.form([*([("elid", str(elid))] if elid else []), ("plid", str(plid)),
                         *_everything(req, elid or 0, stored)])
    values = _given(req, stored)
    prices = given_prices(req)
    before = dict(_everything(req, elid, stored)) if elid else {}
    if elid:
        rows.update(req.db, "pricelist", elid, values)
    else:
        if not values.get("name"):
            raise errors.empty("name")
        elid = rows.insert(req.db, "pricelist", {**empty, **values, "parent": plid, "itemtype": tariff["itemtype"],
                                                 "project": tariff["project"]})
    save_prices(req, elid, prices)
    _save_overage(req, elid)
    _save_enumeration(req, elid, {**stored, **values}["addontype"])
    changes = history.describe_changes(before, dict(_everything(req, elid, _load(req, plid, elid))))
    if changes:
        note(req.context, plid, f"addon #{elid}: " + ("created: " if not before else "") + changes)
    return Doc.success(id=elid) if not before else Doc.success()


def pricelist_addon_delete(req):
    plid, _ = _tariff(req)
    for elid in req.params.ids():
        try:
            deleted = req.db.execute("DELETE FROM pricelist WHERE id = ? AND parent = ?", (elid, plid)).rowcount
        except req.store.IntegrityError:
            raise errors.MgrError("value", "elid", elid, "msg_error_catalog_in_use") from None
        if deleted:
            note(req.context, plid, f"addon #{elid}: deleted")
