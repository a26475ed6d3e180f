"""Payments: account.payment, payment.add / .edit / .delete / .history / .refund, and the
gateway script's calls payment.info and payment.setinpay / .setpaid / .setnopay /
.setfraud / .setcanceled, and the pages the gateway sends the client back to,
payment.success / .fail / .pending; the payment's document: payment.print / .print.pdf / .send and
its items, payment.orderinfo / .orderinfo.edit.

Statuses move only through ``payments.move`` (one table of transitions);
money moves only through the ledger, in ``payments.credit`` and
``payments.refund``.  A payment is in its method's currency
(``paymethodamount``) and credits ``subaccountamount`` to the client's
subaccount at its provider, in that subaccount's currency: converted when the
payment is created, at the rate in force for the client, and kept on the
payment, so crediting later moves exactly what the client was shown.  Ours:
the method's commission is taken out of what the client paid, rounded once.
A client paying by a method with a payment module is sent on to the module's
payment script (``_checkout``).
"""

import dataclasses
import secrets
from decimal import Decimal

from .. import errors, history, invoice, mail, payments, rules
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.decimals import exact
from ..billing.errors import InvalidValue, NoRate
from ..billing.money import Money
from ..billing.rounding import fix
from ..doc import Attachment, Cell, Doc, Node
from ..lists import contains, equals, localized_name, sql_list
from ..modules import payment as paymodules
from ..sqlmoney import shown
from ..store import rows
from .owner import client_scope, existing_account

_STATUSES = range(1, 10)
_TEXTS = ("number", "documentnumber", "documentdate", "description", "info", "note", "externalid")
_AMOUNTS = ("paymethodamount", "subaccountamount", "commissionamount")


def _labels(req):
    return {"status": {str(s): Cell(req.msg(f"payment_status_{s}"), (("orig", str(s)),)) for s in _STATUSES}}


def _iso(amount, minor_units, iso):
    return f"{shown(amount, minor_units)} || ' ' || {iso}"


def account_payment(req):
    account = client_scope(req)
    where, args = ([], ()) if account is None else (["p.account = ?"], (account,))
    if req.caller.is_client:
        where.append(f"p.status != {payments.CHECKOUT}")   # a checkout the client left is not shown to it
    method_name = localized_name(req.lang, "m")
    columns = {"id": "p.id", "number": "p.number", "create_date": "p.createdate", "pay_date": "p.paydate",
               "sender_name": "coalesce(sa.name, a.name)", "recipient_name": "pr.name", "project": "pr.id",
               "account_name": "a.name", "paymethod_name": method_name,
               "subaccountamount_iso": _iso("p.subaccountamount", "sc.minor_units", "sc.iso"),
               "paymethodamount_iso": _iso("p.paymethodamount", "mc.minor_units", "mc.iso"), "status": "p.status"}
    return sql_list(req, "payment p JOIN account a ON a.id = p.account LEFT JOIN account sa ON sa.id = p.sender "
                    "JOIN subaccount s ON s.id = p.subaccount JOIN project pr ON pr.id = s.project "
                    "JOIN currency sc ON sc.id = s.currency JOIN paymethod m ON m.id = p.paymethod "
                    "JOIN currency mc ON mc.id = m.currency", columns, "p.id",
                    filters={"number": contains("p.number"), "status": equals("p.status"),
                             "paymethod": equals("p.paymethod")},
                    where=where, args=args, labels=req.cached("labels", lambda: _labels(req)))


def payment(req):
    """A client's own payments: account.payment's rows in the columns its metadata gives a client."""
    return account_payment(req)


def _method(req, paymethod, project):
    """The active method ``paymethod`` serving ``project``: (id, currency, commission, min, max)."""
    row = req.db.execute("SELECT id, currency, commission, minamount, maxamount FROM paymethod "
                         "WHERE id = ? AND active = 1 AND (project IS NULL OR project = ?)",
                         (paymethod, project)).fetchone()
    if row is None:
        raise errors.missed("paymethod", paymethod if paymethod is not None else "")
    return row


def _subaccount(req, account, currency):
    """The subaccount a payment of ``account`` credits, and its currency: the client's active one at its
    provider; without one, its subaccount there in the method's ``currency`` (opened, active, if it has none)."""
    project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    found = req.db.execute("SELECT id, currency FROM subaccount WHERE account = ? AND project = ? "
                           "AND (active = 1 OR currency = ?) ORDER BY active DESC LIMIT 1",
                           (account, project, currency)).fetchone()
    if found:
        return found[0], iso_currency(found[1])
    created = rows.insert(req.db, "subaccount", {"account": account, "project": project, "currency": currency,
                                                 "active": 1})
    return created, iso_currency(currency)


