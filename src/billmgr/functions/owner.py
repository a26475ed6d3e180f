"""Whose data a call may touch: a client only its own account's, staff any."""

from .. import errors


def client_scope(req):
    """The account a call is confined to: the client's own, or ``plid`` for staff (None: all)."""
    if req.caller.is_client:
        return req.caller.account
    if req.int_param("plid") is None:
        return None
    return existing_account(req, "plid")


def existing_account(req, name="elid"):
    """The id of the account in parameter ``name``: a ``value`` error if it is no id, ``missed`` if absent."""
    account_id = req.int_param(name)
    if account_id is None or not req.db.execute("SELECT 1 FROM account WHERE id = ?", (account_id,)).fetchone():
        raise errors.missed("account", req.params.get(name, ""))
    return account_id
