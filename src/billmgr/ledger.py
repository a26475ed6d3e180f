"""The ledger: the only code that changes a balance.

Every change is a signed amount posted to one subaccount, with a kind (why)
and a reference (what caused it, e.g. ``("payment", 12)``), in the caller's
transaction: one append-only ``journal`` row plus the subaccount's cached
balance, so the balance always equals the sum of its journal and
``consistency`` can prove it.  ``post`` books what has happened (a payment
credited, a merge, a correction); ``withdraw`` takes money out on the
client's behalf (a charge, a refund) and is refused -- nothing written --
when the subaccount is suspended or the money is not there.

Where several writers share the database (PostgreSQL) all money of a
subaccount moves under its row lock, held to the end of the transaction:
posting takes it, and so does code that redistributes a subaccount's
payments without posting (``lock``), always before it touches a payment,
so that two transactions never wait for each other.
"""

from dataclasses import dataclass

from .billing.currency import currency as iso_currency
from .billing.errors import CurrencyMismatch, InvalidValue
from .billing.money import Money
from .billing.text import show_iso
from .errors import MgrError

KINDS = frozenset({
    "payment",     # money in: a payment credited
    "expense",     # a charge for a service
    "refund",      # money given back to the client
    "correction",  # staff's fix, always a new row, never an edit
    "merge",       # moved between subaccounts by account.join
    "opening",     # a balance that existed before the journal did
})


@dataclass(frozen=True)
class Subaccount:
    id: int
    account: int
    project: int
    balance: Money
    creditlimit: Money
    allowpostpaid: bool
    active: bool

    @property
    def currency(self):
        return self.balance.currency


def subaccount(db, subaccount_id, for_update=""):
    """The subaccount ``subaccount_id`` as it is now, or a ``missed`` error."""
    row = db.execute("SELECT s.id, s.account, s.project, s.currency, s.balance, s.creditlimit, s.allowpostpaid, "
                     f"s.active FROM subaccount s WHERE s.id = ?{for_update}", (subaccount_id,)).fetchone()
    if row is None:
        raise MgrError("missed", "subaccount", subaccount_id)
    unit = iso_currency(row[3])
    return Subaccount(row[0], row[1], row[2], Money(row[4], unit), Money(row[5], unit), bool(row[6]), bool(row[7]))


def lock(ctx, subaccount_id):
    """The subaccount, locked against every other transaction's money moves till this one ends."""
    return subaccount(ctx.db, subaccount_id, ctx.dialect.for_update)


def post(ctx, subaccount_id, amount, kind, reference=("", None), note=""):
    """Book ``amount`` (signed Money) to the subaccount; returns its new balance."""
    return _write(ctx, lock(ctx, subaccount_id), amount, kind, reference, note)


def withdraw(ctx, subaccount_id, amount, kind, reference=("", None), note="", postpaid=False):
    """Take ``amount`` (positive Money) out of an active subaccount; returns its new balance.

    Refused with a ``suspended`` error when the subaccount is suspended, and with
    a ``balance`` error when the balance would fall below minus the credit
    limit -- unless ``postpaid`` (the caller's decision: a post-paid charge may
    run into debt).
    """
    target = lock(ctx, subaccount_id)
    if amount.minor <= 0:
        raise InvalidValue(f"a withdrawal takes a positive amount, not {show_iso(amount)}")
    if not target.active:
        raise MgrError("suspended", "subaccount", target.id, "msg_error_subaccount_suspended")
    if not postpaid and target.balance.minor - amount.minor < -target.creditlimit.minor:
        raise MgrError("balance", "subaccount", show_iso(target.balance + target.creditlimit),
                       "msg_error_balance")
    return _write(ctx, target, -amount, kind, reference, note)


def _write(ctx, target, amount, kind, reference, note):
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    if amount.currency != target.currency:
        raise CurrencyMismatch(f"subaccount #{target.id} holds {target.currency.iso}, not {amount.currency.iso}")
    balance = target.balance + amount   # InvalidValue beyond the 64-bit range: nothing written
    ref_kind, ref_id = reference
    # compare-and-set: a balance changed since it was read is never overwritten
    changed = ctx.db.execute("UPDATE subaccount SET balance = ? WHERE id = ? AND balance = ?",
                             (balance.minor, target.id, target.balance.minor)).rowcount
    if changed != 1:
        raise RuntimeError(f"subaccount #{target.id} changed while it was posted to")
    ctx.db.execute("INSERT INTO journal (subaccount, amount, kind, ref_kind, ref_id, at, actor, note) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (target.id, amount.minor, kind, ref_kind, ref_id, ctx.clock.stamp(), ctx.actor, note))
    return balance


def consistency(db):
    """Each problem of the ledger as a sentence: a cached balance that is not its journal's sum."""
    rows = db.execute(
        "SELECT s.id, s.account, c.iso, s.balance, coalesce(j.total, 0) FROM subaccount s "
        "JOIN currency c ON c.id = s.currency "
        "LEFT JOIN (SELECT subaccount, sum(amount) AS total FROM journal GROUP BY subaccount) j "
        "ON j.subaccount = s.id WHERE s.balance != coalesce(j.total, 0) ORDER BY s.id")
    for subaccount_id, account, iso, balance, total in rows:
        unit = iso_currency(iso)
        yield (f"subaccount #{subaccount_id} of client #{account}: balance {show_iso(Money(balance, unit))}, "
               f"journal sum {show_iso(Money(total, unit))}")
