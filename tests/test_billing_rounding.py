"""The one rounding rule: half-up (away from zero) to the minor unit, once."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import Money
from billmgr.billing.rounding import fix

RUB, JPY, BHD = currency("RUB"), currency("JPY"), currency("BHD")
EVERY_EXPONENT = [JPY, RUB, BHD, currency("CLF")]


@pytest.mark.parametrize("value, unit, minor", [
    ("0.125", RUB, 13), ("-0.125", RUB, -13), ("0.124999", RUB, 12), ("0.135", RUB, 14), ("12", RUB, 1200),
    ("2.5", JPY, 3), ("3.5", JPY, 4), ("-2.5", JPY, -3), ("0.4999", JPY, 0),
    ("0.0005", BHD, 1), ("1.2344", BHD, 1234), ("1.2345", BHD, 1235),
    ("92233720368547758.07", RUB, 2**63 - 1), ("92233720368547758.074", RUB, 2**63 - 1),
])
def test_half_up_to_the_minor_unit(value, unit, minor):
    assert fix(Decimal(value), unit) == Money(minor, unit)


def test_integers_are_major_units():
    assert fix(12, RUB) == Money(1200, RUB) and fix(12, JPY) == Money(12, JPY)


@pytest.mark.parametrize("value", [0.5, 1.0, "12.5", True, None])
def test_fix_takes_no_float_and_no_text(value):
    with pytest.raises(TypeError):
        fix(value, RUB)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "92233720368547758.08", "1E+999999"])
def test_fix_refuses_what_is_no_storable_amount(value):
    with pytest.raises(InvalidValue):
        fix(Decimal(value), RUB)


@given(st.sampled_from(EVERY_EXPONENT), st.decimals(allow_nan=False, allow_infinity=False, places=8,
                                                    min_value=-10**9, max_value=10**9))
def test_the_result_is_within_half_a_minor_unit_and_symmetric(unit, value):
    fixed = fix(value, unit)
    assert abs(Fraction(fixed.amount) - Fraction(value)) <= Fraction(1, 2 * 10**unit.minor_units)
    assert fix(-value, unit) == -fixed
    assert fix(fixed.amount, unit) == fixed  # rounding a fixed amount again changes nothing
