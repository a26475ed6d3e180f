"""Whose data a call may touch: a client only its own account's, staff any."""

from .. import errors


def client_scope(req):
    """The account a call is confined to: the client's own, or ``plid`` for staff (None: all)."""
    if req.caller.is_client:
        return req.caller.account
    plid = req.params.get("plid")
    if plid:
        if not plid.isdigit() or not req.db.execute("SELECT 1 FROM account WHERE id = ?", (plid,)).fetchone():
            raise errors.missed("account", plid)
        return int(plid)
    return None


def existing_account(req, elid=None):
    """The id of the account ``elid`` (default: the call's elid), or a ``missed`` error."""
    elid = req.elid if elid is None else elid
    if not str(elid).isdigit() or not req.db.execute("SELECT 1 FROM account WHERE id = ?", (elid,)).fetchone():
        raise errors.missed("account", elid)
    return int(elid)
