"""Tax: which rule applies to a charge, and how much of the charge is tax.

BILLmanager's tax is included in the amount: of a gross ``AMOUNT`` at
``RATE`` percent, ``tax = AMOUNT − AMOUNT / ((100 + RATE) / 100)``.  A rule
may instead add tax on top (``included=False``, ours: for providers whose
prices are quoted net): ``tax = AMOUNT × RATE / 100``.  Either way the tax is
rounded once and the other part is the exact difference, so net + tax is
the gross to the minor unit.

The rule that applies is the most specific one that fits: the client's own,
then its group's, then its country and state, then its country, then the
provider's default.  The caller passes only the provider's rules.
"""

from dataclasses import dataclass
from decimal import Decimal

from .decimals import as_decimal, exact
from .errors import InvalidValue
from .money import Money
from .rounding import fix


@dataclass(frozen=True)
class TaxSplit:
    net: Money
    tax: Money
    gross: Money


def split(amount, rate, included=True):
    """Net, tax and gross of ``amount`` (the gross when ``included``, the net otherwise) at ``rate`` percent."""
    rate = _rate(rate)
    with exact():
        if included:
            tax = fix(amount.amount - amount.amount / ((100 + rate) / 100), amount.currency)
            return TaxSplit(amount - tax, tax, amount)
        tax = fix(amount.amount * rate / 100, amount.currency)
        return TaxSplit(amount, tax, amount + tax)


def _rate(rate):
    rate = as_decimal(rate, "tax rate")
    if rate < 0:
        raise InvalidValue(f"a tax rate is a percent of 0 or more, not {rate}")
    return rate


@dataclass(frozen=True)
class Client:
    """What tax rules look at: who the client is and where."""

    account: int
    groups: frozenset = frozenset()
    country: int | None = None
    state: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "groups", frozenset(self.groups))


@dataclass(frozen=True)
class TaxRule:
    """One rule of a provider.  The scope fields that are set must all match the client;
    ``itemtypes`` (``specialitemtype=on``) limits it to those product types."""

    rate: Decimal
    id: int = 0
    account: int | None = None
    group: int | None = None
    country: int | None = None
    state: int | None = None
    itemtypes: frozenset | None = None
    included: bool = True

    def __post_init__(self):
        _rate(self.rate)
        if self.itemtypes is not None:
            object.__setattr__(self, "itemtypes", frozenset(self.itemtypes))
        if self.state is not None and self.country is None:
            raise InvalidValue("a tax rule for a state names its country too")

    @property
    def level(self):
        """Specificity: client 4, group 3, country + state 2, country 1, provider default 0."""
        if self.account is not None:
            return 4
        if self.group is not None:
            return 3
        if self.state is not None:
            return 2
        return 1 if self.country is not None else 0

    def fits(self, client, itemtype):
        return (
            self.account in (None, client.account)
            and (self.group is None or self.group in client.groups)
            and self.country in (None, client.country)
            and self.state in (None, client.state)
            and (self.itemtypes is None or itemtype in self.itemtypes)
        )

    def split(self, amount):
        return split(amount, self.rate, self.included)


def choose_rule(rules, client, itemtype):
    """The rule for a charge of ``itemtype`` to ``client``, or None when none fits (no tax).

    Ours where DOMAIN.md is silent: a rule limited to other product types does
    not fit, so the choice falls to the next level; at one level a rule limited
    to this product type beats an unlimited one, then the oldest (lowest id) wins.
    """
    fitting = [rule for rule in rules if rule.fits(client, itemtype)]
    return max(fitting, key=lambda rule: (rule.level, rule.itemtypes is not None, -rule.id), default=None)
