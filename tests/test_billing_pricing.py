"""Pricing: what an add-on value costs, which values an add-on takes, a service's period price, and what an
add-on change costs for the rest of what is paid for -- exact to the minor unit, with property tests."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import Money
from billmgr.billing.periods import MONTHS, add_months
from billmgr.billing.pricing import Addon, change_cost, service_cost

RUB = currency("RUB")
prices = st.integers(min_value=0, max_value=10**9).map(lambda minor: Money(minor, RUB))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


def test_the_add_on_kinds_cost_what_the_guide_says():
    ram = Addon(1, 2, 2, Money(10050, RUB), minimum=1, maximum=64, step=1, included=2)
    backup = Addon(2, 1, 2, Money(5000, RUB))
    panel = Addon(3, 3, 2, Money(30000, RUB), values=(7, 8))
    traffic = Addon(4, 2, 3, Money(99, RUB), included=100)          # statistics: charged by the day
    free = Addon(5, 1, 1, Money(99, RUB))                            # not billed
    assert [ram.cost(5).minor, ram.cost(2).minor, ram.cost(1).minor] == [30150, 0, 0]
    assert [backup.cost(1).minor, backup.cost(0).minor] == [5000, 0]
    assert panel.cost(8).minor == 30000 and traffic.cost(5000).minor == 0 and free.cost(1).minor == 0
    assert service_cost(Money(50000, RUB), [(ram, 5), (backup, 1), (panel, 7)]) == Money(115150, RUB)
    assert (ram.default(), backup.default(), panel.default()) == (2, 0, 7)


@pytest.mark.parametrize("addon, value", [
    (Addon(1, 2, 2, Money(1, RUB), minimum=1, maximum=64, step=1), 65),
    (Addon(1, 2, 2, Money(1, RUB), minimum=1, maximum=64, step=1), 0),
    (Addon(1, 2, 2, Money(1, RUB), minimum=256, maximum=1024, step=256), 300),
    (Addon(1, 1, 2, Money(1, RUB)), 2),
    (Addon(1, 3, 2, Money(1, RUB), values=(7, 8)), 9),
    (Addon(1, 3, 2, Money(1, RUB), values=(7, 8)), "cPanel"),
])
def test_an_add_on_refuses_what_it_cannot_take(addon, value):
    with pytest.raises(InvalidValue):
        addon.check(value)


@given(low=st.integers(0, 1000), span=st.integers(0, 1000), step=st.integers(1, 50), value=st.integers(-10, 3000))
def test_an_integer_add_on_takes_exactly_its_steps_between_its_limits(low, span, step, value):
    addon = Addon(1, 2, 2, Money(100, RUB), minimum=low, maximum=low + span, step=step)
    fits = low <= value <= low + span and (value - low) % step == 0
    try:
        assert addon.check(value) == value and fits
    except InvalidValue:
        assert not fits


@given(price=prices, included=st.integers(0, 100), value=st.integers(0, 200))
def test_an_integer_add_on_costs_its_units_above_the_included_amount(price, included, value):
    addon = Addon(1, 2, 2, price, included=included)
    assert addon.cost(value).minor == price.minor * max(0, value - included) >= 0


@given(difference=st.integers(-10**8, 10**8).map(lambda minor: Money(minor, RUB)), start=days,
       code=st.sampled_from(MONTHS), periods=st.integers(1, 3), into=st.integers(0, 2000))
def test_an_add_on_change_costs_whole_periods_and_the_current_one_pro_rata(difference, start, code, periods, into):
    expiry = add_months(start, code * periods, start.day)
    today = min(start + timedelta(days=into), expiry)
    cost = change_cost(difference, today, expiry, code, start.day)
    assert change_cost(-difference, today, expiry, code, start.day) == -cost      # a return mirrors a charge
    assert abs(cost.minor) <= abs(difference.minor) * periods
    current_end = next(add_months(start, code * n, start.day) for n in range(1, periods + 1)
                       if add_months(start, code * n, start.day) > today) if today < expiry else expiry
    whole = sum(1 for n in range(1, periods + 1) if add_months(start, code * (n - 1), start.day) >= current_end)
    if today < expiry:
        current_start = add_months(current_end, -code, start.day)
        left, length = (current_end - today).days, (current_end - current_start).days
        part = (Decimal(difference.minor) * left / length).quantize(Decimal(1), ROUND_HALF_UP)
        assert cost.minor == difference.minor * whole + int(part)
    else:
        assert cost.minor == 0


def test_a_change_on_the_first_day_costs_a_whole_period_and_halfway_about_half():
    thirty = Money(3000, RUB)
    assert change_cost(thirty, date(2026, 1, 1), date(2026, 2, 1), 1) == thirty
    assert change_cost(thirty, date(2026, 1, 10), date(2026, 2, 1), 1) == Money(2129, RUB)   # 30 x 22/31
    assert change_cost(thirty, date(2026, 1, 10), date(2026, 3, 1), 1) == Money(5129, RUB)   # + February whole
    assert change_cost(thirty, date(2026, 2, 1), date(2026, 2, 1), 1) == Money(0, RUB)
