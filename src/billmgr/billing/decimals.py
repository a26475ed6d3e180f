"""The numbers money arithmetic takes, and the precision of its intermediates.

Every quantity, rate and percent enters through ``as_decimal``, so a float
(binary, inexact) is refused at the door instead of leaking a 0.1 + 0.2 error
into an amount, and an absurd magnitude (``1E+999999``) is refused before
it can overflow.  Intermediates carry ``CONTEXT.prec`` significant digits:
sums and products of amounts that fit a 64-bit column stay exact, and a
quotient is correct far below a minor unit, so the one rounding in
``rounding.fix`` is the only one that changes a value.
"""

from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

from .errors import InvalidValue

CONTEXT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow])
LARGEST_DIGITS = 30  # digits before the point: far beyond money, small enough that no product overflows


def exact():
    """A context for intermediate arithmetic: ``with exact(): ...``."""
    return localcontext(CONTEXT)


def as_decimal(value, what="value"):
    """``value`` (an int or a finite Decimal) as a Decimal; a float is a programming error."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"{what} must be an int or a Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise InvalidValue(f"{what} must be a finite number, not {value}")
    if value.adjusted() >= LARGEST_DIGITS:
        raise InvalidValue(f"{what} {value} is beyond any amount, rate or quantity")
    return value
