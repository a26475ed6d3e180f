"""Money is exact integer minor units of one currency: no float, no silent conversion, no overflow."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import CurrencyMismatch, InvalidValue
from billmgr.billing.money import LIMIT, Money, total

RUB, USD, JPY, BHD = (currency(code) for code in ("RUB", "USD", "JPY", "BHD"))
EVERY_EXPONENT = [JPY, RUB, BHD, currency("CLF")]  # 0, 2, 3 and 4 minor units
minors = st.integers(-(10**15), 10**15)


def test_arithmetic_within_one_currency():
    a, b = Money(1250, RUB), Money(-310, RUB)
    assert a + b == Money(940, RUB) and a - b == Money(1560, RUB)
    assert -a == Money(-1250, RUB) and abs(b) == Money(310, RUB)
    assert b < a and a > b and a >= a and b <= a and not Money.zero(RUB) and a
    assert Money(1250, RUB).amount == Decimal("12.50") and Money(1250, JPY).amount == Decimal(1250)
    assert Money(5, BHD).amount == Decimal("0.005")
    assert repr(a) == "Money(1250, RUB)"


def test_two_currencies_never_combine_silently():
    with pytest.raises(CurrencyMismatch):
        Money(100, RUB) + Money(100, USD)
    with pytest.raises(CurrencyMismatch):
        Money(100, RUB) - Money(100, USD)
    with pytest.raises(CurrencyMismatch):
        Money(100, RUB) < Money(100, USD)
    with pytest.raises(CurrencyMismatch):
        total([Money(1, RUB), Money(1, USD)], RUB)
    assert Money(100, RUB) != Money(100, USD)


@pytest.mark.parametrize("minor", [12.5, 12.0, True, Decimal("1250"), "1250", None])
def test_money_is_built_only_from_integer_minor_units(minor):
    with pytest.raises(TypeError):
        Money(minor, RUB)


def test_money_needs_a_currency_and_combines_only_with_money():
    with pytest.raises(TypeError):
        Money(1, "RUB")
    with pytest.raises(TypeError):
        Money(1, RUB) + 1


def test_the_range_is_a_signed_64_bit_column_and_negation_never_overflows():
    top = Money(LIMIT, RUB)
    assert -(-top) == top and Money(-LIMIT, RUB) == -top
    with pytest.raises(InvalidValue):
        Money(LIMIT + 1, RUB)
    with pytest.raises(InvalidValue):
        top + Money(1, RUB)
    with pytest.raises(InvalidValue):
        total([top, top], RUB)
    assert total([top, top, -top], RUB) == top  # only the sum has to fit


def test_multiplying_gives_an_exact_unrounded_decimal():
    price = Money(1999, RUB)
    assert price * 3 == Decimal("59.97") and 3 * price == Decimal("59.97")
    assert price * Decimal("0.333") == Decimal("6.65667")
    long = Decimal("1." + "1" * 70)
    assert Fraction(Money(LIMIT, RUB) * long) == Fraction(LIMIT, 100) * Fraction(long)
    for quantity in (0.5, Money(1, RUB), True, "2"):
        with pytest.raises(TypeError):
            price * quantity
    for absurd in (Decimal("NaN"), Decimal("1E+999999"), 10**30, 10**5000):
        with pytest.raises(InvalidValue):
            price * absurd


def test_total_of_nothing_is_zero():
    assert total([], JPY) == Money.zero(JPY)
    assert total([Money(1, JPY), Money(2, JPY)], JPY) == Money(3, JPY)


@given(st.sampled_from(EVERY_EXPONENT), minors, minors, minors)
def test_sums_are_exact_and_associative(unit, a, b, c):
    x, y, z = Money(a, unit), Money(b, unit), Money(c, unit)
    assert (x + y) + z == x + (y + z) == total([x, y, z], unit) == Money(a + b + c, unit)
    assert x - y == -(y - x) and x + y == y + x


@given(st.sampled_from(EVERY_EXPONENT), minors, st.decimals(allow_nan=False, allow_infinity=False, places=6,
                                                            min_value=-10**6, max_value=10**6))
def test_products_are_exact(unit, minor, quantity):
    product = Money(minor, unit) * quantity
    assert Fraction(product) == Fraction(minor, 10**unit.minor_units) * Fraction(quantity)
