"""desktop: what a client's start page shows.

One row per subaccount (provider, currency, balance and credit limit as
``12.50 RUB``, status) and, beside the rows, who the client is (``account``,
``name``, ``email``, ``realname``) and its main ``balance`` and
``creditlimit``: those of its active subaccount at its own provider, as the
``account`` list shows them (zero in the provider's currency while it has none).
"""

from ..doc import Cell
from ..lists import sql_list
from ..sqlmoney import shown


def _iso(amount, alias="c"):
    return f"{shown(amount, f'{alias}.minor_units')} || ' ' || {alias}.iso"


def _labels(req):
    return {"status": {"1": Cell(req.msg("status_active"), (("orig", "1"),)),
                       "0": Cell(req.msg("status_suspended"), (("orig", "0"),))}}


def desktop(req):
    account = req.caller.account
    columns = {"id": "s.id", "project": "p.name", "currency": "c.iso", "balance": _iso("s.balance"),
               "creditlimit": _iso("s.creditlimit"), "status": "s.active"}
    doc = sql_list(req, "subaccount s", columns, "s.id",
                   joins="JOIN project p ON p.id = s.project JOIN currency c ON c.id = s.currency",
                   where=["s.account = ?"], args=(account,),
                   labels=req.cached("labels", lambda: _labels(req)))
    row = req.db.execute(
        f"SELECT a.id, a.name, a.email, a.realname, {_iso('coalesce(s.balance, 0)')}, "
        f"{_iso('coalesce(s.creditlimit, 0)')} FROM account a JOIN project p ON p.id = a.project "
        "LEFT JOIN subaccount s ON s.account = a.id AND s.project = a.project AND s.active = 1 "
        "JOIN currency c ON c.id = coalesce(s.currency, p.currency) WHERE a.id = ?", (account,)).fetchone()
    doc.fields.extend(zip(("account", "name", "email", "realname", "balance", "creditlimit"), map(str, row)))
    return doc