def _credited(req, account, money, unit):
    """``money`` in the subaccount's ``unit`` at the rate in force for ``account`` (its own rate wins)."""
    try:
        return rules.convert(req.context, money, unit, account=account)
    except NoRate:
        raise errors.MgrError("value", "paymethod", f"{money.currency.iso} -> {unit.iso}",
                              "msg_error_payment_no_rate") from None


def _amount(req, name, unit, given=None):
    source = req.params.get(name, "") if given is None else given
    try:
        amount = text.parse(source, unit)
    except InvalidValue:
        raise errors.value(name, source) from None
    if amount.minor <= 0:
        raise errors.value(name, source)
    return amount


def _credits(req, account, paid, commission, unit):
    """(commission, what ``paid`` credits in the subaccount's ``unit``): the fee taken out, rounded once."""
    with exact():
        fee = fix(paid.amount * Decimal(commission) / 100, paid.currency)
    return fee, _credited(req, account, paid - fee, unit)


def _create(req, account, paymethod, amount_name, paid=None):
    """A new payment (status 1) of ``account`` by ``paymethod`` of ``paid`` (default: the call's
    ``amount_name``, in the method's currency); returns its id."""
    project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    method, currency, commission, least, most = _method(req, paymethod, project)
    unit = iso_currency(currency)
    paid = paid or _amount(req, amount_name, unit)
    if (least is not None and paid.minor < least) or (most is not None and paid.minor > most):
        limits = f"{text.show(Money(least or 0, unit))} - {text.show(Money(most, unit)) if most else ''}"
        raise errors.MgrError("value", amount_name, limits, "msg_error_payment_limits")
    subaccount, subaccount_unit = _subaccount(req, account, currency)
    fee, credited = _credits(req, account, paid, commission, subaccount_unit)
    stamp = req.clock.stamp()
    payment = req.db.execute(
        "INSERT INTO payment (account, subaccount, paymethod, subaccountamount, paymethodamount, commissionamount, "
        "randomnumber, description, createdate, sender) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (account, subaccount, method, credited.minor, paid.minor, fee.minor, secrets.token_hex(8),
         req.params.get("description", ""), stamp, account)).fetchone()[0]
    req.db.execute("UPDATE payment SET number = ? WHERE id = ?", (req.params.get("number") or str(payment), payment))
    converted = f", credits {text.show_iso(credited)}" if credited.currency != paid.currency else ""
    payments.note(req.context, payment, f"created: {text.show_iso(paid)} by method #{method}{converted}")
    history.record(req.context, account, f"payment #{payment} created: {text.show_iso(paid)}")
    return payment


def create_for(req, account, paymethod, due):
    """A new payment by ``paymethod`` that credits at least ``due`` (the subaccount's currency) once its
    commission is taken and it is converted; returns its id."""
    project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    _, currency, commission, _, _ = _method(req, paymethod, project)
    unit = iso_currency(currency)
    price = due if due.currency == unit else _credited(req, account, due, unit)
    with exact():
        paid = fix(price.amount * 100 / (100 - Decimal(commission)), unit)
    while _credits(req, account, paid, commission, due.currency)[1] < due:   # a cent lost to rounding
        paid = paid + Money(1, unit)
    return _create(req, account, paymethod, "amount", paid)


def _method_choices(req, project=None):
    """The active methods serving ``project``; one whose payment module is not working is not offered."""
    name = localized_name(req.lang)
    return [(str(i), n) for i, n, module in req.db.execute(
        f"SELECT id, {name}, module FROM paymethod WHERE active = 1 "
        "AND (CAST(? AS BIGINT) IS NULL OR project IS NULL OR project = ?) ORDER BY id", (project, project))
        if not module or req.paymodules.get(module)]


def payment_add(req):
    """A client pays (or staff add a payment for ``plid``): amount in the method's currency."""
    account = req.caller.account if req.caller.is_client else existing_account(req, "plid")
    if not req.sok:
        project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
        return Doc.form([("plid", str(account)), ("paymethod", req.params.get("paymethod", "")),
                         ("amount", req.params.get("amount", ""))], [("paymethod", _method_choices(req, project))])
    payment = _create(req, account, req.int_param("paymethod"), "amount")
    if req.caller.is_client:
        return _checkout(req, payment)
    return Doc.success(payment_id=payment)


