"""A client's personal discounts: account.discount (+ .add, .edit, .delete, .history).

A discount is a percent (0–100) of a charge or a fixed amount in one
currency, for ordering, renewal or both (``actiontype``), valid from
``fromdate`` to ``todate`` (both included, either open), optionally only for
some order periods, product types (intnames) and tariffs (ids; tariffs are
not kept yet, so any id is taken).  ``.add`` only creates; ``.edit`` views,
creates and modifies.  Every change is a line of the client's history that
``account.discount.history`` shows.  A client reads its own discounts; only
staff change them.  Which discount applies to a charge is ``rules.discount``.
"""

import re
from datetime import date

from .. import errors, history
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..billing.money import Money
from ..billing.periods import period
from ..doc import Cell, Doc
from ..lists import sql_list
from ..sqlmoney import shown
from ..store import rows
from ..validation import integer
from .currency import enabled_choices, known
from .owner import client_scope, existing_account

# form field -> column; the form's texts are what the view shows and history compares
FIELDS = {"name": "name", "project": "project", "type": "kind", "percentage": "percent", "amount": "amount",
          "currency": "currency", "priority": "priority", "actiontype": "actiontype", "period": "periods",
          "itemtype": "itemtypes", "pricelist": "pricelists", "fromdate": "fromdate", "todate": "todate",
          "note": "note"}
FIELDS_BY_COLUMN = {column: name for name, column in FIELDS.items()}
_PRIORITY = re.compile(r"-?[0-9]{1,9}")
ITEMTYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _labels(req):
    return {"actiontype": {key: req.msg(f"actiontype_{key}") for key in ("all", "open", "prolong")},
            "discount_type": {"personal": Cell(req.msg("discount_type_personal"), (("orig", "personal"),))}}


