"""The basket: what a client has ordered and not paid yet (a ``billorder`` and its lines).

Each line keeps the quote the client was shown; paying the basket -- from
the balance, or by a payment made for it (``payment.billorder``) when that
payment is credited -- carries the lines out at those prices, all or none.
"""

from .. import errors, ledger
from ..billing.money import Money
from . import items, lines

OPEN, PAID = 1, 2


def add(ctx, item, line):
    """Put ``line`` in the open basket of ``item``'s client (opened when it has none); the basket's id."""
    found = ctx.db.execute("SELECT id FROM billorder WHERE account = ? AND subaccount = ? AND status = ? "
                           "ORDER BY id LIMIT 1", (item.account, item.subaccount, OPEN)).fetchone()
    billorder = found[0] if found else ctx.db.execute(
        "INSERT INTO billorder (account, subaccount, createdate) VALUES (?, ?, ?) RETURNING id",
        (item.account, item.subaccount, ctx.clock.stamp())).fetchone()[0]
    quote = line.quote
    ctx.db.execute("INSERT INTO billorder_line (billorder, item, operation, period, addon, value, amount, discount, "
                   "discountamount, taxrate, taxamount, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (billorder, line.item, line.operation, line.period, line.addon, line.value, quote.price.minor,
                    quote.discount, quote.off.minor, quote.rate, quote.taxed.tax.minor, quote.amount.minor))
    return billorder


def load(db, billorder, account=None):
    """(account, subaccount, status) of ``billorder`` (of client ``account`` when given), else ``missed``."""
    row = db.execute("SELECT account, subaccount, status FROM billorder WHERE id = ?", (billorder,)).fetchone()
    if row is None or (account is not None and row[0] != account):
        raise errors.missed("billorder", billorder)
    return row


def total(db, billorder):
    """What the basket costs, in its subaccount's currency (minor units)."""
    return db.execute("SELECT coalesce(sum(cost), 0) FROM billorder_line WHERE billorder = ?",
                      (billorder,)).fetchone()[0]


def pay(ctx, billorder):
    """Carry out every line of the open basket ``billorder``, charged at its quoted prices."""
    _, subaccount, status = load(ctx.db, billorder)
    if status != OPEN:
        raise errors.MgrError("value", "billorder", str(billorder), "msg_error_billorder_paid")
    rows = ctx.db.execute("SELECT item, operation, period, addon, value, amount, discount, discountamount, "
                          "taxrate, taxamount, cost FROM billorder_line WHERE billorder = ? ORDER BY id",
                          (billorder,)).fetchall()
    if not rows:
        raise errors.MgrError("value", "billorder", str(billorder), "msg_error_billorder_empty")
    unit = ledger.lock(ctx, subaccount).currency
    for item, operation, period, addon, value, amount, discount, off, rate, taxamount, cost in rows:
        quote = lines.stored_quote(Money(amount, unit), discount, Money(off, unit), rate, Money(taxamount, unit),
                                   Money(cost, unit))
        lines.carry_out(ctx, lines.Line(item, operation, quote, period, addon, value))
    ctx.db.execute("UPDATE billorder SET status = ?, paydate = ? WHERE id = ?", (PAID, ctx.clock.stamp(), billorder))


def settle(ctx, payment):
    """Pay the basket a credited ``payment`` was made for, when it is still open and the balance covers it;
    otherwise the money simply stays on the balance."""
    row = ctx.db.execute("SELECT b.id, b.subaccount FROM payment p JOIN billorder b ON b.id = p.billorder "
                         "WHERE p.id = ? AND b.status = ?", (payment, OPEN)).fetchone()
    if row is None:
        return
    target = ledger.lock(ctx, row[1])
    if target.balance.minor + target.creditlimit.minor < total(ctx.db, row[0]):
        return
    ctx.db.execute("SAVEPOINT settle")    # a basket that cannot be paid now never refuses the payment
    try:
        pay(ctx, row[0])
    except errors.MgrError:
        ctx.db.execute("ROLLBACK TO SAVEPOINT settle")
    ctx.db.execute("RELEASE SAVEPOINT settle")


def remove(ctx, line):
    """Take ``line`` out of its basket; an order that was never paid goes with it."""
    item, operation = ctx.db.execute("SELECT item, operation FROM billorder_line WHERE id = ?", (line,)).fetchone()
    ctx.db.execute("DELETE FROM billorder_line WHERE id = ?", (line,))
    if operation == "open" and items.load(ctx.db, item).status == items.ORDERED:
        ctx.db.execute("DELETE FROM item WHERE id = ?", (item,))