def _checkout(req, payment):
    """A client pays by a method with a payment module: the module may check (crvalidate) and register
    (crset) the new payment, which then waits at checkout (status 8) while the client is sent to the
    module's payment script -- the reply's ``<ok type="url">`` (docs/payment-modules.md).

    Both commands run before the payment is committed, so they get it on stdin, as payment.info shows it.
    """
    module_name = req.db.execute("SELECT m.module FROM payment p JOIN paymethod m ON m.id = p.paymethod "
                                 "WHERE p.id = ?", (payment,)).fetchone()[0]
    if not module_name:
        return Doc.success(payment_id=payment)
    module = req.paymodules.get(module_name)
    if module is None:
        raise errors.MgrError("value", "paymethod", module_name, "msg_error_payment_module")
    if module.has("crvalidate"):
        paymodules.command(req, module, "crvalidate", _info_stdin(req, payment), ("--payment", str(payment)))
    script = module.param("payment_script")
    if script:
        payments.move(req.context, payment, "checkout")
    if module.has("crset"):
        paymodules.command(req, module, "crset", _info_stdin(req, payment), ("--payment", str(payment)))
    doc = Doc.success(payment_id=payment, id=payment)
    doc.redirect = f"{script}?elid={payment}" if script else ""
    return doc


def _info_stdin(req, payment):
    return paymodules.stdin(_info(req, payment), "payment.info", req.lang)


def _return_page(page):
    """payment.success / .fail / .pending: where the gateway sends the client back; shows the payment as it is
    now (the gateway's notification may come before or after the client) with the page's message."""
    def handler(req):
        payment = _load(req, req.int_param("elid"))
        status = payment["status"]
        return Doc.form([("elid", str(payment["id"])), ("number", payment["number"]),
                         ("status", Cell(req.msg(f"payment_status_{status}"), (("orig", str(status)),))),
                         ("paymethodamount", text.show_iso(Money(payment["paymethodamount"], payment["method_unit"]))),
                         ("message", req.msg(f"msg_payment_{page}"))])
    handler.__doc__ = _return_page.__doc__
    return handler


payment_success = _return_page("success")
payment_fail = _return_page("fail")
payment_pending = _return_page("pending")


def _load(req, elid):
    """The payment ``elid`` as a dict, within the caller's reach (``plid``, a client's own)."""
    payment = _row(req, elid)
    scope = client_scope(req)
    if scope is not None and payment["account"] != scope:
        raise errors.missed("payment", elid)
    return payment


def _row(req, elid):
    """The payment ``elid`` as a dict, amounts' currencies as units; ``missed`` if there is none."""
    row = req.db.execute(
        "SELECT p.id, p.number, p.status, p.account, p.subaccount, p.paymethod, p.subaccountamount, "
        "p.paymethodamount, p.commissionamount, p.usedamount, p.randomnumber, p.externalid, p.info, "
        "p.restrictrefund, p.description, p.note, p.documentnumber, p.documentdate, p.createdate, p.paydate, "
        "p.sender, p.refund_of, s.currency, m.currency FROM payment p JOIN subaccount s ON s.id = p.subaccount "
        "JOIN paymethod m ON m.id = p.paymethod WHERE p.id = ?", (elid,)).fetchone()
    if row is None:
        raise errors.missed("payment", elid)
    payment = dict(zip(("id", "number", "status", "account", "subaccount", "paymethod", "subaccountamount",
                        "paymethodamount", "commissionamount", "usedamount", "randomnumber", "externalid", "info",
                        "restrictrefund", "description", "note", "documentnumber", "documentdate", "createdate",
                        "paydate", "sender", "refund_of", "unit", "method_unit"), row))
    payment["unit"], payment["method_unit"] = iso_currency(payment["unit"]), iso_currency(payment["method_unit"])
    return payment


