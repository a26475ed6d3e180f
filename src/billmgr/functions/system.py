"""The panel itself: whoami and paramlist."""

from ..doc import Doc


def whoami(req):
    caller = req.caller
    fields = [("name", caller.name), ("level", caller.level)]
    if caller.account is not None:
        fields.append(("account", str(caller.account)))
    return Doc.form(fields)


def paramlist(req):
    rows = [(name, value) for name, value in req.config.items()]
    return Doc.listing(req.spec.column_names, rows, len(rows), 1, max(len(rows), 1))
