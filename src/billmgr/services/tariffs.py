"""The catalog as pricing sees it: a tariff's prices and add-ons in the currency a client pays in.

A tariff is priced per (period, currency).  A client pays in its
subaccount's currency: the tariff's price in that currency when it has one,
else its price in another currency converted at the rate in force for the
client (a missing rate is a clear error, never 1:1).
"""

from dataclasses import dataclass

from .. import errors, rules
from ..billing import periods
from ..billing.currency import currency as iso_currency
from ..billing.errors import NoRate
from ..billing.money import Money
from ..billing.pricing import Addon


@dataclass(frozen=True)
class Tariff:
    id: int
    itemtype: int
    intname: str           # of its product type
    project: int
    name: str
    name_ru: str
    billdaily: bool
    processingmodule: str
    returnpolicy: bool
    active: bool

    def title(self, lang):
        return self.name_ru if lang == "ru" and self.name_ru else self.name


def load(db, pricelist):
    """The tariff ``pricelist`` (not an add-on), or None."""
    row = db.execute("SELECT p.id, p.itemtype, t.intname, p.project, p.name, p.name_ru, p.billdaily, "
                     "p.processingmodule, p.returnpolicy, p.active FROM pricelist p "
                     "JOIN itemtype t ON t.id = p.itemtype WHERE p.id = ? AND p.parent IS NULL",
                     (pricelist,)).fetchone()
    return row and Tariff(*row[:6], bool(row[6]), row[7], bool(row[8]), bool(row[9]))


def sold_periods(db, pricelist):
    """The periods the tariff sells: those it has a price for in some currency."""
    return {period for (period,) in db.execute(
        "SELECT DISTINCT period FROM pricelist_price WHERE pricelist = ?", (pricelist,))}


def price(ctx, pricelist, period, unit, account, day=None):
    """The price of ``period`` of ``pricelist`` (a tariff or an add-on) in ``unit`` for ``account``; None
    when it has no price for that period.  A day (``periods.DAY``) without a price of its own costs the
    monthly price over the days of ``day``'s month (DOMAIN: daily billing)."""
    found = dict(ctx.db.execute("SELECT currency, cost FROM pricelist_price WHERE pricelist = ? AND period = ?",
                                (pricelist, period)).fetchall())
    if not found:
        monthly = period == periods.DAY and price(ctx, pricelist, 1, unit, account)
        return periods.daily_price(monthly, day or ctx.clock.now().date()) if monthly else None
    return in_currency(ctx, found, unit, account)


def in_currency(ctx, costs, unit, account, field="pricelist"):
    """A price kept per currency ({currency id: minor units}) in ``unit`` for ``account``: its own in that
    currency, else another's converted at the rate in force (no rate: a ``value`` error naming ``field``)."""
    if unit.numeric in costs:
        return Money(costs[unit.numeric], unit)
    source = min(costs)
    try:
        return rules.convert(ctx, Money(costs[source], iso_currency(source)), unit, account=account)
    except NoRate:
        raise errors.MgrError("value", field, f"{iso_currency(source).iso} -> {unit.iso}",
                              "msg_error_payment_no_rate") from None


def addons(ctx, tariff, period, unit, account, day=None):
    """{add-on id: Addon} of ``tariff``, each priced per unit for ``period`` (free where it has no price)."""
    found = {}
    for id_, addontype, billtype, low, high, step, included in ctx.db.execute(
            "SELECT id, addontype, billtype, addonmin, addonmax, addonstep, addonlimit FROM pricelist "
            "WHERE parent = ? ORDER BY id", (tariff,)).fetchall():
        values = tuple(v for (v,) in ctx.db.execute(
            "SELECT id FROM enumerationitem WHERE pricelist = ? ORDER BY id", (id_,)))
        cost = price(ctx, id_, period, unit, account, day) or Money.zero(unit)
        found[id_] = Addon(id_, addontype, billtype, cost, low, high, step, included, values)
    return found
