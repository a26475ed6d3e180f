"""Saved list filters: account.filter (the form) and account.setfilter.

A filter is kept per user and per list; the list applies it on every call
that does not bring its own ``filter=on`` values, until it is cleared
(``account.setfilter`` with no values, or the form sent empty).
"""

import json

from ..doc import Doc
from ..protocol import scrub

ACCOUNT_FILTER = ("name", "email", "status")


def saved(req, func):
    """The values saved for list ``func`` by the caller, as (name, value) pairs.

    Cleaned of text with no UTF-8 form, which the JSON could hold when it was
    saved before the dispatcher refused such parameters.
    """
    row = req.db.execute("SELECT params FROM list_filter WHERE user = ? AND func = ?",
                         (req.caller.name, func)).fetchone()
    return [(scrub(name), scrub(value)) for name, value in json.loads(row[0])] if row else []


def _save(req, func, fields):
    values = [(name, req.params.get(name)) for name in fields if req.params.get(name)]
    if values:
        req.db.execute("INSERT OR REPLACE INTO list_filter (user, func, params) VALUES (?, ?, ?)",
                       (req.caller.name, func, json.dumps(values)))
    else:
        req.db.execute("DELETE FROM list_filter WHERE user = ? AND func = ?", (req.caller.name, func))


def account_filter(req):
    if not req.sok:
        current = dict(saved(req, "account"))
        return Doc.form([(name, current.get(name, "")) for name in ACCOUNT_FILTER])
    _save(req, "account", ACCOUNT_FILTER)


def account_setfilter(req):
    _save(req, "account", ACCOUNT_FILTER)