def _shown(payment):
    """The payment's fields as text, amounts in their currencies' major units."""
    def money(name, unit):
        return text.show(Money(payment[name], unit))
    return {"number": payment["number"], "createdate": payment["createdate"], "paydate": payment["paydate"] or "",
            "documentnumber": payment["documentnumber"], "documentdate": payment["documentdate"] or "",
            "description": payment["description"], "sender": str(payment["sender"] or ""),
            "subaccountamount": money("subaccountamount", payment["unit"]),
            "usedamount": money("usedamount", payment["unit"]),
            "paymethodamount": money("paymethodamount", payment["method_unit"]),
            "commissionamount": money("commissionamount", payment["method_unit"]), "taxamount_readonly": "0",
            "status": str(payment["status"]), "paymethod": str(payment["paymethod"]),
            "restrictrefund": "on" if payment["restrictrefund"] else "off", "info": payment["info"],
            "note": payment["note"], "externalid": payment["externalid"]}


def _edit_form(req, payment):
    fields = [("elid", str(payment["id"])), ("plid", str(payment["account"])), *_shown(payment).items()]
    statuses = [(str(s), req.msg(f"payment_status_{s}")) for s in _STATUSES]
    return Doc.form(fields, [("paymethod", _method_choices(req)), ("status", statuses)])


def _changes(req, payment):
    """The columns the call changes, checked: texts always; amounts and method only before crediting."""
    values = {name: req.params.get(name) for name in _TEXTS if name in req.params}
    for name in ("documentdate",):
        if name in values and not values[name]:
            values[name] = None
    if "restrictrefund" in req.params:
        values["restrictrefund"] = int(req.params.get("restrictrefund") == "on")
    if "sender" in req.params:
        values["sender"] = existing_account(req, "sender") if req.params.get("sender") else None
    fixed = payment["status"] not in payments.UNPAID or payment["refund_of"] is not None
    if "paymethod" in req.params and req.int_param("paymethod") != payment["paymethod"]:
        if fixed:
            raise errors.MgrError("value", "paymethod", req.params.get("paymethod"), "msg_error_payment_fixed")
        method = _method(req, req.int_param("paymethod"), req.db.execute(
            "SELECT project FROM subaccount WHERE id = ?", (payment["subaccount"],)).fetchone()[0])
        if method[1] != payment["method_unit"].numeric:
            raise errors.MgrError("value", "paymethod", req.params.get("paymethod"), "msg_error_payment_fixed")
        values["paymethod"] = method[0]
    for name in _AMOUNTS:
        unit = payment["unit"] if name == "subaccountamount" else payment["method_unit"]
        if name in req.params and req.params.get(name) != text.show(Money(payment[name], unit)):
            if fixed:
                raise errors.MgrError("value", name, req.params.get(name), "msg_error_payment_fixed")
            try:
                amount = text.parse(req.params.get(name), unit)
            except InvalidValue:
                raise errors.value(name, req.params.get(name)) from None
            if amount.minor < 0 or (amount.minor == 0 and name != "commissionamount"):
                raise errors.value(name, req.params.get(name))
            values[name] = amount.minor
    return values


def _status_change(req, payment):
    """The move ``status=N`` asks for (the action leading to N), or None when it asks for none."""
    wanted = req.int_param("status")
    if wanted is None or wanted == payment["status"]:
        return None
    action = next((name for name, (target, _) in payments.TRANSITIONS.items() if target == wanted), None)
    if action is None or wanted in (payments.REFUND_PENDING, payments.REFUNDED):
        raise errors.MgrError("value", "status", req.params.get("status"), "msg_error_payment_status_edit")
    return action


def payment_edit(req):
    if req.elid:
        payment = _load(req, req.int_param("elid"))
        if not req.sok:
            return _edit_form(req, payment)
    else:
        account = existing_account(req, "plid")
        if not req.sok:
            statuses = [(str(s), req.msg(f"payment_status_{s}")) for s in _STATUSES]
            return Doc.form([("plid", str(account)), ("status", "1")],
                            [("paymethod", _method_choices(req)), ("status", statuses)])
        payment = _load(req, _create(req, account, req.int_param("paymethod"), "paymethodamount"))
    action = _status_change(req, payment)
    values = _changes(req, payment)
    if values:
        rows.update(req.db, "payment", payment["id"], values)
        changed = history.describe_changes(_shown(payment), _shown({**payment, **values}))
        if changed:
            payments.note(req.context, payment["id"], changed)
    if action == "setpaid":
        payments.credit(req.context, payment["id"])
    elif action:
        payments.move(req.context, payment["id"], action)
    return Doc.success() if req.elid else Doc.success(id=payment["id"])


