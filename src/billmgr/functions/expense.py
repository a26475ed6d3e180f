"""Expenses: subaccount.expense (+ .edit, .delete), and how a payment paid them: payment.expense
(+ .edit, .delete).

An expense debits its subaccount through ``ledger.withdraw`` (refused, nothing
written, when the money is not there and the charge is not post-paid), then
is paid from the subaccount's credited payments that have money left, oldest
first; what they do not cover stays ``notpayd`` until a payment comes.  The
charge is the amount less the client's discount (``rules.discount``), taxed
by the client's tax rule in force (``rules.tax_rule``); a caller's own
``discountamount`` or ``taxrate`` wins over them.  ``item`` is kept as a
plain number until services exist.
"""

import re
from decimal import Decimal

from .. import charges, distribution, errors, history, ledger, rules
from ..billing import discounts, tax, text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..billing.money import Money
from ..doc import Doc
from ..lists import contains, equals, localized_name, sql_list
from ..sqlmoney import shown
from ..store import rows
from .owner import client_scope, existing_account

_RATE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,4})?")
OPERATIONS = ("open", "prolong", "billdaily", "changeaddon", "statistic", "transfer", "manual")


def subaccount_expense(req):
    account = client_scope(req)
    name = localized_name(req.lang, "e")
    columns = {"id": "e.id", "locale_name": name, "realdate": "e.realdate", "cdate": "e.cdate",
               "amount": shown("e.amount", "c.minor_units"), "notpayd": shown("e.notpayd", "c.minor_units"),
               "discountamount": shown("e.discountamount", "c.minor_units"),
               "payments": f"(SELECT {req.store.dialect.joined('CAST(pe.payment AS TEXT)')} FROM payment_expense pe "
                           "WHERE pe.expense = e.id)",
               "discount": "e.discount", "taxamount": shown("e.taxamount", "c.minor_units")}
    return sql_list(req, "expense e JOIN subaccount s ON s.id = e.subaccount JOIN currency c ON c.id = s.currency",
                    columns, "e.id", filters={"name": contains(name), "operation": equals("e.operation")},
                    where=["e.account = ?"] if account is not None else [], args=() if account is None else (account,))


def expense(req):
    """A client's own expenses: subaccount.expense's rows in the columns its metadata gives a client."""
    return subaccount_expense(req)


def _load(req, elid):
    row = req.db.execute("SELECT e.id, e.account, e.subaccount, e.item, e.operation, e.name, e.name_ru, e.amount, "
                         "e.taxamount, e.taxrate, e.discount, e.discountamount, e.notpayd, e.realdate, e.cdate, "
                         "e.postpaid, s.currency FROM expense e JOIN subaccount s ON s.id = e.subaccount "
                         "WHERE e.id = ?",
                         (elid,)).fetchone()
    scope = client_scope(req)
    if row is None or (scope is not None and row[1] != scope):
        raise errors.missed("expense", elid)
    return dict(zip(("id", "account", "subaccount", "item", "operation", "name", "name_ru", "amount", "taxamount",
                     "taxrate", "discount", "discountamount", "notpayd", "realdate", "cdate", "postpaid", "currency"),
                    row))


def _form(req, expense):
    unit = iso_currency(expense["currency"])
    fields = [("elid", str(expense["id"])), ("plid", str(expense["account"])),
              ("subaccount", str(expense["subaccount"])), ("item", str(expense["item"] or "")),
              ("operation", expense["operation"]), ("amount", text.show(Money(expense["amount"], unit))),
              ("taxrate", expense["taxrate"]), ("taxamount", text.show(Money(expense["taxamount"], unit))),
              ("discount", str(expense["discount"] or "")),
              ("discountamount", text.show(Money(expense["discountamount"], unit))),
              ("notpayd", text.show(Money(expense["notpayd"], unit))),
              ("postpaid", "on" if expense["postpaid"] else "off"), ("name", expense["name"]),
              ("name_ru", expense["name_ru"]), ("realdate", expense["realdate"]), ("cdate", expense["cdate"])]
    return Doc.form(fields, [("operation", _operations(req))])


