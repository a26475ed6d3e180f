"""Subaccounts: a client's money at one provider in one currency.

subaccount (+ .edit, .suspend, .resume, .refund), and ``merge`` for
account.join.  A client has one subaccount per (provider, currency) and at
most one active subaccount per provider (BILLmanager's rule); a suspended
subaccount takes no charges.  Balances change only through the ledger.
"""

from .. import distribution, errors, history, ledger
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..billing.money import Money
from ..doc import Cell, Doc
from ..lists import sql_list
from ..sqlmoney import shown
from ..store import rows
from .currency import enabled_choices, known
from .owner import client_scope, existing_account

_SETTINGS = ("creditlimit", "allowpostpaid", "referer", "active", "incident_limit")


def _labels(req):
    return {"status": {"1": Cell(req.msg("status_active"), (("orig", "1"),)),
                       "0": Cell(req.msg("status_suspended"), (("orig", "0"),))}}


def subaccount(req):
    account = client_scope(req)
    columns = {"id": "s.id", "account": "a.name", "project": "p.name", "currency": "c.iso",
               "balance": shown("s.balance", "c.minor_units"), "creditlimit": shown("s.creditlimit", "c.minor_units"),
               "status": "s.active"}
    return sql_list(req, "subaccount s JOIN account a ON a.id = s.account JOIN project p ON p.id = s.project "
                    "JOIN currency c ON c.id = s.currency", columns, "s.id",
                    where=["s.account = ?"] if account is not None else [], args=() if account is None else (account,),
                    labels=req.cached("labels", lambda: _labels(req)))


def _row(req, elid):
    row = req.db.execute("SELECT account, project, currency, balance, creditlimit, allowpostpaid, referer, active, "
                         "incident_limit FROM subaccount WHERE id = ?", (elid,)).fetchone()
    if row is None or (req.params.get("plid") and str(row[0]) != req.params.get("plid")):
        raise errors.missed("subaccount", elid)
    return dict(zip(("account", "project", "currency", "balance", *_SETTINGS), row))


def _form(req, row, elid=None):
    unit = iso_currency(row["currency"])
    fields = ([("elid", str(elid))] if elid else []) + [
        ("plid", str(row["account"])), ("subaccount_project", str(row["project"])),
        ("subaccount_currency", str(row["currency"])), ("balance", text.show(Money(row["balance"], unit))),
        ("creditlimit", text.show(Money(row["creditlimit"], unit))),
        ("allowpostpaid", "on" if row["allowpostpaid"] else "off"),
        ("referer", "" if row["referer"] is None else str(row["referer"])),
        ("active", "on" if row["active"] else "off"),
        ("incident_limit", "" if row["incident_limit"] is None else str(row["incident_limit"]))]
    projects = [(str(i), n) for i, n in req.db.execute("SELECT id, name FROM project ORDER BY id")]
    return Doc.form(fields, [("subaccount_project", projects),
                             ("subaccount_currency", enabled_choices(req.db, req.lang))])


def _new(req, account):
    """A new subaccount's row: the client's provider and that provider's currency unless given."""
    project = req.int_param("subaccount_project")
    if project is None:
        project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    found = req.db.execute("SELECT currency FROM project WHERE id = ?", (project,)).fetchone()
    if found is None:
        raise errors.missed("project", str(project))
    code = req.params.get("subaccount_currency") or str(found[0])
    return {"account": account, "project": project, "currency": known(req.db, code, "subaccount_currency"),
            "balance": 0, "creditlimit": 0, "allowpostpaid": 0, "referer": None,
            "active": int(not _active_elsewhere(req, account, project)), "incident_limit": None}


def _active_elsewhere(req, account, project, elid=None):
    return req.db.execute("SELECT 1 FROM subaccount WHERE account = ? AND project = ? AND active = 1 AND id != ?",
                          (account, project, elid or 0)).fetchone() is not None


def _refuse_second_active(req, row, elid):
    if _active_elsewhere(req, row["account"], row["project"], elid):
        name = req.db.execute("SELECT name FROM project WHERE id = ?", (row["project"],)).fetchone()[0]
        raise errors.MgrError("exists", "active", name, "msg_error_active_exists")


def _given(req, row):
    """The settings the call changes, checked and converted to their stored form."""
    values = {name: req.params.get(name) for name in _SETTINGS if name in req.params}
    for name in ("allowpostpaid", "active"):
        if name in values:
            values[name] = 1 if values[name] == "on" else 0
    if "creditlimit" in values:
        try:
            limit = text.parse(values["creditlimit"] or "0", iso_currency(row["currency"]))
        except InvalidValue:
            raise errors.value("creditlimit", values["creditlimit"]) from None
        if limit.minor < 0:
            raise errors.value("creditlimit", values["creditlimit"])
        values["creditlimit"] = limit.minor
    if "referer" in values:
        values["referer"] = int(values["referer"]) if values["referer"] else None
        if values["referer"] is not None and (values["referer"] == row["account"] or not req.db.execute(
                "SELECT 1 FROM account WHERE id = ?", (values["referer"],)).fetchone()):
            raise errors.missed("referer", values["referer"])
    if "incident_limit" in values:
        values["incident_limit"] = int(values["incident_limit"]) if values["incident_limit"] else None
    return values


