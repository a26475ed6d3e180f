"""Saved list filters: ``<list>.filter`` for any list that declares filter fields, and account.setfilter.

One handler serves them all: the list is the function's name less
``.filter``, the fields are the list's own ``<filter>`` fields (checked as
the list checks them), and the values are kept per user and per list.  The
list engine applies them on every call that does not bring its own
``filter=on`` values (``lists.saved_filter``), until they are cleared: the
form sent with no values.
"""

from ..doc import Doc
from ..lists import save_filter, saved_filter
from ..validation import check_field


def _save(req, name):
    fields = req.registry.get(name).filters
    for field in fields:
        check_field(field, req.params, creating=False)
    save_filter(req.db, req.caller.name, name, [(field.name, req.params.get(field.name)) for field in fields])


def list_filter(req):
    """``<list>.filter``: the saved values as a form, or (``sok``) the values saved."""
    name = req.spec.name.removesuffix(".filter")
    if not req.sok:
        current = saved_filter(req.db, req.caller.name, name)
        return Doc.form([(field.name, current.get(field.name, "")) for field in req.registry.get(name).filters])
    _save(req, name)


account_filter = account_payment_filter = subaccount_expense_filter = list_filter


def account_setfilter(req):
    _save(req, "account")