def _operations(req):
    return [(op, req.msg(f"operation_{op}")) for op in OPERATIONS]


def _subaccount(req, account):
    """The subaccount charged: ``subaccount`` (the client's), or the client's active one."""
    elid = req.int_param("subaccount")
    row = req.db.execute("SELECT id FROM subaccount WHERE account = ? AND "
                         + ("id = ?" if elid is not None else "active = 1 ORDER BY id"),
                         (account, elid) if elid is not None else (account,)).fetchone()
    if row is None:
        raise errors.missed("subaccount", req.params.get("subaccount", ""))
    return ledger.subaccount(req.db, row[0])


def _positive(req, name, unit):
    source = req.params.get(name, "")
    try:
        amount = text.parse(source, unit)
        if amount.minor <= 0:
            raise InvalidValue("an expense is a positive amount")
    except InvalidValue:
        raise errors.value(name, source) from None
    return amount


def _discount(req, account, price, operation):
    """(discount id or None, amount off): ``discountamount`` when given, else the client's discount
    for an order (``open``) or a renewal (``prolong``) that day; other operations get none."""
    if "discountamount" in req.params:
        source = req.params.get("discountamount") or "0"
        try:
            off = text.parse(source, price.currency)
        except InvalidValue:
            raise errors.value("discountamount", source) from None
        if not 0 <= off.minor <= price.minor:
            raise errors.value("discountamount", source)
        return None, off
    if operation not in (discounts.OPEN, discounts.PROLONG):
        return None, Money.zero(price.currency)
    chosen, off = rules.discount(req.context, account, discounts.Charge(price, operation, req.clock.now().date()))
    return chosen and chosen.id, off


def _taxed(req, account, amount):
    """(rate text, TaxSplit) of ``amount``: ``taxrate`` when given (tax included), else the client's rule."""
    given = req.params.get("taxrate")
    if given:
        rate = given.replace(",", ".")
        if not _RATE.fullmatch(rate):
            raise errors.value("taxrate", given)
        return rate, tax.split(amount, Decimal(rate))
    rule = rules.tax_rule(req.context, account, None)
    return (str(rule.rate), rule.split(amount)) if rule else ("0", tax.split(amount, 0))


def _create(req, account):
    target = _subaccount(req, account)
    price = _positive(req, "amount", target.currency)
    operation = req.params.get("operation") or "manual"
    if operation not in OPERATIONS:
        raise errors.value("operation", operation)
    discount, off = _discount(req, account, price, operation)
    if off == price:
        raise errors.value("discountamount", text.show(off), "msg_error_expense_free")
    rate, taxed = _taxed(req, account, price - off)
    name = req.params.get("name") or req.registry.message("en", req.spec.group, f"operation_{operation}")
    name_ru = req.params.get("name_ru") or (req.registry.message("ru", req.spec.group, f"operation_{operation}")
                                            if not req.params.get("name") else "")
    return charges.take(req.context, target, charges.Quote(price, discount, off, rate, taxed), operation, name,
                        name_ru, item=req.int_param("item"), cdate=req.params.get("cdate"),
                        postpaid=req.params.get("postpaid") == "on")


def subaccount_expense_edit(req):
    if req.elid:
        expense = _load(req, req.int_param("elid"))
        if not req.sok:
            return _form(req, expense)
        values = {name: req.params.get(name) for name in ("name", "name_ru", "cdate") if name in req.params}
        for name in ("amount", "discountamount", "subaccount", "taxrate", "operation", "item", "realdate"):
            if name in req.params and req.params.get(name) != _form_value(expense, name):
                raise errors.MgrError("value", name, req.params.get(name), "msg_error_expense_fixed")
        if values:
            rows.update(req.db, "expense", expense["id"], values)
            history.record(req.context, expense["account"],
                           f"expense #{expense['id']}: {history.describe_changes(expense, values)}")
        return Doc.success()
    account = existing_account(req, "plid") if not req.caller.is_client else req.caller.account
    if not req.sok:
        return Doc.form([("plid", str(account)), ("operation", "manual"), ("taxrate", "")],
                        [("operation", _operations(req))])
    return Doc.success(id=_create(req, account))


