"""Tax: the amount's tax by BILLmanager's formula, rounded once, and the most specific rule."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import Money
from billmgr.billing.tax import Client, TaxRule, TaxSplit, choose_rule, split

RUB, JPY, BHD = currency("RUB"), currency("JPY"), currency("BHD")
EVERY_EXPONENT = [JPY, RUB, BHD, currency("CLF")]


@pytest.mark.parametrize("gross, rate, tax", [
    (Money(12000, RUB), 20, Money(2000, RUB)),        # 120 − 120 / 1.2 = 20
    (Money(10000, RUB), 20, Money(1667, RUB)),        # 100 − 83.3333… = 16.6666… → 16.67
    (Money(10000, RUB), Decimal("18.5"), Money(1561, RUB)),  # 100 − 84.388185… = 15.611814… → 15.61
    (Money(1000, JPY), 10, Money(91, JPY)),           # 1000 − 909.0909… = 90.909… → 91
    (Money(1000, BHD), 5, Money(48, BHD)),            # 1 − 0.952380… = 0.047619… → 0.048
    (Money(101, RUB), 100, Money(51, RUB)),           # 1.01 − 0.505 = 0.505 → half up: 0.51
    (Money(-101, RUB), 100, Money(-51, RUB)),         # a reversal mirrors its charge
    (Money(12000, RUB), 0, Money(0, RUB)),
])
def test_tax_included_in_the_amount(gross, rate, tax):
    assert split(gross, rate) == TaxSplit(gross - tax, tax, gross)


@pytest.mark.parametrize("net, rate, tax", [
    (Money(10000, RUB), 20, Money(2000, RUB)), (Money(5, RUB), 10, Money(1, RUB)),  # 0.005 → 0.01
    (Money(999, JPY), Decimal("18.5"), Money(185, JPY)),  # 184.815 → 185
])
def test_tax_added_on_top(net, rate, tax):
    assert split(net, rate, included=False) == TaxSplit(net, tax, net + tax)


def test_a_rate_is_a_non_negative_int_or_decimal_percent():
    with pytest.raises(InvalidValue):
        split(Money(100, RUB), -1)
    with pytest.raises(InvalidValue):
        TaxRule(Decimal("-0.5"))
    with pytest.raises(TypeError):
        split(Money(100, RUB), 20.0)


CLIENT = Client(account=7, groups={3, 4}, country=182, state=45)
DEFAULT = TaxRule(Decimal(5), id=1)
COUNTRY = TaxRule(Decimal(20), id=2, country=182)
STATE = TaxRule(Decimal(18), id=3, country=182, state=45)
GROUP = TaxRule(Decimal(10), id=4, group=4)
OWN = TaxRule(Decimal(0), id=5, account=7)
OTHERS = [TaxRule(Decimal(1), id=10, account=8), TaxRule(Decimal(2), id=11, group=9),
          TaxRule(Decimal(3), id=12, country=182, state=46), TaxRule(Decimal(4), id=13, country=643)]


def test_the_most_specific_rule_wins():
    ladder = [OWN, GROUP, STATE, COUNTRY, DEFAULT]
    for position, expected in enumerate(ladder):
        assert choose_rule(OTHERS + ladder[position:], CLIENT, "vds") == expected
    assert choose_rule(OTHERS, CLIENT, "vds") is None
    assert choose_rule(OTHERS + ladder, Client(account=99, country=643), "vds") == OTHERS[-1]
    assert choose_rule(OTHERS + ladder, Client(account=99), "vds") == DEFAULT


def test_a_rule_limited_to_product_types_fits_only_those():
    vds_only = TaxRule(Decimal(20), id=9, country=182, itemtypes=["vds", "dedic"])
    assert choose_rule([DEFAULT, vds_only], CLIENT, "vds") == vds_only
    assert choose_rule([DEFAULT, vds_only], CLIENT, "domain") == DEFAULT  # falls to the next level
    assert choose_rule([vds_only], CLIENT, "domain") is None
    assert choose_rule([COUNTRY, vds_only], CLIENT, "dedic") == vds_only  # the limited one says more
    assert choose_rule([COUNTRY, vds_only], CLIENT, "domain") == COUNTRY


def test_at_one_level_the_oldest_rule_wins():
    newer = TaxRule(Decimal(7), id=20, country=182)
    assert choose_rule([newer, COUNTRY], CLIENT, "vds") == COUNTRY


def test_a_rule_applies_its_own_way_of_taxing():
    on_top = TaxRule(Decimal(20), id=30, included=False)
    assert on_top.split(Money(10000, RUB)).gross == Money(12000, RUB)
    assert COUNTRY.split(Money(12000, RUB)).net == Money(10000, RUB)
    with pytest.raises(InvalidValue):
        TaxRule(Decimal(20), state=45)  # a state without its country


rates = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)


@given(st.sampled_from(EVERY_EXPONENT), st.integers(-(10**15), 10**15), rates)
def test_net_and_tax_make_the_gross_exactly_and_tax_is_rounded_once(unit, minor, rate):
    amount = Money(minor, unit)
    half = Fraction(1, 2 * 10**unit.minor_units)
    inside = split(amount, rate)
    assert inside.net + inside.tax == inside.gross == amount
    assert abs(Fraction(inside.tax.amount) - Fraction(amount.amount) * Fraction(rate) / (100 + Fraction(rate))) <= half
    on_top = split(amount, rate, included=False)
    assert on_top.net + on_top.tax == on_top.gross and on_top.net == amount
    assert abs(Fraction(on_top.tax.amount) - Fraction(amount.amount) * Fraction(rate) / 100) <= half
