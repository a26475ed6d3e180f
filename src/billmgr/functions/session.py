"""Logging in: auth (password or one-use key) and session.newkey."""

from .. import errors, sessions
from ..doc import Cell, Doc


def auth(req):
    """A new session for a login and password, or for a one-use key.

    Runs on a read transaction and opens its own small write transactions:
    a failed attempt must be recorded (for the throttle) even though the
    call itself answers with an error.
    """
    name = req.params.get("username", "")
    address = req.caller.address
    key = req.params.get("key")
    if key:
        caller = req.auth.login_with_key(name, key, address)
    else:
        caller = req.auth.login(name, req.params.get("password", ""), address)
    sid = req.auth.open_session(caller)
    doc = Doc.form([("auth", Cell(sid, (("id", sid), ("level", caller.level))))])
    doc.session = sid
    return doc


def session_newkey(req):
    """Lets a login in once with a key the admin chose (or one made up here)."""
    nocase = req.store.dialect.nocase
    row = req.db.execute(f"SELECT id FROM user WHERE {nocase('name')} = {nocase('?')} AND enabled = 1",
                         (req.params.get("username"),)).fetchone()
    if row is None:
        raise errors.missed("user", req.params.get("username"))
    key = sessions.new_key(req.db, req.clock, row[0], "login", req.params.get("key") or None)
    return Doc.success(key=key)
