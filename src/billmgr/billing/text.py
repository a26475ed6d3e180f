"""Money as text: what callers may type, and how amounts are shown.

Parsing works on the digits themselves, never through Decimal or float, so
exponents (``1e3``), ``NaN``, infinities and underscores cannot slip in, and
an amount is exact or refused: more decimals than the currency has is an
error, not a rounding.  The separator is ``.`` or ``,`` (callers from Russian
locales type a comma), so ``1,234`` means 1.234, never a thousand: too many
decimals for RUB, exactly 1.234 BHD.  Other thousands separators
(``1,234.56``, ``1 234``) are refused.
"""

import re
from decimal import Decimal

from .errors import InvalidValue
from .money import LIMIT, Money

_AMOUNT = re.compile(r"(-?)([0-9]+)(?:[.,]([0-9]+))?", re.ASCII)
_DECIMAL = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?", re.ASCII)
_LONGEST = 64  # far beyond any int64 amount, short enough that nothing absurd is even converted


def parse(text, currency):
    """``"12,50"`` → ``Money(1250, RUB)``; leading and trailing spaces are ignored."""
    if not isinstance(text, str):
        raise TypeError(f"an amount is parsed from text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InvalidValue("an amount is required")
    match = _AMOUNT.fullmatch(stripped) if len(stripped) <= _LONGEST else None
    if match is None:
        raise InvalidValue(f"{text!r} is not an amount: digits, optionally '-' before and one '.' or ',' inside")
    sign, whole, decimals = match.group(1), match.group(2), match.group(3) or ""
    places = currency.minor_units
    if len(decimals) > places:
        raise InvalidValue(f"{currency.iso} amounts have at most {places} decimals, {text.strip()!r} has more")
    minor = int(whole + decimals.ljust(places, "0"))
    if minor > LIMIT:
        raise InvalidValue(f"{text.strip()} {currency.iso} is beyond the largest amount billmgr holds")
    return Money(-minor if sign else minor, currency)


def show(money):
    """The data-column form: ``12.50``, ``-3.10``, ``1250`` for yen, ``0.125`` for dinars."""
    places = money.currency.minor_units
    digits = str(abs(money.minor)).rjust(places + 1, "0")
    sign = "-" if money.minor < 0 else ""
    if not places:
        return sign + digits
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def show_iso(money):
    """The ``_iso`` column form: ``12.50 RUB``."""
    return f"{show(money)} {money.currency.iso}"


def parse_decimal(text, whole=12, places=10):
    """A non-negative exact number typed as text (a percent, a rate): ``"18,5"`` → ``Decimal("18.5")``.

    At most ``whole`` digits before the separator and ``places`` after it; like
    ``parse``, no exponent, sign or thousands separator gets in.
    """
    if not isinstance(text, str):
        raise TypeError(f"a number is parsed from text, not {type(text).__name__}")
    stripped = text.strip()
    match = _DECIMAL.fullmatch(stripped) if stripped and len(stripped) <= _LONGEST else None
    if match is None or len(match.group(1).lstrip("0")) > whole or len(match.group(2) or "") > places:
        raise InvalidValue(f"{text!r} is not a number of up to {whole} digits and {places} decimals")
    return Decimal(f"{match.group(1)}.{match.group(2) or '0'}")


def show_decimal(number):
    """A percent or rate as stored and shown: ``18.5``, ``20``, ``0.0125`` (no exponent, no trailing zeros)."""
    return format(number.normalize(), "f")
