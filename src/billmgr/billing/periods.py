"""Service periods: their codes, expiry dates, and the money of part of a period.

A period code is a number of months (1, 3, 6, 12, 24, 36), ``DAY`` (daily
billing), ``TRIAL`` or ``LIFETIME``.  Expiry moves by whole calendar months
with ``relativedelta``, which clamps the day to the month's last day.

Ours: a service keeps its *anchor day*, the day of the month it started on
(its opendate).  Every expiry is that day, clamped: a service opened on
Jan 31 expires Feb 28 (29), Mar 31, Apr 30 — it never drifts to the 28th.
An expiry date alone cannot tell Feb 28 from "the 31st, clamped", so the
caller passes the anchor; without one the date's own day is the anchor.
"""

import calendar
import re
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from .decimals import exact
from .errors import InvalidValue
from .rounding import fix

DAY = -50
TRIAL = -100
LIFETIME = 0
MONTHS = (1, 3, 6, 12, 24, 36)
CODES = frozenset(MONTHS + (DAY, TRIAL, LIFETIME))


def period(code):
    """A period code from the API (``"12"``, ``-50``) as an int; anything else is an ``InvalidValue``."""
    number = code
    if isinstance(code, str) and re.fullmatch(r"-?[0-9]{1,4}", code.strip()):
        number = int(code)
    if type(number) is not int or number not in CODES:
        raise InvalidValue(f"{code!r} is no period: months {', '.join(map(str, MONTHS))}, "
                           f"{DAY} a day, {TRIAL} trial, {LIFETIME} lifetime")
    return number


def add_months(day, months, anchor_day=None):
    """``day`` moved by ``months`` whole calendar months (negative: back) onto the anchor day, clamped."""
    return day + relativedelta(months=months, day=anchor_day or day.day)


def period_end(start, code, anchor_day=None, trial_days=None):
    """When a period of ``code`` that begins on ``start`` ends; None for a lifetime period."""
    code = period(code)
    if code > 0:
        return add_months(start, code, anchor_day)
    if code == DAY:
        return start + timedelta(days=1)
    if code == TRIAL:
        if trial_days is None:
            raise InvalidValue("a trial period lasts the tariff's trial days, and none were given")
        return start + timedelta(days=trial_days)
    return None


def days_in_period(expiry, code, anchor_day=None):
    """How many days the paid period ending on ``expiry`` has (a 1-month period ending Mar 1, 2024: 29)."""
    code = period(code)
    if code == DAY:
        return 1
    if code < 0 or code == LIFETIME:
        raise InvalidValue("only monthly and daily periods are divided into days")
    return (expiry - add_months(expiry, -code, anchor_day)).days


def days_left(today, expiry):
    """Whole days from ``today`` until ``expiry``; none once it has come."""
    return max(0, (expiry - today).days)


def prorate(difference, left, days):
    """``difference × left / days``, rounded once (ours): the part of a price for the rest of a period."""
    if not (type(left) is int and type(days) is int and 0 <= left <= days and days > 0):
        raise InvalidValue(f"{left} days left of a {days}-day period")
    with exact():
        return fix(difference.amount * left / days, difference.currency)


def daily_price(monthly, day):
    """A day's part of a monthly price: the price over the days of ``day``'s month, rounded once."""
    with exact():
        return fix(monthly.amount / calendar.monthrange(day.year, day.month)[1], monthly.currency)
