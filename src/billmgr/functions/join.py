"""account.join: merge one client into another.

Everything the source owns moves to the target -- logins, tickets, orders,
history, verifications, offers, providers, group memberships, personal
discounts, tax rules and currency rates, payments and expenses, and balances
(through the ledger, per provider and currency: see subaccount.merge) --
then the source is deleted and the target's history says so.  Done in the
request's one transaction: all or nothing.
"""

from .. import errors, history
from ..doc import Doc
from . import groups, subaccount
from .owner import existing_account

# tables whose rows simply change owner
_MOVED = ("user", "ticket", "account_order", "history", "validation", "discount", "taxrule", "currencyrate",
          "payment", "expense")
# tables keyed by (account, X): the target keeps its own row where both have one
_MERGED = ("account_project", "account_accountgroup", "account_offer")


def account_join(req):
    source = existing_account(req)
    target = existing_account(req, "account")
    if source == target:
        raise errors.value("account", str(target), "msg_error_join_self")
    source_email = req.db.execute("SELECT email FROM account WHERE id = ?", (source,)).fetchone()[0]
    for table in _MOVED:
        req.db.execute(f"UPDATE {table} SET account = ? WHERE account = ?", (target, source))
    for table in _MERGED:
        columns = ", ".join(_other_columns(req, table))
        req.db.execute(f"INSERT INTO {table} (account, {columns}) SELECT ?, {columns} "
                       f"FROM {table} WHERE account = ? ON CONFLICT DO NOTHING", (target, source))
        req.db.execute(f"DELETE FROM {table} WHERE account = ?", (source,))
    subaccount.merge(req.context, source, target)
    req.db.execute("DELETE FROM list_filter WHERE user = ?", (source_email,))
    req.db.execute("DELETE FROM account WHERE id = ?", (source,))
    history.record(req.context, target, f"client #{source} ({source_email}) merged into this client")
    groups.place(req, target)
    return Doc.success(id=target)


def _other_columns(req, table):
    """The table's columns but ``account``, read from an empty query so it works on every store."""
    cursor = req.db.execute(f"SELECT * FROM {table} WHERE 1 = 0")
    return [column[0] for column in cursor.description if column[0] != "account"]