def account_discount(req):
    account = client_scope(req)
    value = (f"CASE WHEN d.kind = 'percent' THEN d.percent || '%' "
             f"ELSE {shown('d.amount', 'c.minor_units')} || ' ' || c.iso END")
    columns = {"id": "d.id", "name": f"CASE WHEN d.name != '' THEN d.name ELSE {value} END", "value": value,
               "actiontype": "d.actiontype", "project": "p.name", "discount_type": "'personal'",
               "period": "CASE WHEN d.fromdate IS NULL AND d.todate IS NULL THEN '' "
                         "ELSE coalesce(d.fromdate, '') || ' - ' || coalesce(d.todate, '') END",
               "priority": "d.priority"}
    return sql_list(req, "discount d JOIN project p ON p.id = d.project LEFT JOIN currency c ON c.id = d.currency",
                    columns, "d.id", where=["d.account = ?"] if account is not None else [],
                    args=() if account is None else (account,), labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    row = req.db.execute(f"SELECT account, {', '.join(FIELDS.values())} FROM discount WHERE id = ?",
                         (elid,)).fetchone()
    plid = req.int_param("plid")
    if row is None or (plid is not None and row[0] != plid):
        raise errors.missed("discount", elid)
    return row[0], _form(dict(zip(FIELDS, row[1:])))


def _form(stored):
    """A stored row (by field name) as the form's texts."""
    shown_ = {name: "" if value is None else str(value) for name, value in stored.items()}
    if stored["amount"] is not None:
        shown_["amount"] = text.show(Money(stored["amount"], iso_currency(stored["currency"])))
    return shown_


def _defaults(req, account):
    project, currency_id = req.db.execute("SELECT a.project, p.currency FROM account a JOIN project p "
                                          "ON p.id = a.project WHERE a.id = ?", (account,)).fetchone()
    return {name: "" for name in FIELDS} | {"project": str(project), "type": "percent", "currency": str(currency_id),
                                            "priority": "0", "actiontype": "all"}


def _ids(req, name, value, check):
    """A set parameter (``1, 3`` or ``vds,dedic``) as sorted, comma-joined stored text; None for empty (all)."""
    parts = sorted({part.strip() for part in value.split(",") if part.strip()})
    try:
        return ",".join(str(check(part)) for part in parts) or None
    except (InvalidValue, ValueError):
        raise errors.value(name, value) from None


def _itemtype(part):
    if not ITEMTYPE.fullmatch(part):
        raise ValueError(part)
    return part


def _pricelist(part):
    if not integer(part):
        raise ValueError(part)
    return integer(part)


def _day(name, value):
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        raise errors.value(name, value) from None


def _columns(req, form):
    """The form's texts checked and converted to columns; the first fault is an error naming its field."""
    row = {"name": form["name"], "note": form["note"], "actiontype": form["actiontype"], "kind": form["type"]}
    row["project"] = integer(form["project"])
    if row["project"] is None or not req.db.execute("SELECT 1 FROM project WHERE id = ?",
                                                    (row["project"],)).fetchone():
        raise errors.missed("project", form["project"])
    if form["type"] not in ("percent", "fixed"):
        raise errors.value("type", form["type"])
    if form["actiontype"] not in ("all", "open", "prolong"):
        raise errors.value("actiontype", form["actiontype"])
    row["percent"] = row["amount"] = row["currency"] = None
    if form["type"] == "percent":
        if not form["percentage"]:
            raise errors.empty("percentage")
        try:
            percent = text.parse_decimal(form["percentage"], whole=3, places=4)
        except InvalidValue:
            raise errors.value("percentage", form["percentage"]) from None
        if percent > 100:
            raise errors.value("percentage", form["percentage"])
        row["percent"] = text.show_decimal(percent)
    else:
        if not form["amount"]:
            raise errors.empty("amount")
        row["currency"] = known(req.db, form["currency"] or str(req.db.execute(   # default: the provider's
            "SELECT currency FROM project WHERE id = ?", (row["project"],)).fetchone()[0]), "currency")
        try:
            amount = text.parse(form["amount"], iso_currency(row["currency"]))
        except InvalidValue:
            raise errors.value("amount", form["amount"]) from None
        if amount.minor < 0:
            raise errors.value("amount", form["amount"])
        row["amount"] = amount.minor
    if not _PRIORITY.fullmatch(form["priority"] or "0"):
        raise errors.value("priority", form["priority"])
    row["priority"] = int(form["priority"] or "0")
    row["periods"] = _ids(req, "period", form["period"], period)
    row["itemtypes"] = _ids(req, "itemtype", form["itemtype"], _itemtype)
    row["pricelists"] = _ids(req, "pricelist", form["pricelist"], _pricelist)
    row["fromdate"], row["todate"] = _day("fromdate", form["fromdate"]), _day("todate", form["todate"])
    if row["fromdate"] and row["todate"] and row["todate"] < row["fromdate"]:
        raise errors.MgrError("value", "todate", form["todate"], "msg_error_todate_before")
    return row


def _view(req, form, elid=None):
    fields = ([("elid", str(elid))] if elid else []) + list(form.items())
    projects = [(str(i), n) for i, n in req.db.execute("SELECT id, name FROM project ORDER BY id")]
    return Doc.form(fields, [("project", projects), ("currency", enabled_choices(req.db, req.lang))])


def _edit(req, elid):
    if elid:
        account, stored = _load(req, elid)
    else:
        account = existing_account(req, "plid")
        stored = _defaults(req, account)
    if not req.sok:
        return _view(req, stored, elid)
    given = {name: req.params.get(name) for name in FIELDS if name in req.params}
    row = _columns(req, {**stored, **given})
    after = _form({FIELDS_BY_COLUMN[column]: value for column, value in row.items()})
    if elid:
        rows.update(req.db, "discount", elid, row)
        changes = history.describe_changes(stored, after)
        if changes:
            history.record(req.context, account, f"discount #{elid}: {changes}")
        return Doc.success()
    row["account"] = account
    elid = rows.insert(req.db, "discount", row)
    history.record(req.context, account, f"discount #{elid}: created; " + "; ".join(
        f"{name}: {value}" for name, value in after.items() if value))
    return Doc.success(id=elid)


def account_discount_edit(req):
    return _edit(req, req.int_param("elid"))


def account_discount_add(req):
    """Creates only: an ``elid`` here is a mistake, not a wish to modify."""
    if req.elid:
        raise errors.value("elid", req.elid)
    return _edit(req, None)


def account_discount_delete(req):
    for elid in req.params.ids():
        found = req.db.execute("SELECT account FROM discount WHERE id = ?", (elid,)).fetchone()
        plid = req.int_param("plid")
        if found is None or (plid is not None and found[0] != plid):
            raise errors.missed("discount", elid)
        req.db.execute("DELETE FROM discount WHERE id = ?", (elid,))
        history.record(req.context, found[0], f"discount #{elid}: deleted")


def account_discount_history(req):
    """The client's discount changes (``plid``), or one discount's (``elid``, even once deleted)."""
    elid = req.int_param("elid")
    found = req.db.execute("SELECT account FROM discount WHERE id = ?", (elid,)).fetchone() if elid else None
    account = found[0] if found else existing_account(req, "plid")
    if req.int_param("plid") not in (None, account):
        raise errors.missed("discount", elid)
    pattern = f"discount #{elid}:%" if elid else "discount #%"
    columns = {"id": "h.id", "changedate": "h.changedate", "desc": "h.description", "user": "h.user",
               "ip": "h.ip", "action": "h.action"}
    return sql_list(req, "history h", columns, "h.id DESC", where=["h.account = ?", "h.description LIKE ?"],
                    args=(account, pattern))
