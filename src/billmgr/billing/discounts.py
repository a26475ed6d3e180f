"""Discounts: which one applies to a charge, and how much it takes off.

A discount is a percent of the charge or a fixed amount, valid from its
first to its last day, for ordering (``open``) and/or renewal (``prolong``),
optionally only for some order periods, product types and tariffs.  It is the
client's own (personal) or a promotion's.

The choice (DOMAIN.md, from BILLmanager's documentation): a renewal discount
never applies to a daily-billed tariff; a discount of negative priority
applies only when no promotion of non-negative priority fits; of the rest a
personal discount outranks a promotion's, then the highest priority wins.
Ours: only one discount applies to a charge (no stacking); equal rank goes
to the larger discount, then the oldest (lowest id); a fixed discount in
another currency does not fit.  The amount is rounded once, is never
negative and never more than the charge.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .decimals import as_decimal, exact
from .errors import InvalidValue
from .money import Money
from .rounding import fix

OPEN = "open"
PROLONG = "prolong"


@dataclass(frozen=True)
class Discount:
    id: int
    percent: Decimal | None = None
    fixed: Money | None = None
    priority: int = 0
    personal: bool = False
    actions: frozenset = frozenset({OPEN, PROLONG})
    periods: frozenset | None = None
    itemtypes: frozenset | None = None
    pricelists: frozenset | None = None
    first_day: date | None = None
    last_day: date | None = None

    def __post_init__(self):
        if (self.percent is None) == (self.fixed is None):
            raise InvalidValue("a discount is either a percent or a fixed amount")
        if self.percent is not None and not 0 <= as_decimal(self.percent, "discount percent") <= 100:
            raise InvalidValue(f"a discount percent is from 0 to 100, not {self.percent}")
        if self.fixed is not None and self.fixed.minor < 0:
            raise InvalidValue("a fixed discount is not negative")
        for name in ("actions", "periods", "itemtypes", "pricelists"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, frozenset(getattr(self, name)))

    def fits(self, charge):
        return (
            charge.action in self.actions
            and not (charge.action == PROLONG and charge.daily)
            and (self.first_day is None or self.first_day <= charge.day)
            and (self.last_day is None or charge.day <= self.last_day)
            and (self.periods is None or charge.period in self.periods)
            and (self.itemtypes is None or charge.itemtype in self.itemtypes)
            and (self.pricelists is None or charge.pricelist in self.pricelists)
            and (self.fixed is None or self.fixed.currency == charge.amount.currency)
        )

    def amount_off(self, amount):
        """What this discount takes off ``amount``: rounded once, from zero up to ``amount``."""
        if amount.minor <= 0:
            return Money.zero(amount.currency)
        if self.fixed is not None:
            return min(self.fixed, amount)
        with exact():
            return min(fix(amount.amount * self.percent / 100, amount.currency), amount)


@dataclass(frozen=True)
class Charge:
    """What a discount looks at: the amount before discount and what it is for."""

    amount: Money
    action: str
    day: date
    period: int | None = None
    itemtype: str | None = None
    pricelist: int | None = None
    daily: bool = False


def choose(discounts, charge):
    """The one discount that applies to ``charge``, or None."""
    fitting = [discount for discount in discounts if discount.fits(charge)]
    if any(not discount.personal and discount.priority >= 0 for discount in fitting):
        fitting = [discount for discount in fitting if discount.priority >= 0]
    return max(fitting, default=None, key=lambda discount: (
        discount.personal, discount.priority, discount.amount_off(charge.amount), -discount.id))


def discounted(discounts, charge):
    """The chosen discount (or None) and the amount it takes off the charge."""
    discount = choose(discounts, charge)
    return discount, discount.amount_off(charge.amount) if discount else Money.zero(charge.amount.currency)
