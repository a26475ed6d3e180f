"""Statistics billing: how many units of a day's usage are charged (DOMAIN: statistics billing).

With daily accounting the included amount is per day: the day's overage is
charged.  With monthly accounting it is per calendar month: the day is
charged the month-to-date overage less the units already charged this month
(ours), so a month's charges add up to its overage whatever the days' order.
"""


def overage(usage, included):
    """Units above the included amount."""
    return max(0, usage - (included or 0))


def units_to_charge(daily, day_usage, month_usage, included, charged_this_month):
    """The units a day is charged: ``month_usage`` counts the month up to and including the day."""
    if daily:
        return overage(day_usage, included)
    return max(0, overage(month_usage, included) - charged_this_month)
