"""Discounts: one per charge, chosen by BILLmanager's ranking, rounded once, never more than the charge."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.discounts import OPEN, PROLONG, Charge, Discount, choose, discounted
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import Money
from billmgr.billing.periods import DAY

RUB, USD, JPY = currency("RUB"), currency("USD"), currency("JPY")
EVERY_EXPONENT = [JPY, RUB, currency("BHD"), currency("CLF")]
ORDER = Charge(Money(100000, RUB), OPEN, date(2024, 3, 5), period=1, itemtype="vds", pricelist=12)


@pytest.mark.parametrize("discount, charge, off", [
    (Discount(1, percent=Decimal(10)), Money(100000, RUB), Money(10000, RUB)),
    (Discount(1, percent=Decimal("12.5")), Money(33333, RUB), Money(4167, RUB)),  # 41.66625 → 41.67
    (Discount(1, percent=Decimal(15)), Money(999, JPY), Money(150, JPY)),  # 149.85 → 150
    (Discount(1, percent=Decimal(100)), Money(33333, RUB), Money(33333, RUB)),
    (Discount(1, fixed=Money(15000, RUB)), Money(100000, RUB), Money(15000, RUB)),
    (Discount(1, fixed=Money(15000, RUB)), Money(10000, RUB), Money(10000, RUB)),  # never more than the charge
    (Discount(1, percent=Decimal(10)), Money(0, RUB), Money(0, RUB)),
    (Discount(1, fixed=Money(100, RUB)), Money(-500, RUB), Money(0, RUB)),  # a credit is not discounted
])
def test_the_amount_off(discount, charge, off):
    assert discount.amount_off(charge) == off


@pytest.mark.parametrize("fields", [
    {}, dict(percent=Decimal(5), fixed=Money(1, RUB)), dict(percent=Decimal(101)), dict(percent=Decimal(-1)),
    dict(fixed=Money(-1, RUB)), dict(percent=Decimal("NaN")),
])
def test_a_discount_is_a_percent_from_0_to_100_or_a_non_negative_amount(fields):
    with pytest.raises(InvalidValue):
        Discount(1, **fields)
    with pytest.raises(TypeError):
        Discount(1, percent=10.0)


def test_a_personal_discount_outranks_any_promotion():
    personal = Discount(1, percent=Decimal(5), personal=True)
    promotion = Discount(2, percent=Decimal(30), priority=10)
    assert discounted([promotion, personal], ORDER) == (personal, Money(5000, RUB))


def test_among_promotions_the_highest_priority_wins_and_only_one_applies():
    low, high = Discount(1, percent=Decimal(30), priority=1), Discount(2, percent=Decimal(10), priority=2)
    assert discounted([low, high], ORDER) == (high, Money(10000, RUB))


def test_a_negative_priority_applies_only_when_no_promotion_fits():
    fallback = Discount(1, percent=Decimal(50), priority=-1, personal=True)
    promotion = Discount(2, percent=Decimal(5))
    assert choose([fallback, promotion], ORDER) == promotion
    assert choose([fallback], ORDER) == fallback
    elsewhere = Discount(3, percent=Decimal(5), itemtypes={"dedic"})
    assert choose([fallback, elsewhere], ORDER) == fallback
    assert choose([fallback, Discount(4, percent=Decimal(5), personal=True)], ORDER).id == 4


def test_a_renewal_discount_never_applies_to_a_daily_tariff():
    renewal = Discount(1, percent=Decimal(10), actions={PROLONG})
    daily = Charge(Money(1000, RUB), PROLONG, date(2024, 3, 5), period=DAY, daily=True)
    assert choose([renewal], daily) is None
    assert choose([renewal], Charge(Money(1000, RUB), PROLONG, date(2024, 3, 5), period=1)) == renewal
    assert choose([renewal], ORDER) is None  # nor to an order
    assert choose([Discount(2, percent=Decimal(10), actions={OPEN})], Charge(
        Money(1000, RUB), OPEN, date(2024, 3, 5), period=DAY, daily=True)).id == 2


@pytest.mark.parametrize("fields, fits", [
    (dict(periods={1, 3}), True), (dict(periods={12}), False),
    (dict(itemtypes={"vds"}), True), (dict(itemtypes={"vhost"}), False),
    (dict(pricelists={12, 13}), True), (dict(pricelists={14}), False),
    (dict(first_day=date(2024, 3, 5), last_day=date(2024, 3, 5)), True),  # both days included
    (dict(first_day=date(2024, 3, 6)), False), (dict(last_day=date(2024, 3, 4)), False),
])
def test_a_discount_fits_its_periods_product_types_tariffs_and_days(fields, fits):
    assert (choose([Discount(1, percent=Decimal(10), **fields)], ORDER) is not None) is fits


def test_a_fixed_discount_in_another_currency_does_not_fit():
    assert discounted([Discount(1, fixed=Money(500, USD))], ORDER) == (None, Money(0, RUB))


def test_equal_rank_goes_to_the_larger_discount_then_the_oldest():
    small, large = Discount(1, percent=Decimal(5)), Discount(2, fixed=Money(9000, RUB))
    assert choose([small, large], ORDER) == large
    twin = Discount(3, percent=Decimal(9))
    assert choose([twin, large], ORDER) == large
    assert choose([Discount(5, percent=Decimal(9)), twin], ORDER) == twin


discounts = st.one_of(
    st.builds(Discount, id=st.integers(1, 9), percent=st.decimals(min_value=0, max_value=100, places=3),
              priority=st.integers(-3, 3), personal=st.booleans()),
    st.builds(Discount, id=st.integers(1, 9), fixed=st.integers(0, 10**9).map(lambda minor: Money(minor, RUB)),
              priority=st.integers(-3, 3), personal=st.booleans()),
)


@given(st.lists(discounts, max_size=5), st.integers(-(10**9), 10**12))
def test_a_discount_is_never_negative_nor_more_than_the_charge(candidates, minor):
    charge = Charge(Money(minor, RUB), OPEN, date(2024, 3, 5))
    chosen, off = discounted(candidates, charge)
    assert Money(0, RUB) <= off <= max(charge.amount, Money(0, RUB))
    assert (chosen is None) == (not candidates)  # none is restricted, so one always applies


@given(st.sampled_from(EVERY_EXPONENT), st.integers(0, 10**15), st.decimals(min_value=0, max_value=100, places=4))
def test_a_percent_discount_is_rounded_once(unit, minor, percent):
    off = Discount(1, percent=percent).amount_off(Money(minor, unit))
    exact = Fraction(minor, 10**unit.minor_units) * Fraction(percent) / 100
    assert abs(Fraction(off.amount) - exact) <= Fraction(1, 2 * 10**unit.minor_units)
