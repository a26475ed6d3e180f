"""Currencies: currency (the ISO 4217 list) and currency.edit (names, symbol, enabled).

Every ISO 4217 currency with minor units is known (ids are ISO numeric
codes); a provider enables the ones it uses.  Codes and minor units are
ISO's, never edited, so an amount always means the same money.
"""

from .. import errors
from ..billing.currency import currency as iso_currency
from ..billing.errors import UnknownCurrency
from ..doc import Cell, Doc
from ..lists import contains, equals, localized_name, sql_list
from ..store import rows

# where a currency is in use: (table, column); a currency in use stays enabled
USED_BY = (("project", "currency"), ("subaccount", "currency"), ("paymethod", "currency"))


def _labels(req):
    return {"status": {"1": Cell(req.msg("status_active"), (("orig", "1"),)),
                       "0": Cell(req.msg("status_disabled"), (("orig", "0"),))}}


def currency(req):
    columns = {"id": "c.id", "name": localized_name(req.lang, 'c'), "iso": "c.iso", "code": "c.id",
               "symbol": "coalesce(nullif(c.symbol, ''), c.iso)", "minor_units": "c.minor_units", "status": "c.active"}
    filters = {"name": contains(localized_name(req.lang, 'c')), "iso": contains("c.iso"), "status": equals("c.active")}
    return sql_list(req, "currency c", columns, "c.iso", filters=filters,
                    labels=req.cached("labels", lambda: _labels(req)))


def known(db, code, field="currency", enabled=True):
    """The id of the currency ``code`` (numeric or ISO letters), enabled unless said otherwise."""
    try:
        numeric = iso_currency(code).numeric
    except UnknownCurrency:
        raise errors.value(field, code) from None
    row = db.execute("SELECT active FROM currency WHERE id = ?", (numeric,)).fetchone()
    if row is None:
        raise errors.missed("currency", code)
    if enabled and not row[0]:
        raise errors.MgrError("value", field, code, "msg_error_currency_disabled")
    return numeric


def enabled_choices(db, lang):
    """(id, "ISO name") of every enabled currency, for a form's select."""
    return [(str(i), f"{iso} {name}") for i, iso, name in db.execute(
        f"SELECT c.id, c.iso, {localized_name(lang, 'c')} FROM currency c WHERE c.active = 1 ORDER BY c.iso")]


_EDITABLE = ("name", "name_ru", "symbol", "active")


def currency_edit(req):
    if not req.elid:
        raise errors.empty("elid")
    row = req.db.execute("SELECT id, iso, minor_units, name, name_ru, symbol, active FROM currency WHERE id = ?",
                         (req.int_param("elid"),)).fetchone()
    if row is None:
        raise errors.missed("currency", req.elid)
    if not req.sok:
        numeric, iso, minor_units, name, name_ru, symbol, active = row
        return Doc.form([("elid", str(numeric)), ("iso", iso), ("code", str(numeric)),
                         ("minor_units", str(minor_units)), ("name", name), ("name_ru", name_ru),
                         ("symbol", symbol or iso), ("active", "on" if active else "off")])
    values = {name: req.params.get(name) for name in _EDITABLE if name in req.params}
    if "active" in values:
        values["active"] = 1 if values["active"] == "on" else 0
        if not values["active"]:
            _refuse_if_used(req, row[0], row[1])
    if values:
        rows.update(req.db, "currency", row[0], values)
    return Doc.success()


def _refuse_if_used(req, numeric, iso):
    for table, column in USED_BY:
        if req.db.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", (numeric,)).fetchone():
            raise errors.MgrError("value", "active", iso, "msg_error_currency_in_use")
