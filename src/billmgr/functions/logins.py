"""What employees and client logins share: their row in table ``user``.

Both kinds log in the same way (see auth), so a new password is checked and
a login saved by one piece of code; the name is unique across both kinds.
"""


from .. import errors
from ..passwords import hash_password
from ..store import rows
from .account import checked_password


def password_hash(req, login, creating, confirm_required=False):
    """The hash of the call's new password, or None when it sets none; a new login needs one."""
    password = checked_password(req, login, confirm_required)
    if password is None and creating:
        raise errors.empty("passwd")
    return password and hash_password(password)


def save(req, values, login_id=None):
    """Insert a login (``login_id`` None) or update one; returns its id.  A taken name is ``exists``."""
    try:
        if login_id is None:
            return rows.insert(req.db, "user", values)
        if values:
            rows.update(req.db, "user", login_id, values)
        return login_id
    except req.store.IntegrityError:
        raise errors.exists("name", values.get("name", "")) from None


def check_not_self(req, login_id, field="elid"):
    """Refuses what would lock the caller out of its own login."""
    if int(login_id) == req.caller.user:
        raise errors.value(field, str(login_id), "msg_error_self")
