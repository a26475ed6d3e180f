"""A payment's life: its statuses, the moves between them, crediting and refunding.

Statuses (DOMAIN.md): 1 new, 2 in payment, 3 promised, 4 paid (credited),
5 refund pending, 6 refunded, 7 fraud, 8 created at checkout, 9 cancelled.
Every move is one row of TRANSITIONS and is made by ``move`` as
``UPDATE ... WHERE id = ? AND status IN (allowed)``: of two calls racing for
the same move one changes the row and the other is refused, so a payment is
credited once.  The journal's unique index on payment credits is the second
lock on that door.  Every move and edit is a line of ``payment_history``.
"""

from . import distribution, ledger
from .billing.money import Money
from .billing.text import show_iso
from .errors import MgrError
from .services import basket

NEW, IN_PAYMENT, PROMISED, PAID, REFUND_PENDING, REFUNDED, FRAUD, CHECKOUT, CANCELLED = range(1, 10)

# action: (the status it leaves the payment in, the statuses it may start from)
TRANSITIONS = {
    "checkout": (CHECKOUT, {NEW}),
    "setinpay": (IN_PAYMENT, {NEW, CHECKOUT}),
    "setnopay": (NEW, {IN_PAYMENT, CHECKOUT}),   # rejected or expired at the gateway (ours)
    "promise": (PROMISED, {NEW}),
    "setpaid": (PAID, {NEW, IN_PAYMENT, PROMISED, CHECKOUT}),
    "setfraud": (FRAUD, {NEW, IN_PAYMENT, CHECKOUT}),
    "setcanceled": (CANCELLED, {NEW, IN_PAYMENT, PROMISED, CHECKOUT, FRAUD}),
    "refundpending": (REFUND_PENDING, {PAID}),
    "refunded": (REFUNDED, {PAID, REFUND_PENDING}),
}
UNPAID = frozenset({NEW, IN_PAYMENT, PROMISED, CHECKOUT, FRAUD, CANCELLED})  # never credited: may be deleted


def note(ctx, payment, description):
    """One line of the payment's history, by ``ctx``'s actor."""
    ctx.db.execute("INSERT INTO payment_history (payment, changedate, user, ip, action, description) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (payment, ctx.clock.stamp(), ctx.actor, ctx.address, ctx.action, description))


def status_of(db, payment):
    row = db.execute("SELECT status FROM payment WHERE id = ?", (payment,)).fetchone()
    if row is None:
        raise MgrError("missed", "payment", payment)
    return row[0]


def move(ctx, payment, action, changes=()):
    """Take ``payment`` through ``action`` (a TRANSITIONS key), setting ``changes`` (column, value) too.

    An illegal move -- including a second one racing this -- is a ``value``
    error naming the payment's status, and changes nothing.
    """
    target, sources = TRANSITIONS[action]
    current = status_of(ctx.db, payment)   # for the message: the UPDATE below decides, atomically
    sets = ", ".join(["status = ?", *(f"{column} = ?" for column, _ in changes)])
    held = ", ".join("?" * len(sources))
    changed = ctx.db.execute(f"UPDATE payment SET {sets} WHERE id = ? AND status IN ({held})",
                             (target, *(value for _, value in changes), payment, *sorted(sources))).rowcount
    if changed != 1:
        raise MgrError("value", "status", f"#{payment} (status {current})", "msg_error_payment_status")
    described = "".join(f"; {column}: {value}" for column, value in changes if column not in ("paydate",))
    note(ctx, payment, f"status: {current} -> {target}{described}")
    return target


def credit(ctx, payment, changes=()):
    """Credit ``payment`` (status 4) once: its money to the balance, then to the oldest unpaid expenses,
    then to the basket it was made for."""
    subaccount, amount = ctx.db.execute("SELECT subaccount, subaccountamount FROM payment WHERE id = ?",
                                        (payment,)).fetchone()
    unit = ledger.lock(ctx, subaccount).currency
    move(ctx, payment, "setpaid", (("paydate", ctx.clock.stamp()), *changes))
    ledger.post(ctx, subaccount, Money(amount, unit), "payment", ("payment", payment))
    distribution.cover_expenses(ctx.db, payment)
    basket.settle(ctx, payment)


def refundable(db, payment):
    """What may still be given back of ``payment`` (minor units of its subaccount's currency)."""
    return distribution.unused(db, payment)


def refund(ctx, payment, amount, description=""):
    """Give ``amount`` (Money, the subaccount's currency) of a credited payment back; returns the refund's id.

    Ours: the money leaves the balance at once (a ``refund`` posting), so the
    refund is a negative payment in status 6 linked to its source; the source
    becomes 6 when nothing of it is left to refund, and stays 4 otherwise.
    """
    held = ctx.db.execute("SELECT subaccount FROM payment WHERE id = ?", (payment,)).fetchone()
    if held is not None:
        ledger.lock(ctx, held[0])     # what is left to refund stays as read till this ends
    row = ctx.db.execute(
        "SELECT p.status, p.restrictrefund, m.allowrefund, p.subaccount, p.account, p.paymethod, "
        "p.subaccountamount, p.paymethodamount FROM payment p JOIN paymethod m ON m.id = p.paymethod "
        "WHERE p.id = ?", (payment,)).fetchone()
    status, restricted, allowed, subaccount, account, paymethod, credited, paid = row
    if status != PAID:
        raise MgrError("value", "status", f"#{payment} (status {status})", "msg_error_payment_status")
    if restricted or not allowed:
        raise MgrError("value", "elid", payment, "msg_error_refund_not_allowed")
    left = refundable(ctx.db, payment)
    if amount.minor <= 0 or amount.minor > left:
        raise MgrError("value", "amount", show_iso(amount), "msg_error_refund_too_much")
    # the method's side of the refund, in the payment's own proportion (equal when the currencies are)
    method_amount = amount.minor if credited == paid else amount.minor * paid // credited
    stamp = ctx.clock.stamp()
    refund_id = ctx.db.execute(
        "INSERT INTO payment (status, account, subaccount, paymethod, subaccountamount, paymethodamount, "
        "randomnumber, description, createdate, paydate, refund_of) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?) "
        "RETURNING id",
        (REFUNDED, account, subaccount, paymethod, -amount.minor, -method_amount, description, stamp, stamp,
         payment)).fetchone()[0]
    ctx.db.execute("UPDATE payment SET number = ? WHERE id = ?", (str(refund_id), refund_id))
    ledger.withdraw(ctx, subaccount, amount, "refund", ("payment", refund_id), description)
    note(ctx, refund_id, f"refund of payment #{payment}: {show_iso(amount)}")
    note(ctx, payment, f"refunded {show_iso(amount)} by payment #{refund_id}")
    if amount.minor == left and ctx.db.execute("SELECT usedamount FROM payment WHERE id = ?",
                                               (payment,)).fetchone()[0] == 0:
        move(ctx, payment, "refunded")
    return refund_id

