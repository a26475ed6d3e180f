"""Currency rates: account.currencyrate, account.currencyrate.edit, account.currencyrate.delete.

A rate says that ``amount`` units of the base currency are worth ``rate``
units of the related one from ``ratedate`` on; both are exact positive
decimals kept as text.  Called with ``plid`` the functions are that client's
own rates (which win over global ones for it); without, the global rates.
Which rate converts at a moment is ``rules.rate``.
"""

from datetime import datetime

from .. import errors, history
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..clock import FORMAT
from ..doc import Doc
from ..lists import sql_list
from ..store import rows
from .currency import enabled_choices, known
from .owner import existing_account

FIELDS = ("currency_base", "currency_relate", "rate", "amount", "ratedate")


def _account(req):
    return existing_account(req, "plid") if req.int_param("plid") is not None else None


def account_currencyrate(req):
    account = _account(req)
    columns = {"id": "r.id", "currency_base": "b.iso", "currency_relate": "o.iso", "amount": "r.amount",
               "rate": "r.rate", "ratedate": "r.ratedate"}
    return sql_list(req, "currencyrate r JOIN currency b ON b.id = r.currency_base "
                    "JOIN currency o ON o.id = r.currency_relate", columns, "r.ratedate DESC, r.id DESC",
                    where=["r.account = ?" if account else "r.account IS NULL"], args=(account,) if account else ())


def _load(req, elid):
    row = req.db.execute(f"SELECT account, {', '.join(FIELDS)} FROM currencyrate WHERE id = ?", (elid,)).fetchone()
    if row is None or row[0] != _account(req):
        raise errors.missed("currencyrate", elid)
    return dict(zip(FIELDS, (str(value) for value in row[1:])))


def _positive(name, value):
    if not value:
        raise errors.empty(name)
    try:
        number = text.parse_decimal(value)
    except InvalidValue:
        raise errors.value(name, value) from None
    if number <= 0:
        raise errors.value(name, value)
    return text.show_decimal(number)


def _moment(value):
    """``2026-03-01`` or ``2026-03-01 12:00[:00]`` as stored: ``2026-03-01 12:00:00``."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None:
        raise errors.value("ratedate", value)
    return moment.strftime(FORMAT)


def _columns(req, form):
    if not form["currency_base"]:
        raise errors.empty("currency_base")
    if not form["currency_relate"]:
        raise errors.empty("currency_relate")
    base = known(req.db, form["currency_base"], "currency_base", enabled=False)
    related = known(req.db, form["currency_relate"], "currency_relate", enabled=False)
    if base == related:
        raise errors.MgrError("value", "currency_relate", form["currency_relate"], "msg_error_same_currency")
    return {"currency_base": base, "currency_relate": related, "rate": _positive("rate", form["rate"]),
            "amount": _positive("amount", form["amount"] or "1"), "ratedate": _moment(form["ratedate"])}


def account_currencyrate_edit(req):
    elid = req.int_param("elid")
    account = _account(req)
    stored = _load(req, elid) if elid else {"currency_base": "", "currency_relate": "", "rate": "", "amount": "1",
                                            "ratedate": req.clock.stamp()}
    if not req.sok:
        choices = enabled_choices(req.db, req.lang)
        return Doc.form(([("elid", str(elid))] if elid else []) + list(stored.items()),
                        [("currency_base", choices), ("currency_relate", choices)])
    row = _columns(req, {**stored, **{name: req.params.get(name) for name in FIELDS if name in req.params}})
    after = {name: str(value) for name, value in row.items()}
    if elid:
        rows.update(req.db, "currencyrate", elid, row)
        changes = history.describe_changes(stored, after)
        if account and changes:
            history.record(req.context, account, f"currency rate #{elid}: {changes}")
        return Doc.success()
    row["account"] = account
    base, related = row["currency_base"], row["currency_relate"]
    elid = rows.insert(req.db, "currencyrate", row)
    if account:
        history.record(req.context, account, f"currency rate #{elid}: created, {row['amount']} "
                       f"{iso_currency(base).iso} = {row['rate']} {iso_currency(related).iso} from {row['ratedate']}")
    return Doc.success(id=elid)


def account_currencyrate_delete(req):
    account = _account(req)
    for elid in req.params.ids():
        found = req.db.execute("SELECT account FROM currencyrate WHERE id = ?", (elid,)).fetchone()
        if found is None or found[0] != account:
            raise errors.missed("currencyrate", elid)
        req.db.execute("DELETE FROM currencyrate WHERE id = ?", (elid,))
        if account:
            history.record(req.context, account, f"currency rate #{elid}: deleted")
