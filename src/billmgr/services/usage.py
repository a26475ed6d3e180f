"""Usage of statistics add-ons (billtype 3) and its daily charge: ``service.statdaily``.

Modules report a service's usage per add-on and day (``record``); a day is
charged once per (service, add-on, day) -- the primary key of
``itemstat_charge`` -- at the add-on's overage price per unit for the units
billing's ``usage.units_to_charge`` counts.  Charging a day again needs
``force``: the old charge is reversed through the ledger (charges.reverse)
and a new one made, so a day never has two live charges.  Usage is already
consumed, so its charge is post-paid: it may take the balance below zero.
"""

from .. import charges, errors, ledger
from ..billing import discounts, usage
from ..billing.money import Money
from . import items, tariffs

STATISTICS = 3


def addon(db, item, given):
    """The statistics add-on of ``item``'s tariff that ``given`` names (its id or intname), else ``value``."""
    row = db.execute("SELECT a.id FROM item i JOIN pricelist a ON a.parent = i.pricelist AND a.billtype = ? "
                     "WHERE i.id = ? AND (CAST(a.id AS TEXT) = ? OR (a.intname = ? AND a.intname != ''))",
                     (STATISTICS, item, given, given)).fetchone()
    if row is None:
        raise errors.value("addon", given)
    return row[0]


def record(ctx, item, addon_id, day, value):
    """The usage of ``addon_id`` by ``item`` on ``day``: the module's latest report for the day wins."""
    ctx.db.execute("INSERT INTO itemstat (item, addon, statdate, value) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (item, addon, statdate) DO UPDATE SET value = excluded.value",
                   (item, addon_id, day.isoformat(), value))


def _overage_price(ctx, addon_id, unit, account):
    found = dict(ctx.db.execute("SELECT currency, cost FROM pricelist_overage WHERE pricelist = ?",
                                (addon_id,)).fetchall())
    if not found:
        return Money.zero(unit)
    return tariffs.in_currency(ctx, found, unit, account, "addon")


def charge_day(ctx, item_id, day, force=False):
    """Charge ``day``'s usage of every statistics add-on of service ``item_id``; the number of add-ons."""
    item = items.load(ctx.db, item_id)
    charged = ctx.db.execute("SELECT addon, expense FROM itemstat_charge WHERE item = ? AND statdate = ?",
                             (item.id, day.isoformat())).fetchall()
    if charged and not force:
        raise errors.MgrError("exists", "statdate", day.isoformat(), "msg_error_statdaily_done")
    for addon_id, expense in charged:
        if expense is not None:
            charges.reverse(ctx, expense)
        ctx.db.execute("DELETE FROM itemstat_charge WHERE item = ? AND addon = ? AND statdate = ?",
                       (item.id, addon_id, day.isoformat()))
    addons = ctx.db.execute("SELECT id, name, name_ru, measure, addonlimit, statperiod FROM pricelist "
                            "WHERE parent = ? AND billtype = ? ORDER BY id", (item.pricelist, STATISTICS)).fetchall()
    for addon_id, name, name_ru, measure, included, statperiod in addons:
        _charge_addon(ctx, item, day, addon_id, (name, name_ru or name, measure), included, statperiod == "daily")
    return len(addons)


def _charge_addon(ctx, item, day, addon_id, names, included, daily):
    month_start = day.replace(day=1).isoformat()
    day_usage, month_usage = ctx.db.execute(
        "SELECT coalesce(sum(CASE WHEN statdate = ? THEN value END), 0), coalesce(sum(value), 0) FROM itemstat "
        "WHERE item = ? AND addon = ? AND statdate >= ? AND statdate <= ?",
        (day.isoformat(), item.id, addon_id, month_start, day.isoformat())).fetchone()
    before = ctx.db.execute("SELECT coalesce(sum(units), 0) FROM itemstat_charge WHERE item = ? AND addon = ? "
                            "AND statdate >= ? AND statdate < ?",
                            (item.id, addon_id, month_start, day.isoformat())).fetchone()[0]
    units = usage.units_to_charge(daily, day_usage, month_usage, included, before)
    price = _overage_price(ctx, addon_id, item.cost.currency, item.account)
    amount = Money(price.minor * units, price.currency)
    expense = None
    if amount.minor:
        quote = charges.quote(ctx, item.account, discounts.Charge(amount, "statistic", day, None, item.intname,
                                                                  item.pricelist))
        name, name_ru, measure = names
        title = f"{item.intname} #{item.id} {{}}: {units} {measure} over, {day.isoformat()}"
        expense = charges.take(ctx, ledger.subaccount(ctx.db, item.subaccount), quote, "statistic", title.format(name),
                               title.format(name_ru), item.id, day.isoformat(), postpaid=True)
    ctx.db.execute("INSERT INTO itemstat_charge (item, addon, statdate, usage, units, amount, expense) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (item.id, addon_id, day.isoformat(), day_usage, units, amount.minor, expense))

