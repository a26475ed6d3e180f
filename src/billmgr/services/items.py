"""Items: the services clients own, their add-on values, and the module commands their changes need.

Status codes (DOMAIN.md): 1 ordered, 2 active, 3 suspended, 4 deleted,
5 processing.  A change that needs the outside world (open, suspend,
resume, close, setparam, prolong) records its command as a
``runningoperation`` in the same transaction (``record``); the processing
module carries it out after commit and calls back.  Add-ons are child
items holding their value (``intvalue``: a number, 0/1, or an enumeration
value's id).
"""

from dataclasses import dataclass
from datetime import date

from .. import crypted, errors
from ..billing.currency import currency as iso_currency
from ..billing.money import Money

ORDERED, ACTIVE, SUSPENDED, DELETED, PROCESSING = 1, 2, 3, 4, 5
STATUSES = (ORDERED, ACTIVE, SUSPENDED, DELETED, PROCESSING)
COMMANDS = ("open", "suspend", "resume", "close", "setparam", "prolong")
_COLUMNS = ("i.id", "i.account", "i.subaccount", "i.pricelist", "i.itemtype", "t.intname", "i.status", "i.period",
            "i.autoprolong", "i.cost", "s.currency", "i.createdate", "i.opendate", "i.expiredate", "i.domain",
            "i.processingmodule", "i.autosuspend")


@dataclass(frozen=True)
class Item:
    id: int
    account: int
    subaccount: int
    pricelist: int
    itemtype: int
    intname: str
    status: int
    period: int
    autoprolong: int | None
    cost: Money
    createdate: str
    opendate: str | None
    expiredate: str | None
    domain: str
    processingmodule: str
    autosuspend: bool

    @property
    def expiry(self):
        return self.expiredate and date.fromisoformat(self.expiredate)

    @property
    def anchor_day(self):
        """The day of the month its periods end on (periods.add_months)."""
        return date.fromisoformat(self.opendate[:10]).day if self.opendate else None


def load(db, item, account=None, intname=None):
    """Service ``item`` (not an add-on): of client ``account`` and type ``intname`` when given, else ``missed``."""
    row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM item i JOIN itemtype t ON t.id = i.itemtype "
                     "JOIN subaccount s ON s.id = i.subaccount WHERE i.id = ? AND i.parent IS NULL",
                     (item,)).fetchone()
    if row is None or (account is not None and row[1] != account) or (intname is not None and row[5] != intname):
        raise errors.missed("item", item)
    values = list(row)
    values[9] = Money(values[9], iso_currency(values.pop(10)))
    values[-1] = bool(values[-1])
    return Item(*values)


def values(db, item):
    """{add-on tariff id: (child item id, value)} of ``item``."""
    return {pricelist: (child, value) for child, pricelist, value in db.execute(
        "SELECT id, pricelist, intvalue FROM item WHERE parent = ?", (item,))}


def record(ctx, item, operation, params=""):
    """Queue module command ``operation`` for ``item``, in the caller's transaction."""
    if operation not in COMMANDS:
        raise ValueError(f"unknown module command {operation!r}")
    module = ctx.db.execute("SELECT processingmodule FROM item WHERE id = ?", (item,)).fetchone()[0]
    ctx.db.execute("INSERT INTO runningoperation (item, processingmodule, operation, params, createdate) "
                   "VALUES (?, ?, ?, ?, ?)", (item, module, operation, params, ctx.clock.stamp()))


def pending(db, item):
    """The module commands still to be carried out for ``item``."""
    return [op for (op,) in db.execute("SELECT operation FROM runningoperation WHERE item = ? ORDER BY id",
                                       (item,))]


def save_param(ctx, item, name, value=None, secret=False):
    """Keep param ``name`` of ``item`` (encrypted when ``secret``), or drop it when ``value`` is None."""
    if value is None:
        ctx.db.execute("DELETE FROM item_param WHERE item = ? AND name = ?", (item, name))
        return
    ctx.db.execute("INSERT INTO item_param (item, name, value, crypted) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (item, name) DO UPDATE SET value = excluded.value, crypted = excluded.crypted",
                   (item, name, crypted.encrypt(ctx.config, value) if secret else value, int(secret)))


def update(ctx, item, **values):
    """Set columns of ``item`` (names are the caller's, never a client's)."""
    ctx.db.execute(f"UPDATE item SET {', '.join(f'{name} = ?' for name in values)} WHERE id = ?",
                   (*values.values(), item))
