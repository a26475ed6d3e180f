"""Periods: codes, expiry by whole calendar months on the anchor day, pro-rata and daily prices."""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import Money, total
from billmgr.billing.periods import (
    DAY,
    LIFETIME,
    TRIAL,
    add_months,
    daily_price,
    days_in_period,
    days_left,
    period,
    period_end,
    prorate,
)

RUB, JPY = currency("RUB"), currency("JPY")
EVERY_EXPONENT = [JPY, RUB, currency("BHD"), currency("CLF")]


@pytest.mark.parametrize("code, number", [
    ("1", 1), (" 12 ", 12), (36, 36), ("-50", DAY), (-100, TRIAL), ("0", LIFETIME), (24, 24), (3, 3), (6, 6),
])
def test_period_codes(code, number):
    assert period(code) == number


@pytest.mark.parametrize("code", [2, "5", 48, -1, "abc", "", "1e1", "+1", 12.0, True, None, "٣"])
def test_what_is_no_period(code):
    with pytest.raises(InvalidValue):
        period(code)


@pytest.mark.parametrize("start, months, anchor, end", [
    (date(2024, 1, 31), 1, None, date(2024, 2, 29)), (date(2023, 1, 31), 1, None, date(2023, 2, 28)),
    (date(2024, 1, 31), 2, None, date(2024, 3, 31)), (date(2024, 3, 31), 1, None, date(2024, 4, 30)),
    (date(2024, 2, 29), 1, 31, date(2024, 3, 31)),   # anchored: back on the 31st
    (date(2024, 2, 29), 1, None, date(2024, 3, 29)),  # unanchored: the date's own day
    (date(2024, 12, 15), 1, None, date(2025, 1, 15)), (date(2024, 8, 31), 6, None, date(2025, 2, 28)),
    (date(2024, 2, 29), 12, None, date(2025, 2, 28)), (date(2025, 2, 28), 36, 29, date(2028, 2, 29)),
    (date(2024, 3, 31), -1, None, date(2024, 2, 29)), (date(2024, 2, 29), -1, 31, date(2024, 1, 31)),
])
def test_whole_calendar_months_clamped_to_the_months_end(start, months, anchor, end):
    assert add_months(start, months, anchor) == end


def test_a_service_opened_on_the_31st_stays_anchored():
    expiry, ends = date(2024, 1, 31), []
    for _ in range(6):
        expiry = period_end(expiry, 1, anchor_day=31)
        ends.append(expiry)
    assert ends == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31), date(2024, 6, 30),
                    date(2024, 7, 31)]


def test_period_ends_of_daily_trial_and_lifetime():
    start = date(2024, 2, 28)
    assert period_end(start, DAY) == date(2024, 2, 29) and period_end(start, "-50") == date(2024, 2, 29)
    assert period_end(start, TRIAL, trial_days=7) == date(2024, 3, 6)
    assert period_end(start, LIFETIME) is None
    with pytest.raises(InvalidValue):
        period_end(start, TRIAL)


@pytest.mark.parametrize("expiry, code, anchor, days", [
    (date(2024, 3, 1), 1, None, 29), (date(2023, 3, 1), 1, None, 28), (date(2024, 2, 29), 1, 31, 29),
    (date(2024, 3, 31), 1, 31, 31), (date(2024, 4, 30), 1, 31, 30), (date(2025, 1, 1), 12, None, 366),
    (date(2024, 7, 1), 6, None, 182), (date(2024, 3, 5), DAY, None, 1),
])
def test_days_in_the_paid_period(expiry, code, anchor, days):
    assert days_in_period(expiry, code, anchor) == days


@pytest.mark.parametrize("code", [TRIAL, LIFETIME])
def test_only_monthly_and_daily_periods_have_days(code):
    with pytest.raises(InvalidValue):
        days_in_period(date(2024, 3, 1), code)


def test_days_left():
    assert days_left(date(2024, 3, 1), date(2024, 3, 20)) == 19
    assert days_left(date(2024, 3, 20), date(2024, 3, 20)) == 0 and days_left(date(2024, 3, 25), date(2024, 3, 20)) == 0


@pytest.mark.parametrize("difference, left, days, part", [
    (Money(15000, RUB), 10, 31, Money(4839, RUB)),     # (250 − 100) × 10 / 31 = 48.387… → 48.39
    (Money(-15000, RUB), 10, 31, Money(-4839, RUB)),   # the credit back mirrors the charge
    (Money(1000, JPY), 1, 3, Money(333, JPY)), (Money(1000, JPY), 2, 3, Money(667, JPY)),
    (Money(100, RUB), 1, 8, Money(13, RUB)),           # 12.5 kopecks → half up
    (Money(15000, RUB), 0, 31, Money(0, RUB)), (Money(15000, RUB), 31, 31, Money(15000, RUB)),
])
def test_pro_rata(difference, left, days, part):
    assert prorate(difference, left, days) == part


@pytest.mark.parametrize("left, days", [(32, 31), (-1, 31), (0, 0), (1, -1), (True, 31)])
def test_pro_rata_needs_days_left_within_the_period(left, days):
    with pytest.raises(InvalidValue):
        prorate(Money(100, RUB), left, days)


@pytest.mark.parametrize("monthly, day, price", [
    (Money(310000, RUB), date(2024, 3, 17), Money(10000, RUB)), (Money(10000, RUB), date(2024, 2, 1), Money(345, RUB)),
    (Money(10000, RUB), date(2023, 2, 1), Money(357, RUB)), (Money(1000, JPY), date(2024, 4, 30), Money(33, JPY)),
])
def test_the_day_price_of_a_monthly_tariff(monthly, day, price):
    assert daily_price(monthly, day) == price


@given(st.dates(date(2000, 1, 1), date(2090, 1, 1)), st.sampled_from([1, 3, 6, 12]), st.integers(1, 30))
def test_renewing_step_by_step_lands_where_one_long_step_does(start, months, steps):
    expiry = start
    for _ in range(steps):
        expiry = add_months(expiry, months, anchor_day=start.day)
    assert expiry == add_months(start, months * steps)
    assert expiry.day == min(start.day, calendar.monthrange(expiry.year, expiry.month)[1])
    assert add_months(expiry, -months * steps, anchor_day=start.day) == start


@given(st.sampled_from(EVERY_EXPONENT), st.integers(-(10**12), 10**12), st.integers(1, 1100), st.data())
def test_a_pro_rata_split_sums_back_within_half_a_minor_unit_per_piece(unit, minor, days, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, days), max_size=8)))
    pieces = [b - a for a, b in zip([0] + cuts, cuts + [days])]
    parts = [prorate(Money(minor, unit), piece, days) for piece in pieces]
    assert abs(total(parts, unit).minor - minor) <= len(pieces) // 2


@given(st.sampled_from(EVERY_EXPONENT), st.integers(0, 10**12), st.dates(date(2000, 1, 1), date(2090, 12, 1)))
def test_a_months_day_prices_sum_back_within_half_a_minor_unit_per_day(unit, minor, day):
    first = day.replace(day=1)
    month = [first + timedelta(days=n) for n in range(31) if (first + timedelta(days=n)).month == first.month]
    charged = total([daily_price(Money(minor, unit), each) for each in month], unit)
    assert abs(charged.minor - minor) <= len(month) // 2
