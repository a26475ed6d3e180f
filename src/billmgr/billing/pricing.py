"""What a service costs: a tariff's price for a period plus its add-ons, and the values an add-on takes.

Ours, where BILLmanager's public record is silent:

- a boolean add-on (``addontype`` 1) costs its price per unit when on;
- an integer add-on (2) costs its price per unit for each unit above the
  included amount (``addonlimit``); its value lies in ``addonmin`` ..
  ``addonmax`` on a multiple of ``addonstep`` counted from the minimum;
- an enumeration add-on (3) costs its price whatever value is chosen;
- add-ons billed by statistics (``billtype`` 3) or not billed (1) add
  nothing to the period price; statistics are charged day by day.
"""

from dataclasses import dataclass

from .errors import InvalidValue
from .money import Money, total
from .periods import add_months, prorate

BOOLEAN, INTEGER, ENUMERATION = 1, 2, 3
NOT_BILLED, STATISTICS = 1, 3


@dataclass(frozen=True)
class Addon:
    """A tariff add-on as pricing sees it; ``price`` is per unit for the period being priced."""

    id: int
    addontype: int
    billtype: int
    price: Money
    minimum: int | None = None
    maximum: int | None = None
    step: int | None = None
    included: int | None = None
    values: tuple = ()     # an enumeration's allowed values (enumerationitem ids)

    def default(self):
        """The value a service gets when the order names none: the included amount, the minimum, off."""
        if self.addontype == ENUMERATION:
            return self.values[0] if self.values else None
        if self.addontype == INTEGER:
            return self.included if self.included is not None else (self.minimum or 0)
        return 0

    def check(self, value):
        """``value`` if this add-on may take it, else an ``InvalidValue`` saying why."""
        if self.addontype == BOOLEAN:
            if value not in (0, 1):
                raise InvalidValue(f"add-on #{self.id} is on (1) or off (0), not {value}")
        elif self.addontype == ENUMERATION:
            if value not in self.values:
                raise InvalidValue(f"add-on #{self.id} has no value {value}")
        else:
            low = self.minimum or 0
            if value < low or (self.maximum is not None and value > self.maximum):
                raise InvalidValue(f"add-on #{self.id} takes {low}..{self.maximum if self.maximum is not None else ''}")
            if self.step and (value - low) % self.step:
                raise InvalidValue(f"add-on #{self.id} moves in steps of {self.step} from {low}")
        return value

    def cost(self, value):
        """What ``value`` of this add-on adds to the period price."""
        if self.billtype in (NOT_BILLED, STATISTICS) or value is None:
            return Money.zero(self.price.currency)
        units = max(0, value - (self.included or 0)) if self.addontype == INTEGER else \
            value if self.addontype == BOOLEAN else 1
        return Money(self.price.minor * units, self.price.currency)


def service_cost(tariff_price, chosen):
    """The price of one period: the tariff's plus each (Addon, value) in ``chosen``."""
    return total([tariff_price, *(addon.cost(value) for addon, value in chosen)], tariff_price.currency)


def change_cost(difference, today, expiry, code, anchor_day=None):
    """What a change of ``difference`` per period costs from ``today`` to ``expiry``: each whole period
    still paid for in full, the one running now pro rata by days (``periods.prorate``)."""
    parts = []
    end = expiry
    while end > today:
        start = add_months(end, -code, anchor_day)
        days = (end - start).days
        parts.append(prorate(difference, min(days, (end - today).days), days))
        end = start
    return total(parts, difference.currency)