def _gateway_changes(req):
    return tuple((name, req.params.get(name)) for name in ("info", "externalid") if name in req.params)


def _each(req, act):
    """``act(context, payment)`` for each elid, the context naming who called back (``_callback``)."""
    for elid in req.params.ids():
        payment = _load(req, elid)
        act(_callback(req, payment["paymethod"]), payment["id"])


def _callback(req, paymethod):
    """The context a gateway callback writes history with.  A module's scripts call through mgrctl as
    the local superuser, so that caller is recorded as the payment's module: ``pmexample (root)``."""
    context = req.context
    if not req.caller.superuser:
        return context
    module = req.db.execute("SELECT module FROM paymethod WHERE id = ?", (paymethod,)).fetchone()[0]
    return dataclasses.replace(context, actor=f"{module} ({context.actor})") if module else context


def payment_setpaid(req):
    _each(req, lambda context, elid: payments.credit(context, elid, _gateway_changes(req)))


def _mover(action):
    def handler(req):
        _each(req, lambda context, elid: payments.move(context, elid, action, _gateway_changes(req)))
    handler.__doc__ = f"payment.{action}: the move '{action}' for each elid, with the gateway's info/externalid."
    return handler


payment_setinpay = _mover("setinpay")
payment_setnopay = _mover("setnopay")
payment_setfraud = _mover("setfraud")
payment_setcanceled = _mover("setcanceled")


def payment_delete(req):
    """Deletes payments never credited; a credited one (or a refund) is refused."""
    for elid in req.params.ids():
        payment = _load(req, elid)
        if payment["status"] not in payments.UNPAID or payment["refund_of"] is not None:
            raise errors.MgrError("value", "elid", elid, "msg_error_payment_paid")
        req.db.execute("DELETE FROM payment WHERE id = ?", (elid,))
        history.record(req.context, payment["account"], f"payment #{elid} deleted")


def payment_history(req):
    payment = _load(req, req.int_param("elid"))
    columns = {"changedate": "changedate", "desc": "description", "user": "user", "ip": "ip", "action": "action"}
    return sql_list(req, "payment_history", columns, "id", where=["payment = ?"], args=(payment["id"],))


def payment_refund(req):
    payment = _load(req, req.int_param("elid"))
    if not req.sok:
        left = Money(payments.refundable(req.db, payment["id"]), payment["unit"])
        return Doc.form([("elid", str(payment["id"])), ("plid", str(payment["account"])),
                         ("amount", text.show(left)), ("description", "")])
    amount = _amount(req, "amount", payment["method_unit"])
    if payment["method_unit"] != payment["unit"]:   # the payment's own proportion between its two amounts
        with exact():
            amount = fix(amount.amount * payment["subaccountamount"] / payment["paymethodamount"], payment["unit"])
    refund = payments.refund(req.context, payment["id"], amount, req.params.get("description", ""))
    history.record(req.context, payment["account"], f"payment #{payment['id']} refunded {text.show_iso(amount)}")
    return Doc.success(id=refund)


def payment_info(req):
    """Everything a gateway script needs, in the shape real scripts read (COMPAT.md)."""
    return _info(req, req.int_param("elid"))


def _info(req, elid):
    payment = _load(req, elid)
    method_unit = payment["method_unit"]
    settings = req.db.execute("SELECT name, value FROM paymethod_param WHERE paymethod = ? ORDER BY name",
                              (payment["paymethod"],)).fetchall()
    method = req.db.execute("SELECT name, module, commission FROM paymethod WHERE id = ?",
                            (payment["paymethod"],)).fetchone()
    currency = req.db.execute("SELECT name, iso FROM currency WHERE id = ?", (method_unit.numeric,)).fetchone()
    project = req.db.execute("SELECT p.id, p.name FROM project p JOIN subaccount s ON s.project = p.id "
                             "WHERE s.id = ?", (payment["subaccount"],)).fetchone()
    fields = [("id", str(payment["id"])), ("number", payment["number"]),
              ("paymethodamount", text.show(Money(payment["paymethodamount"], method_unit))),
              ("subaccountamount", text.show(Money(payment["subaccountamount"], payment["unit"]))),
              ("commissionamount", text.show(Money(payment["commissionamount"], method_unit))),
              ("description", payment["description"]), ("manager_url", req.config.public_url),
              ("externalid", payment["externalid"]), ("status", str(payment["status"])),
              ("info", payment["info"]), ("randomnumber", payment["randomnumber"]),
              ("account", str(payment["account"])), ("subaccount", str(payment["subaccount"])),
              ("createdate", payment["createdate"]), ("paydate", payment["paydate"] or ""),
              ("paymethod", str(payment["paymethod"])), ("currency", str(method_unit.numeric)),
              ("paymethod", Node([("id", str(payment["paymethod"])), ("name", method[0]), ("module", method[1]),
                                  ("commission", method[2]), *settings])),
              ("currency", Node([("id", str(method_unit.numeric)), ("name", currency[0]), ("iso", currency[1]),
                                 ("code", str(method_unit.numeric))])),
              ("project", Node([("id", str(project[0])), ("name", project[1])])),
              ("items", Node([]))]
    return Doc.form(fields)


