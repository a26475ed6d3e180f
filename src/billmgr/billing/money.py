"""Money: an exact amount in integer minor units of one currency.

Integers make sums exact and store as they are (a BIGINT column, no float
anywhere).  Arithmetic between two currencies is refused rather than guessed,
and the range is what a signed 64-bit column holds, symmetric so that
negation never overflows.  Multiplying by a quantity gives an exact Decimal
in major units: it has no minor unit yet, and only ``rounding.fix`` makes it
money again, so every rounding is visible at the place it happens.
"""

from dataclasses import dataclass
from decimal import Decimal

from .currency import Currency
from .decimals import as_decimal, exact
from .errors import CurrencyMismatch, InvalidValue

LIMIT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: Currency

    def __post_init__(self):
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise TypeError(f"money is built from integer minor units, not {type(self.minor).__name__}")
        if not isinstance(self.currency, Currency):
            raise TypeError(f"money needs a Currency, not {type(self.currency).__name__}")
        if abs(self.minor) > LIMIT:
            raise InvalidValue(f"{self.minor} minor units of {self.currency.iso} do not fit a 64-bit column")

    @classmethod
    def zero(cls, currency):
        return cls(0, currency)

    @property
    def amount(self):
        """The exact value in major units (``Decimal('12.50')`` for 1250 kopecks)."""
        with exact():
            return Decimal(self.minor).scaleb(-self.currency.minor_units)

    def __repr__(self):
        return f"Money({self.minor}, {self.currency.iso})"

    def _minor_of(self, other):
        if not isinstance(other, Money):
            raise TypeError(f"money combines only with money, not {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency.iso} and {other.currency.iso} cannot be combined")
        return other.minor

    def __add__(self, other):
        return Money(self.minor + self._minor_of(other), self.currency)

    def __sub__(self, other):
        return Money(self.minor - self._minor_of(other), self.currency)

    def __neg__(self):
        return Money(-self.minor, self.currency)

    def __abs__(self):
        return Money(abs(self.minor), self.currency)

    def __bool__(self):
        return self.minor != 0

    def __lt__(self, other):
        return self.minor < self._minor_of(other)

    def __le__(self, other):
        return self.minor <= self._minor_of(other)

    def __gt__(self, other):
        return self.minor > self._minor_of(other)

    def __ge__(self, other):
        return self.minor >= self._minor_of(other)

    def __mul__(self, quantity):
        """``price * 3`` or ``price * Decimal("0.5")``: an exact, unrounded Decimal in major units."""
        quantity = as_decimal(quantity, "quantity")
        with exact() as context:
            context.prec = max(context.prec, len(quantity.as_tuple().digits) + len(str(LIMIT)))
            return self.amount * quantity

    __rmul__ = __mul__


def total(amounts, currency):
    """The exact sum of ``amounts``, all in ``currency`` (zero when there are none)."""
    zero = Money.zero(currency)
    return Money(sum(zero._minor_of(amount) for amount in amounts), currency)
