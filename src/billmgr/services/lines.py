"""What a client pays for -- an order (``open``), a renewal (``prolong``), an add-on change
(``changeaddon``) -- priced now and carried out now (``skipbasket=on``) or when its basket is paid.

Every charge goes through ``charges`` (discount, tax, the ledger); every
change that needs the outside world is recorded for its module
(``items.record``) in the same transaction.
"""

import json
from dataclasses import dataclass

from .. import charges, errors, ledger
from ..billing import discounts, periods, pricing, tax
from ..billing.money import Money
from . import items, tariffs


def not_sold(name, period):
    return errors.MgrError("value", name, str(period), "msg_error_period_not_sold")


def service_cost(ctx, item, period, changed=None, day=None):
    """The price of one ``period`` of ``item`` in its subaccount's currency, add-ons included (a day's:
    of ``day``); ``changed`` ({add-on id: value}) prices values it does not hold yet."""
    unit = item.cost.currency
    base = tariffs.price(ctx, item.pricelist, period, unit, item.account, day)
    if base is None:
        raise not_sold("period", period)
    offered = tariffs.addons(ctx, item.pricelist, period, unit, item.account, day)
    held = {addon: value for addon, (_, value) in items.values(ctx.db, item.id).items()}
    held.update(changed or {})
    return pricing.service_cost(base, [(offered[addon], value) for addon, value in held.items() if addon in offered])


@dataclass(frozen=True)
class Line:
    """One thing to pay for: ``operation`` of ``item`` for ``period``, or add-on ``addon`` set to ``value``."""

    item: int
    operation: str
    quote: charges.Quote
    period: int | None = None
    addon: int | None = None
    value: int | None = None


def _quote(ctx, item, action, price, period):
    tariff = tariffs.load(ctx.db, item.pricelist)
    return charges.quote(ctx, item.account, discounts.Charge(
        price, action, ctx.clock.now().date(), period, item.intname, item.pricelist, tariff.billdaily))


def opening(ctx, item, period):
    """The order of ``item`` for ``period``; a daily-billed tariff's charges its first day."""
    if tariffs.load(ctx.db, item.pricelist).billdaily:
        period = periods.DAY
    return Line(item.id, "open", _quote(ctx, item, discounts.OPEN, service_cost(ctx, item, period), period), period)


def day_of(ctx, item, day):
    """A daily-billed service's charge for ``day``."""
    price = service_cost(ctx, item, periods.DAY, day=day)
    return Line(item.id, "billdaily", _quote(ctx, item, "billdaily", price, periods.DAY), periods.DAY)


def renewal(ctx, item, period):
    return Line(item.id, "prolong", _quote(ctx, item, discounts.PROLONG, service_cost(ctx, item, period), period),
                period)


def addon_change(ctx, item, addon, value):
    """The Line of setting ``addon`` of ``item`` to ``value``: the difference in price for the rest of what
    is paid for, pro rata by days (a negative quote is money back)."""
    difference = service_cost(ctx, item, item.period, {addon: value}) - service_cost(ctx, item, item.period)
    today = ctx.clock.now().date()
    part = Money.zero(difference.currency)
    if item.expiry and item.period > 0 and item.status in (items.ACTIVE, items.SUSPENDED, items.PROCESSING):
        part = pricing.change_cost(difference, today, item.expiry, item.period, item.anchor_day)
    return Line(item.id, "changeaddon", _quote(ctx, item, "changeaddon", part, item.period), addon=addon, value=value)


def _title(ctx, item):
    tariff = tariffs.load(ctx.db, item.pricelist)
    domain = f" ({item.domain})" if item.domain else ""
    return f"{item.intname} #{item.id} {tariff.title('en')}{domain}", f"{item.intname} #{item.id} " \
        f"{tariff.title('ru')}{domain}"


def carry_out(ctx, line, postpaid=False):
    """Charge ``line`` and make its change; a ``balance`` error (nothing written) when the money is not there."""
    item = items.load(ctx.db, line.item)
    target = ledger.subaccount(ctx.db, item.subaccount)
    name, name_ru = _title(ctx, item)
    today = ctx.clock.now().date()
    if line.operation == "open":
        if item.status != items.ORDERED:
            raise errors.MgrError("value", "item", str(item.id), "msg_error_item_status")
        charges.take(ctx, target, line.quote, "open", name, name_ru, item.id, today.isoformat(), postpaid)
        items.update(ctx, item.id, status=items.PROCESSING, opendate=ctx.clock.stamp(), period=line.period,
                     expiredate=_end(today, line.period, today.day), cost=line.quote.price.minor)
        items.record(ctx, item.id, "open")
    elif line.operation == "prolong":
        if item.status in (items.ORDERED, items.DELETED):
            raise errors.MgrError("value", "item", str(item.id), "msg_error_item_status")
        start = item.expiry or today
        charges.take(ctx, target, line.quote, "prolong", name, name_ru, item.id, start.isoformat(), postpaid)
        items.update(ctx, item.id, expiredate=_end(start, line.period, item.anchor_day), period=line.period,
                     cost=line.quote.price.minor)
        if item.status == items.SUSPENDED:
            items.update(ctx, item.id, status=items.PROCESSING, autosuspend=0)
            items.record(ctx, item.id, "resume")
        items.record(ctx, item.id, "prolong")
    elif line.operation == "billdaily":
        day = item.expiry or today
        charges.take(ctx, target, line.quote, "billdaily", name, name_ru, item.id, day.isoformat(), postpaid)
        items.update(ctx, item.id, expiredate=_end(day, periods.DAY, None))
    else:
        _change_addon(ctx, item, target, line, name, name_ru, postpaid)


def _end(start, period, anchor_day):
    end = periods.period_end(start, period, anchor_day)
    return end and end.isoformat()


def _change_addon(ctx, item, target, line, name, name_ru, postpaid):
    if item.status == items.DELETED:
        raise errors.MgrError("value", "item", str(item.id), "msg_error_item_deleted")
    amount = line.quote.amount
    if amount.minor > 0:
        charges.take(ctx, target, line.quote, "changeaddon", name, name_ru, item.id,
                     ctx.clock.now().date().isoformat(), postpaid)
    elif amount.minor < 0 and tariffs.load(ctx.db, item.pricelist).returnpolicy:
        ledger.post(ctx, target.id, -amount, "correction", ("item", item.id), f"{name}: add-on returned pro rata")
    held = items.values(ctx.db, item.id)
    if line.addon in held:
        ctx.db.execute("UPDATE item SET intvalue = ? WHERE id = ?", (line.value, held[line.addon][0]))
    else:
        add_child(ctx, item, line.addon, line.value)
    items.update(ctx, item.id, cost=service_cost(ctx, item, item.period).minor)
    if item.status != items.ORDERED:      # the module gets --addon ID --value V
        items.record(ctx, item.id, "setparam", json.dumps({"addon": line.addon, "value": line.value}))


def add_child(ctx, item, addon, value):
    ctx.db.execute("INSERT INTO item (account, subaccount, pricelist, itemtype, parent, status, period, createdate, "
                   "intvalue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (item.account, item.subaccount, addon, item.itemtype, item.id, item.status, item.period,
                    ctx.clock.stamp(), value))



def stored_quote(price, discount, off, rate, taxamount, amount):
    """A quote kept in the basket: the charge exactly as the client was shown it."""
    return charges.Quote(price, discount, off, rate, tax.TaxSplit(amount - taxamount, taxamount, amount))
