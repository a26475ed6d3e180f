"""ISO 4217 currencies: codes, minor units and names in English and Russian.

Minor units come from the ``iso4217`` package (ISO's own published table);
codes and the Russian names from ``pycountry``'s translations of the same
ISO names.  Currencies without minor units (gold, SDR, test codes) cannot
hold money in integer minor units, so they are left out.  The table is
built on first use: the daemon pays for it, ``mgrctl`` never does.
"""

import gettext
from dataclasses import dataclass, field, replace
from functools import cache

from .errors import UnknownCurrency


@dataclass(frozen=True)
class Currency:
    """One currency.  Two values are equal when their codes and minor units are:
    names and symbol are presentation, and a provider may change them."""

    iso: str
    numeric: int
    minor_units: int
    name_en: str = field(default="", compare=False)
    name_ru: str = field(default="", compare=False)
    symbol: str = field(default="", compare=False)

    def __post_init__(self):
        if not self.symbol:
            # ISO has no symbols; the code is the default until a provider sets one
            object.__setattr__(self, "symbol", self.iso)

    def with_symbol(self, symbol):
        return replace(self, symbol=symbol)


@cache
def _table():
    import iso4217
    import pycountry

    russian = gettext.translation("iso4217", pycountry.LOCALES_DIR, languages=["ru"], fallback=True)
    table = {}
    for entry in iso4217.Currency:
        if entry.exponent is None:
            continue
        name = pycountry.currencies.get(alpha_3=entry.code).name
        table[entry.code] = Currency(entry.code, entry.number, entry.exponent, name, russian.gettext(name))
    return table


@cache
def _by_numeric():
    return {currency.numeric: currency for currency in _table().values()}


def currencies():
    """Every currency billing can hold, ordered by code."""
    return [_table()[iso] for iso in sorted(_table())]


def currency(code):
    """The currency of an alphabetic (``RUB``, ``rub``) or numeric (``643``, ``"643"``) code."""
    if isinstance(code, str) and code.strip().isascii() and code.strip().isdigit():
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        found = _by_numeric().get(code)
    elif isinstance(code, str):
        found = _table().get(code.strip().upper())
    else:
        raise TypeError(f"a currency code is text or an integer, not {type(code).__name__}")
    if found is None:
        raise UnknownCurrency(f"no ISO 4217 currency with minor units has the code {code!r}")
    return found