def _form_value(expense, name):
    if name in ("amount", "discountamount"):
        return text.show(Money(expense[name], iso_currency(expense["currency"])))
    return "" if expense[name] is None else str(expense[name])


def subaccount_expense_delete(req):
    """Each expense undone: its money back to the balance (an ``expense`` posting), its payments' money
    freed and spent on the subaccount's other unpaid expenses, oldest first."""
    for elid in req.params.ids():
        _load(req, elid)     # within the caller's reach
        charges.reverse(req.context, elid)


def _payment(req):
    row = req.db.execute("SELECT p.id, p.account, p.subaccount, p.status, s.currency FROM payment p "
                         "JOIN subaccount s ON s.id = p.subaccount WHERE p.id = ?",
                         (req.int_param("plid"),)).fetchone()
    scope = client_scope(req) if req.caller.is_client else None
    if row is None or (scope is not None and row[1] != scope):
        raise errors.missed("payment", req.params.get("plid", ""))
    return dict(zip(("id", "account", "subaccount", "status", "currency"), row))


def payment_expense(req):
    payment = _payment(req)
    name = localized_name(req.lang, "e")
    columns = {"expense": "pe.expense", "expense_locale_name": name,
               "amount_iso": f"{shown('pe.amount', 'c.minor_units')} || ' ' || c.iso",
               "invoice": "NULL", "invoice_number": "''"}
    return sql_list(req, "payment_expense pe JOIN expense e ON e.id = pe.expense JOIN subaccount s "
                    "ON s.id = e.subaccount JOIN currency c ON c.id = s.currency", columns, "pe.expense",
                    where=["pe.payment = ?"], args=(payment["id"],))


def payment_expense_edit(req):
    """A piece of the payment ``plid`` paying expense ``elid`` (or ``expense`` when new), set by hand."""
    payment = _payment(req)
    if req.sok:
        ledger.lock(req.context, payment["subaccount"])
    unit = iso_currency(payment["currency"])
    expense = req.int_param("elid") if req.elid else req.int_param("expense")
    current = req.db.execute("SELECT amount FROM payment_expense WHERE payment = ? AND expense = ?",
                             (payment["id"], expense)).fetchone() if expense is not None else None
    if req.elid and current is None:
        raise errors.missed("expense", req.elid)
    if not req.sok:
        return Doc.form([("plid", str(payment["id"])), ("elid", req.elid), ("expense", str(expense or "")),
                         ("amount", text.show(Money(current[0], unit)) if current else "")])
    found = req.db.execute("SELECT notpayd FROM expense WHERE id = ? AND subaccount = ?",
                           (expense, payment["subaccount"])).fetchone()
    if found is None:
        raise errors.missed("expense", req.params.get("expense", req.elid))
    if payment["status"] != 4:
        raise errors.MgrError("value", "plid", payment["id"], "msg_error_payment_not_paid")
    source = req.params.get("amount", "")
    try:
        amount = text.parse(source, unit)
    except InvalidValue:
        raise errors.value("amount", source) from None
    was = distribution.unpay(req.db, payment["id"], expense)
    left, notpayd = distribution.unused(req.db, payment["id"]), found[0] + was
    if amount.minor <= 0 or amount.minor > min(left, notpayd):
        raise errors.MgrError("value", "amount", source, "msg_error_distribution_too_much")
    distribution.pay(req.db, payment["id"], expense, amount.minor)
    history.record(req.context, payment["account"],
                   f"payment #{payment['id']} pays expense #{expense}: {text.show_iso(amount)}")
    return Doc.success() if req.elid else Doc.success(id=expense)


def payment_expense_delete(req):
    payment = _payment(req)
    ledger.lock(req.context, payment["subaccount"])
    for expense in req.params.ids():
        if not distribution.unpay(req.db, payment["id"], expense):
            raise errors.missed("expense", expense)
        history.record(req.context, payment["account"], f"payment #{payment['id']} no longer pays expense #{expense}")
