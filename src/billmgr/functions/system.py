"""The panel itself: whoami and paramlist."""

from .. import errors
from ..doc import Doc


def whoami(req):
    caller = req.caller
    fields = [("name", caller.name), ("level", caller.level)]
    if caller.account is not None:
        fields.append(("account", str(caller.account)))
    return Doc.form(fields)


def paramlist(req):
    """The settings in force, one row each whose only cell is named after the
    setting (``<elem><LogLevel>info</LogLevel></elem>``): module code reads
    ``paramlist elid=NAME`` as ``elem/NAME``.  A setting without a value is
    left out; an unknown name is ``missed``."""
    settings = [(name, value) for name, value in req.config.settings()]
    if req.elid:
        wanted = req.elid.replace(" ", "_")       # "path db" as billmgr.conf writes it, or path_db
        if all(name != wanted for name, _ in settings):
            raise errors.missed("setting", req.elid)
        settings = [(name, value) for name, value in settings if name == wanted]
    settings = [(name, value) for name, value in settings if value]
    columns = [name for name, _ in settings]
    rows = [[value if column == name else None for column in columns] for name, value in settings]
    return Doc.listing(columns, rows, len(rows), 1, max(len(rows), 1))
