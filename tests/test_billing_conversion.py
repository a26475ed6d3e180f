"""Conversion with dated rates: the latest in force, the client's own first, rounded once, never 1:1."""

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.conversion import Rate, convert, rate_for
from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue, NoRate
from billmgr.billing.money import Money

RUB, USD, EUR, JPY, BHD = (currency(code) for code in ("RUB", "USD", "EUR", "JPY", "BHD"))
EVERY_EXPONENT = [JPY, RUB, BHD, currency("CLF")]
MARCH_1, MARCH_10 = datetime(2024, 3, 1), datetime(2024, 3, 10)
USD_RUB = Rate(USD, RUB, Decimal("92.5"), MARCH_1, id=1)
USD_RUB_LATER = Rate(USD, RUB, Decimal(95), MARCH_10, id=2)
USD_RUB_OWN = Rate(USD, RUB, Decimal(90), date(2024, 2, 1), account=7, id=3)
JPY_RUB = Rate(JPY, RUB, Decimal("61.2345"), MARCH_1, amount=Decimal(100), id=4)  # 100 yen = 61.2345 roubles
RATES = [USD_RUB, USD_RUB_LATER, USD_RUB_OWN, JPY_RUB]


@pytest.mark.parametrize("money, target, expected", [
    (Money(1000, USD), RUB, Money(92500, RUB)),   # 10 × 92.5
    (Money(92500, RUB), USD, Money(1000, USD)),   # the same rate the other way
    (Money(100000, RUB), USD, Money(1081, USD)),  # 1000 / 92.5 = 10.8108… → 10.81
    (Money(1250, JPY), RUB, Money(76543, RUB)),   # 1250 × 61.2345 / 100 = 765.43125 → 765.43
    (Money(100000, RUB), JPY, Money(1633, JPY)),  # 1000 × 100 / 61.2345 = 1633.05… → 1633
    (Money(-1250, JPY), RUB, Money(-76543, RUB)),
])
def test_conversion_both_ways_rounded_once(money, target, expected):
    assert convert(money, target, RATES, datetime(2024, 3, 5)) == expected


def test_three_decimal_currencies_convert_too():
    bhd_usd = Rate(BHD, USD, Decimal("2.65"), MARCH_1)
    assert convert(Money(1005, BHD), USD, [bhd_usd], MARCH_1) == Money(266, USD)  # 2.66325 → 2.66
    assert convert(Money(266, USD), BHD, [bhd_usd], MARCH_1) == Money(1004, BHD)  # 1.003773… → 1.004


def test_the_latest_rate_not_after_the_moment_is_used():
    assert rate_for(RATES, USD, RUB, datetime(2024, 3, 9, 23, 59, 59)) == USD_RUB
    assert rate_for(RATES, RUB, USD, MARCH_10) == USD_RUB_LATER
    assert rate_for(RATES, USD, RUB, date(2024, 3, 10)) == USD_RUB_LATER  # a day means its midnight
    with pytest.raises(NoRate):
        rate_for(RATES, USD, RUB, datetime(2024, 2, 29, 23, 59))


def test_a_clients_own_rate_wins_over_a_newer_global_one():
    assert rate_for(RATES, USD, RUB, datetime(2024, 3, 11), account=7) == USD_RUB_OWN
    assert rate_for(RATES, USD, RUB, datetime(2024, 3, 11), account=8) == USD_RUB_LATER
    assert rate_for(RATES, USD, RUB, datetime(2024, 3, 11)) == USD_RUB_LATER
    with pytest.raises(NoRate):
        rate_for(RATES, USD, RUB, datetime(2024, 2, 15), account=8)  # another client's rate is not for them
    assert convert(Money(1000, USD), RUB, RATES, datetime(2024, 3, 11), account=7) == Money(90000, RUB)


def test_a_clients_rate_not_yet_in_force_leaves_the_global_one():
    future_own = Rate(USD, RUB, Decimal(80), datetime(2024, 4, 1), account=7, id=9)
    assert rate_for([USD_RUB, future_own], USD, RUB, MARCH_10, account=7) == USD_RUB


def test_of_two_rates_of_one_date_the_last_entered_wins():
    correction = Rate(USD, RUB, Decimal("92.6"), MARCH_1, id=8)
    assert rate_for([correction, USD_RUB], USD, RUB, MARCH_10) == correction


def test_no_rate_is_an_error_never_one_to_one():
    with pytest.raises(NoRate, match="EUR into RUB on 2024-03-05"):
        convert(Money(100, EUR), RUB, RATES, date(2024, 3, 5))
    with pytest.raises(NoRate):
        convert(Money(100, EUR), JPY, RATES, MARCH_10)  # no path through a third currency
    assert convert(Money(100, EUR), EUR, [], MARCH_10) == Money(100, EUR)


@pytest.mark.parametrize("fields", [
    dict(rate=Decimal(0)), dict(rate=Decimal(-1)), dict(amount=Decimal(0)), dict(related=USD),
    dict(rate=Decimal("NaN")),
])
def test_a_rate_is_positive_between_two_currencies(fields):
    with pytest.raises(InvalidValue):
        Rate(**{"base": USD, "related": RUB, "rate": Decimal(1), "since": MARCH_1} | fields)
    with pytest.raises(TypeError):
        Rate(USD, RUB, 92.5, MARCH_1)


# amounts up to 10⁸ minor units × 10⁴ (exponents apart) × 10⁶ (amount / rate) stay within 64 bits
@given(st.sampled_from(EVERY_EXPONENT), st.sampled_from(EVERY_EXPONENT), st.integers(-(10**8), 10**8),
       st.decimals(min_value=Decimal("0.0001"), max_value=10000, places=4), st.sampled_from([1, 10, 100]))
def test_conversion_never_invents_value_beyond_half_a_minor_unit(source, target, minor, rate, amount):
    if source == target:
        return
    rates = [Rate(source, target, rate, MARCH_1, amount=Decimal(amount))]
    money = Money(minor, source)
    exact = Fraction(money.amount) * Fraction(rate) / amount
    converted = convert(money, target, rates, MARCH_10)
    assert abs(Fraction(converted.amount) - exact) <= Fraction(1, 2 * 10**target.minor_units)
    back = convert(Money(minor, target), source, rates, MARCH_10)
    exact_back = Fraction(minor, 10**target.minor_units) * amount / Fraction(rate)
    assert abs(Fraction(back.amount) - exact_back) <= Fraction(1, 2 * 10**source.minor_units)
