"""Which money rule applies: the stored tax rules, currency rates and discounts
read into billing's values and chosen by billing's pure functions.

Orders and expenses call these in their own transaction (a Context), so the
rule they apply is the one in force when they write.  Choosing is billing's
job (``tax.choose_rule``, ``conversion.rate_for``, ``discounts.choose``);
this module only loads the candidates.
"""

from datetime import date
from decimal import Decimal

from .billing import conversion, discounts, tax
from .billing.currency import currency
from .billing.money import Money
from .clock import Clock


def _set(stored, convert=str):
    """A stored comma-separated set; None (no limit) when not stored."""
    return None if stored is None else frozenset(convert(part) for part in stored.split(","))


def client(ctx, account):
    """Client ``account`` as tax rules see it: its groups, country and state."""
    country, state = ctx.db.execute("SELECT country, state FROM account WHERE id = ?", (account,)).fetchone()
    groups = [group for (group,) in ctx.db.execute(
        "SELECT accountgroup FROM account_accountgroup WHERE account = ?", (account,))]
    return tax.Client(account, groups, country, state)


def tax_rules(ctx, project):
    return [tax.TaxRule(Decimal(rate), id=id_, account=account, group=group, country=country, state=state,
                        itemtypes=_set(itemtypes), included=bool(included))
            for id_, rate, account, group, country, state, itemtypes, included in ctx.db.execute(
                "SELECT id, taxrate, account, accountgroup, country, state, itemtypes, included FROM taxrule "
                "WHERE project = ?", (project,))]


def tax_rule(ctx, account, itemtype):
    """The tax rule for a charge of product type ``itemtype`` to ``account`` at its provider; None: no tax."""
    project = ctx.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    return tax.choose_rule(tax_rules(ctx, project), client(ctx, account), itemtype)


def rates(ctx, source, target, account=None):
    """The global rates, and ``account``'s own, that link two currencies (billing Currency values)."""
    return [conversion.Rate(currency(base), currency(related), Decimal(rate), Clock.parse(ratedate),
                            Decimal(amount), owner, id_)
            for id_, owner, base, related, rate, amount, ratedate in ctx.db.execute(
                "SELECT id, account, currency_base, currency_relate, rate, amount, ratedate FROM currencyrate "
                "WHERE ((currency_base = ? AND currency_relate = ?) OR (currency_base = ? AND currency_relate = ?)) "
                "AND (account IS NULL OR account = ?)",
                (source.numeric, target.numeric, target.numeric, source.numeric, account))]


def rate(ctx, source, target, at=None, account=None):
    """The rate that converts ``source`` into ``target`` at ``at`` (default: now) for ``account``; NoRate if none."""
    return conversion.rate_for(rates(ctx, source, target, account), source, target, at or ctx.clock.now(), account)


def convert(ctx, money, target, at=None, account=None):
    """``money`` in ``target`` at ``at`` (default: now) for ``account``, rounded once."""
    return conversion.convert(money, target, rates(ctx, money.currency, target, account), at or ctx.clock.now(),
                              account)


_ACTIONS = {"all": (discounts.OPEN, discounts.PROLONG), "open": (discounts.OPEN,), "prolong": (discounts.PROLONG,)}


def client_discounts(ctx, account):
    """``account``'s personal discounts as billing values."""
    found = []
    for row in ctx.db.execute("SELECT d.id, d.kind, d.percent, d.amount, d.currency, d.priority, d.actiontype, "
                              "d.periods, d.itemtypes, d.pricelists, d.fromdate, d.todate FROM discount d "
                              "WHERE d.account = ?", (account,)):
        id_, kind, percent, amount, unit, priority, actiontype, periods, itemtypes, pricelists, first, last = row
        found.append(discounts.Discount(
            id_, percent=Decimal(percent) if kind == "percent" else None,
            fixed=Money(amount, currency(unit)) if kind == "fixed" else None, priority=priority, personal=True,
            actions=_ACTIONS[actiontype], periods=_set(periods, int), itemtypes=_set(itemtypes),
            pricelists=_set(pricelists, int), first_day=first and date.fromisoformat(first),
            last_day=last and date.fromisoformat(last)))
    return found


def discount(ctx, account, charge):
    """The discount that applies to ``charge`` (a billing Charge) for ``account``, and the amount it takes off."""
    return discounts.discounted(client_discounts(ctx, account), charge)
