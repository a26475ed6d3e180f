"""The one rounding rule: an exact Decimal becomes Money here and nowhere else.

Ours (DOMAIN.md): compute in Decimal, round half-up to the currency's minor
unit once, at the moment an amount is fixed (an expense's amount, its tax,
its discount, a conversion).  Half-up means half away from zero, so a
reversal rounds to exactly the negation of what it reverses.
"""

from decimal import ROUND_HALF_UP, Decimal

from .decimals import as_decimal, exact
from .errors import InvalidValue
from .money import LIMIT, Money

ROUNDING = ROUND_HALF_UP


def fix(value, currency):
    """``value`` in major units of ``currency`` (an int or a Decimal), rounded once to Money."""
    value = as_decimal(value, "amount")
    if value and value.adjusted() + currency.minor_units >= len(str(LIMIT)):
        raise InvalidValue(f"{value} {currency.iso} does not fit a 64-bit column")
    with exact():
        return Money(int(value.scaleb(currency.minor_units).quantize(Decimal(1), rounding=ROUNDING)), currency)