def _readable(row, keys=None):
    """``row`` (or its ``keys``) as history shows it: the credit limit in major units."""
    unit = iso_currency(row["currency"])
    return {k: text.show(Money(row[k], unit)) if k == "creditlimit" else row[k] for k in (keys or row)}


def subaccount_edit(req):
    if req.elid:
        row = _row(req, req.int_param("elid"))
    else:
        row = _new(req, existing_account(req, "plid"))
    if not req.sok:
        return _form(req, row, req.elid)
    for name, column in (("subaccount_project", "project"), ("subaccount_currency", "currency")):
        if req.elid and req.params.get(name) and req.params.get(name) != str(row[column]):
            raise errors.MgrError("value", name, req.params.get(name), "msg_error_subaccount_fixed")
    values = _given(req, row)
    if values.get("active", row["active"]):
        _refuse_second_active(req, row, req.elid)
    if req.elid:
        if values:
            rows.update(req.db, "subaccount", req.int_param("elid"), values)
        changes = history.describe_changes(_readable(row), _readable({**row, **values}, values))
        if changes:
            history.record(req.context, row["account"], f"subaccount #{req.elid}: {changes}")
        return Doc.success()
    if req.db.execute("SELECT 1 FROM subaccount WHERE account = ? AND project = ? AND currency = ?",
                      (row["account"], row["project"], row["currency"])).fetchone():
        raise errors.exists("subaccount_currency", iso_currency(row["currency"]).iso)
    row.update(values)
    elid = rows.insert(req.db, "subaccount", row)
    history.record(req.context, row["account"], f"subaccount #{elid} opened in {iso_currency(row['currency']).iso}")
    return Doc.success(id=elid)


def _set_active(req, active):
    for elid in req.params.ids():
        row = _row(req, elid)
        if active:
            _refuse_second_active(req, row, elid)
        if row["active"] != active:
            req.db.execute("UPDATE subaccount SET active = ? WHERE id = ?", (active, elid))
            history.record(req.context, row["account"], f"subaccount #{elid}: {'resumed' if active else 'suspended'}")


def subaccount_suspend(req):
    _set_active(req, 0)


def subaccount_resume(req):
    _set_active(req, 1)


def subaccount_refund(req):
    """Money withdrawn from a subaccount (given back to the client outside billing): never below −creditlimit."""
    elid = req.int_param("elid")
    row = _row(req, elid)
    unit = iso_currency(row["currency"])
    try:
        amount = text.parse(req.params.get("amount", ""), unit)
        if amount.minor <= 0:
            raise InvalidValue("a refund is a positive amount")
    except InvalidValue:
        raise errors.value("amount", req.params.get("amount", "")) from None
    note = req.params.get("note", "")
    balance = ledger.withdraw(req.context, elid, amount, "refund", note=note)
    history.record(req.context, row["account"], f"subaccount #{req.elid}: refund {text.show_iso(amount)}"
                   + (f" ({note})" if note else ""))
    return Doc.success(balance=text.show(balance))


def merge(ctx, source, target):
    """Move client ``source``'s money to client ``target`` (account.join).

    A subaccount whose (provider, currency) the target also has is emptied into
    the target's with a ``merge`` posting on each side, and its payments and
    expenses go with the money (the target's unused payments then pay its
    unpaid expenses, so a refund never takes money that debts are owed); any
    other moves over whole, suspended if the target already has an active one
    at that provider.
    """
    owned = ctx.db.execute("SELECT id, project, currency, balance, active FROM subaccount WHERE account = ? "
                           "ORDER BY id", (source,)).fetchall()
    for elid, project, currency_id, balance, active in owned:
        into = ctx.db.execute("SELECT id FROM subaccount WHERE account = ? AND project = ? AND currency = ?",
                              (target, project, currency_id)).fetchone()
        if into is None:
            busy = ctx.db.execute("SELECT 1 FROM subaccount WHERE account = ? AND project = ? AND active = 1",
                                  (target, project)).fetchone()
            ctx.db.execute("UPDATE subaccount SET account = ?, active = ? WHERE id = ?",
                           (target, int(active and busy is None), elid))
            continue
        if balance:
            money = Money(balance, iso_currency(currency_id))
            ledger.post(ctx, elid, -money, "merge", ("subaccount", into[0]), f"client #{source} merged into #{target}")
            ledger.post(ctx, into[0], money, "merge", ("subaccount", elid), f"client #{source} merged into #{target}")
        for table in ("payment", "expense"):
            ctx.db.execute(f"UPDATE {table} SET subaccount = ? WHERE subaccount = ?", (into[0], elid))
        for (payment,) in ctx.db.execute("SELECT id FROM payment WHERE subaccount = ? AND status = 4 "
                                         "ORDER BY paydate, id", (into[0],)).fetchall():
            distribution.cover_expenses(ctx.db, payment)
    ctx.db.execute("UPDATE subaccount SET referer = ? WHERE referer = ?", (target, source))