def _invoice(req, elid):
    return invoice.content(req.db, req.registry, req.lang, _load(req, elid))


def payment_print(req):
    """The payment's document as a printable HTML page (a file reply, see Doc.file)."""
    document = _invoice(req, req.int_param("elid"))
    return Doc.file("text/html", document.filename("html"), invoice.to_html(document).encode())


def payment_print_pdf(req):
    document = _invoice(req, req.int_param("elid"))
    return Doc.file("application/pdf", document.filename("pdf"), invoice.to_pdf(document, req.clock.now()))


def payment_send(req):
    """Mails each payment's PDF to its client, frozen as it is now, through the outbox."""
    for elid in req.params.ids():
        payment = _load(req, elid)
        document = invoice.content(req.db, req.registry, req.lang, payment)
        email = req.db.execute("SELECT email FROM account WHERE id = ?", (payment["account"],)).fetchone()[0]
        pdf = Attachment("application/pdf", document.filename("pdf"), invoice.to_pdf(document, req.clock.now()))
        mail.queue(req.context, email, "payment", attachments=(pdf,), number=document.number,
                   total=document.total, provider=document.provider)
        payments.note(req.context, payment["id"], f"document sent to {email}")


def payment_orderinfo(req):
    """The items of the payment's invoice (ours: kept in payment_item, written by payment.orderinfo.edit)."""
    payment = _row(req, req.int_param("plid"))   # plid is the payment here, not an account
    columns = {"id": "i.id", "info": "i.name", "cost": _iso("i.cost", "c.minor_units", "c.iso")}
    return sql_list(req, "payment_item i", columns, "i.id",
                    joins="JOIN payment p ON p.id = i.payment JOIN paymethod m ON m.id = p.paymethod "
                          "JOIN currency c ON c.id = m.currency",
                    where=["i.payment = ?"], args=(payment["id"],))


def payment_orderinfo_edit(req):
    """Views, adds (no elid) or renames an invoice item; ``cost`` (ours) is in the method's currency."""
    payment = _row(req, req.int_param("plid"))
    item = None
    if req.elid:
        item = req.db.execute("SELECT id, name, cost FROM payment_item WHERE id = ? AND payment = ?",
                              (req.int_param("elid"), payment["id"])).fetchone()
        if item is None:
            raise errors.missed("elid", req.elid)
    if not req.sok:
        fields = [("plid", str(payment["id"]))]
        if item:
            fields += [("elid", str(item[0])), ("name", item[1]),
                       ("cost", text.show(Money(item[2], payment["method_unit"])))]
        return Doc.form(fields)
    name = req.params.get("name", item[1] if item else "").strip()
    if not name:
        raise errors.empty("name")
    cost = item[2] if item else 0
    if req.params.get("cost"):
        try:
            cost = text.parse(req.params.get("cost"), payment["method_unit"]).minor
        except InvalidValue:
            raise errors.value("cost", req.params.get("cost")) from None
        if cost < 0:
            raise errors.value("cost", req.params.get("cost"))
    shown_cost = text.show_iso(Money(cost, payment["method_unit"]))
    if item:
        req.db.execute("UPDATE payment_item SET name = ?, cost = ? WHERE id = ?", (name, cost, item[0]))
        payments.note(req.context, payment["id"], f"invoice item #{item[0]}: {name}, {shown_cost}")
        return Doc.success()
    created = rows.insert(req.db, "payment_item", {"payment": payment["id"], "name": name, "cost": cost})
    payments.note(req.context, payment["id"], f"invoice item #{created} added: {name}, {shown_cost}")
    return Doc.success(id=created)
