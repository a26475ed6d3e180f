"""Charges: what a client pays for something, and the expense that takes it.

``quote`` applies the money rules to a price (the client's discount for the
charge, then the tax rule for the product type); ``take`` writes the expense,
debits it through the ledger -- refused, nothing written, when the money is
not there and the charge is not post-paid -- and pays it from the client's
credited payments that have money left.  subaccount.expense, orders,
renewals and add-on changes all charge through here.
"""

from dataclasses import dataclass

from . import distribution, history, ledger, rules
from .billing import discounts, tax, text
from .billing.money import Money


@dataclass(frozen=True)
class Quote:
    price: Money            # before discount
    discount: int | None    # the discount rule applied
    off: Money              # what it took off
    rate: str               # the tax rate, percent, as text
    taxed: tax.TaxSplit     # the amount charged (gross) and its tax

    @property
    def amount(self):
        return self.taxed.gross


def quote(ctx, account, charge):
    """The Quote of a ``charge`` (billing's discounts.Charge) to ``account``: its discount for an order or
    a renewal, and the tax rule in force for the charge's product type."""
    chosen, off = None, Money.zero(charge.amount.currency)
    if charge.action in (discounts.OPEN, discounts.PROLONG):
        chosen, off = rules.discount(ctx, account, charge)
    rule = rules.tax_rule(ctx, account, charge.itemtype)
    net = charge.amount - off
    return Quote(charge.amount, chosen and chosen.id, off, str(rule.rate) if rule else "0",
                 rule.split(net) if rule else tax.split(net, 0))


def take(ctx, target, quote, operation, name, name_ru="", item=None, cdate=None, postpaid=False):
    """Charge ``quote`` to subaccount ``target`` (a ledger.Subaccount) as an expense; its id.

    A charge of nothing (a free service, a full discount) writes no expense: None.
    """
    amount = quote.amount
    if amount.minor <= 0:
        return None
    postpaid = postpaid or target.allowpostpaid
    stamp = ctx.clock.stamp()
    expense = ctx.db.execute(
        "INSERT INTO expense (account, subaccount, item, operation, name, name_ru, amount, taxamount, taxrate, "
        "discount, discountamount, notpayd, realdate, cdate, postpaid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?) RETURNING id",
        (target.account, target.id, item, operation, name, name_ru, amount.minor, quote.taxed.tax.minor, quote.rate,
         quote.discount, quote.off.minor, amount.minor, stamp, cdate or stamp, int(postpaid))).fetchone()[0]
    ledger.withdraw(ctx, target.id, amount, "expense", ("expense", expense), name, postpaid=postpaid)
    distribution.cover_from_payments(ctx.db, expense)
    history.record(ctx, target.account, f"expense #{expense}: {text.show_iso(amount)} ({name})"
                   + (f", discount {text.show_iso(quote.off)}" if quote.off.minor else ""))
    return expense


def reverse(ctx, expense):
    """Undo ``expense``: its money back to the balance (an ``expense`` posting), the payments' money that
    paid it freed and spent on the subaccount's other unpaid expenses, oldest first; the row removed."""
    account, subaccount, amount = ctx.db.execute("SELECT account, subaccount, amount FROM expense WHERE id = ?",
                                                 (expense,)).fetchone()
    unit = ledger.lock(ctx, subaccount).currency
    freed = [payment for (payment,) in ctx.db.execute(
        "SELECT payment FROM payment_expense WHERE expense = ? ORDER BY payment", (expense,)).fetchall()]
    for payment in freed:
        distribution.unpay(ctx.db, payment, expense)
    ledger.post(ctx, subaccount, Money(amount, unit), "expense", ("expense", expense), f"expense #{expense} deleted")
    ctx.db.execute("DELETE FROM expense WHERE id = ?", (expense,))
    for payment in freed:   # money freed goes to other debts first
        distribution.cover_expenses(ctx.db, payment)
    history.record(ctx, account, f"expense #{expense} deleted: {text.show_iso(Money(amount, unit))}")

