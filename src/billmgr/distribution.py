"""How payments pay expenses: the ``payment_expense`` rows and the two numbers they keep true.

A payment's ``usedamount`` is the sum of its pieces; an expense's ``notpayd``
is its amount less the pieces that paid it.  Every piece is written by
``pay`` and removed by ``unpay`` here, which change both numbers in the same
statement group, and ``consistency`` proves they still agree.  Only credited
payments (status 4) pay; the order is oldest first on both sides (ours).
"""

from .billing.currency import currency as iso_currency
from .billing.money import Money
from .billing.text import show_iso

# unused money of a payment: what it credited, less what it paid and what was refunded of it
UNUSED = ("p.subaccountamount - p.usedamount + coalesce((SELECT sum(r.subaccountamount) FROM payment r "
          "WHERE r.refund_of = p.id), 0)")


def pay(db, payment, expense, amount):
    """Book ``amount`` (minor units) of ``payment`` as paying ``expense``."""
    db.execute("INSERT INTO payment_expense (payment, expense, amount) VALUES (?, ?, ?) "
               "ON CONFLICT (payment, expense) DO UPDATE SET amount = payment_expense.amount + excluded.amount",
               (payment, expense, amount))
    db.execute("UPDATE payment SET usedamount = usedamount + ? WHERE id = ?", (amount, payment))
    db.execute("UPDATE expense SET notpayd = notpayd - ? WHERE id = ?", (amount, expense))


def unpay(db, payment, expense):
    """Remove the piece of ``payment`` that paid ``expense``: both get their money back."""
    row = db.execute("SELECT amount FROM payment_expense WHERE payment = ? AND expense = ?",
                     (payment, expense)).fetchone()
    if row is None:
        return 0
    db.execute("DELETE FROM payment_expense WHERE payment = ? AND expense = ?", (payment, expense))
    db.execute("UPDATE payment SET usedamount = usedamount - ? WHERE id = ?", (row[0], payment))
    db.execute("UPDATE expense SET notpayd = notpayd + ? WHERE id = ?", (row[0], expense))
    return row[0]


def unused(db, payment):
    """The money of ``payment`` not yet spent nor refunded (minor units)."""
    return db.execute(f"SELECT {UNUSED} FROM payment p WHERE p.id = ?", (payment,)).fetchone()[0]


def cover_expenses(db, payment):
    """Spend a just-credited payment on its subaccount's unpaid expenses, oldest ``realdate`` first."""
    left = unused(db, payment)
    for expense, notpayd in db.execute(
            "SELECT e.id, e.notpayd FROM expense e JOIN payment p ON p.subaccount = e.subaccount "
            "WHERE p.id = ? AND e.notpayd > 0 ORDER BY e.realdate, e.id", (payment,)).fetchall():
        if left <= 0:
            break
        piece = min(left, notpayd)
        pay(db, payment, expense, piece)
        left -= piece


def cover_from_payments(db, expense):
    """Pay a new expense from its subaccount's credited payments that have unused money, oldest first."""
    notpayd = db.execute("SELECT notpayd FROM expense WHERE id = ?", (expense,)).fetchone()[0]
    for payment, left in db.execute(
            f"SELECT p.id, {UNUSED} FROM payment p JOIN expense e ON e.subaccount = p.subaccount "
            f"WHERE e.id = ? AND p.status = 4 AND {UNUSED} > 0 ORDER BY p.paydate, p.id", (expense,)).fetchall():
        if notpayd <= 0:
            break
        piece = min(left, notpayd)
        pay(db, payment, expense, piece)
        notpayd -= piece


def consistency(db):
    """Each problem of the distribution as a sentence, naming the payment or expense."""
    def money(amount, iso):
        return show_iso(Money(amount, iso_currency(iso)))

    for payment, iso, used, total in db.execute(
            "SELECT p.id, c.iso, p.usedamount, coalesce(d.total, 0) FROM payment p "
            "JOIN subaccount s ON s.id = p.subaccount JOIN currency c ON c.id = s.currency "
            "LEFT JOIN (SELECT payment, sum(amount) AS total FROM payment_expense GROUP BY payment) d "
            "ON d.payment = p.id WHERE p.usedamount != coalesce(d.total, 0) ORDER BY p.id"):
        yield f"payment #{payment}: usedamount {money(used, iso)}, its distributions sum {money(total, iso)}"
    for expense, iso, amount, notpayd, paid in db.execute(
            "SELECT e.id, c.iso, e.amount, e.notpayd, coalesce(d.total, 0) FROM expense e "
            "JOIN subaccount s ON s.id = e.subaccount JOIN currency c ON c.id = s.currency "
            "LEFT JOIN (SELECT expense, sum(amount) AS total FROM payment_expense GROUP BY expense) d "
            "ON d.expense = e.id WHERE e.notpayd != e.amount - coalesce(d.total, 0) ORDER BY e.id"):
        yield (f"expense #{expense}: notpayd {money(notpayd, iso)}, amount {money(amount, iso)} "
               f"less {money(paid, iso)} paid")
    for payment, status, credits in db.execute(
            "SELECT p.id, p.status, count(j.id) FROM payment p LEFT JOIN journal j ON j.kind = 'payment' "
            "AND j.ref_kind = 'payment' AND j.ref_id = p.id WHERE p.refund_of IS NULL GROUP BY p.id, p.status "
            "HAVING count(j.id) != CASE WHEN p.status IN (4, 5, 6) THEN 1 ELSE 0 END ORDER BY p.id"):
        expected = "one" if status in (4, 5, 6) else "none"
        yield f"payment #{payment} (status {status}): {credits} credits in the journal, expected {expected}"
