"""Converting money between currencies with dated rates.

A rate says that ``amount`` units of the base currency are worth ``rate``
units of the related one, from ``since`` (``ratedate``) on; it converts both
ways.  The rate used at a moment is the latest one dated not after it, and a
client's own rate wins over the global one (ours): a provider who agreed a
rate with a client keeps it even when the global rate is newer.  With no
rate there is no conversion: ``NoRate``, never 1:1.  Only direct rates
convert (ours): no path through a third currency, whose two roundings would
break the one rounding rule.  The result is rounded once, at the end.
"""

from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from .currency import Currency
from .decimals import as_decimal, exact
from .errors import InvalidValue, NoRate
from .rounding import fix


@dataclass(frozen=True)
class Rate:
    base: Currency
    related: Currency
    rate: Decimal
    since: datetime
    amount: Decimal = Decimal(1)
    account: int | None = None
    id: int = 0

    def __post_init__(self):
        for what in ("rate", "amount"):
            if as_decimal(getattr(self, what), f"a rate's {what}") <= 0:
                raise InvalidValue(f"a rate's {what} is more than 0, not {getattr(self, what)}")
        if self.base == self.related:
            raise InvalidValue(f"a rate converts between two currencies, not {self.base.iso} and itself")
        object.__setattr__(self, "since", _moment(self.since))

    def links(self, one, other):
        return {self.base, self.related} == {one, other}


def _moment(value):
    """Rates are dated by day or by moment; a day starts at midnight."""
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def rate_for(rates, source, target, at, account=None):
    """The rate that converts ``source`` into ``target`` at moment ``at`` for ``account`` (None: global only).

    Among rates of one date, the one entered last (highest id) wins.
    """
    at = _moment(at)
    usable = [rate for rate in rates
              if rate.links(source, target) and rate.since <= at and rate.account in (None, account)]
    own = [rate for rate in usable if rate.account is not None]
    chosen = max(own or usable, key=lambda rate: (rate.since, rate.id), default=None)
    if chosen is None:
        day = at.date() if at.time() == time() else at
        raise NoRate(f"no rate converts {source.iso} into {target.iso} on {day}")
    return chosen


def convert(money, target, rates, at, account=None):
    """``money`` in ``target`` currency at moment ``at``, rounded once."""
    if money.currency == target:
        return money
    rate = rate_for(rates, money.currency, target, at, account)
    with exact():
        if rate.base == money.currency:
            value = money.amount * rate.rate / rate.amount
        else:
            value = money.amount * rate.amount / rate.rate
    return fix(value, target)

