"""The basket: basket (its lines), basket.delete, basket.pay (from the balance) and payment.add.pay
(a payment made for it, whose crediting pays it -- services.basket.settle)."""

from .. import errors, ledger
from ..billing import text
from ..billing.money import Money
from ..doc import Cell, Doc
from ..lists import localized_name, sql_list
from ..services import basket as billorders
from ..sqlmoney import shown
from . import payment
from .owner import client_scope

OPERATIONS = ("open", "prolong", "changeaddon")


def _open_basket(req, account):
    row = req.db.execute("SELECT id FROM billorder WHERE account = ? AND status = ? ORDER BY id LIMIT 1",
                         (account, billorders.OPEN)).fetchone()
    return row and row[0]


def basket(req):
    account = client_scope(req)
    where, args = ["b.status = ?"], [billorders.OPEN]
    if account is not None:
        where.append("b.account = ?")
        args.append(account)
    amount = shown("l.cost", "c.minor_units")
    columns = {"id": "l.id", "billorder": "l.billorder", "item": "l.item", "itemtype": "t.intname",
               "pricelist": localized_name(req.lang, "p"), "domain": "i.domain", "operation": "l.operation",
               "period": "coalesce(l.period, i.period)", "discountamount": shown("l.discountamount", "c.minor_units"),
               "cost": f"{amount} || ' ' || c.iso", "account": "b.account"}
    labels = req.cached("labels", lambda: {"operation": {op: Cell(req.msg(f"operation_{op}"), (("orig", op),))
                                                         for op in OPERATIONS}})
    return sql_list(req, "billorder_line l JOIN billorder b ON b.id = l.billorder JOIN item i ON i.id = l.item "
                    "JOIN pricelist p ON p.id = i.pricelist JOIN itemtype t ON t.id = i.itemtype "
                    "JOIN subaccount s ON s.id = b.subaccount JOIN currency c ON c.id = s.currency",
                    columns, "l.id", where=where, args=args, labels=labels)


def basket_delete(req):
    account = client_scope(req)
    for elid in req.params.ids():
        row = req.db.execute("SELECT b.account FROM billorder_line l JOIN billorder b ON b.id = l.billorder "
                             "WHERE l.id = ? AND b.status = ?", (elid, billorders.OPEN)).fetchone()
        if row is None or (account is not None and row[0] != account):
            raise errors.missed("basket", elid)
        billorders.remove(req.context, elid)


def _billorder(req):
    """The basket the call pays: ``billorder``, or the client's open one."""
    account = client_scope(req)
    billorder = req.int_param("billorder") or (account is not None and _open_basket(req, account))
    if not billorder:
        raise errors.missed("billorder", req.params.get("billorder", ""))
    billorders.load(req.db, billorder, account)
    return billorder


def basket_pay(req):
    billorder = _billorder(req)
    billorders.pay(req.context, billorder)
    return Doc.success(**{"billorder.id": billorder})


def payment_add_pay(req):
    """A payment of the basket's total by ``paymethod``; when it is credited, it pays the basket."""
    billorder = _billorder(req)
    account, subaccount, status = billorders.load(req.db, billorder)
    if status != billorders.OPEN:
        raise errors.MgrError("value", "billorder", str(billorder), "msg_error_billorder_paid")
    unit = ledger.subaccount(req.db, subaccount).currency
    due = Money(billorders.total(req.db, billorder), unit)
    if not req.sok:
        return Doc.form([("billorder", str(billorder)), ("amount", text.show(due)),
                         ("paymethod", req.params.get("paymethod", ""))])
    made = payment.create_for(req, account, req.int_param("paymethod"), due)
    req.db.execute("UPDATE payment SET billorder = ? WHERE id = ?", (billorder, made))
    return Doc.success(payment_id=made, **{"billorder.id": billorder})

