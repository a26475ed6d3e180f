"""Client logins: user, user.edit, user.delete.

``user`` lists the logins of clients with the client they belong to
(``account_id``): every client's for staff, filterable by email, name and
client; a client's own account's for a client.  Staff name one client with
``plid`` to create a login for it.  Employees are not logins of a client
(see employee.py) and never appear here.
"""

from .. import errors
from ..doc import Cell, Doc
from ..lists import equals, matches, sql_list
from . import logins
from .owner import client_scope

_COLUMNS = {"id": "u.id", "name": "u.name", "realname": "u.realname", "email": "u.email",
            "account_id": "u.account", "account": "a.name", "status": "u.enabled", "created": "u.created"}
_FILTERS = {"name": matches("u.name"), "email": matches("u.email"), "account_id": equals("u.account")}
_FIELDS = ("name", "realname", "email", "enabled")


def _scope_sql(account):
    """The clients' logins, all of them or one account's."""
    if account is None:
        return "u.level = 'user'", ()
    return "u.level = 'user' AND u.account = ?", (account,)


def user(req):
    where, args = _scope_sql(client_scope(req))
    labels = req.cached("labels", lambda: {
        "status": {"1": Cell(req.msg("status_on"), (("orig", "1"),)),
                   "0": Cell(req.msg("status_off"), (("orig", "0"),))}})
    return sql_list(req, "user u JOIN account a ON a.id = u.account", _COLUMNS, "u.id", filters=_FILTERS,
                    where=[where], args=args, labels=labels)


def _load(req, account):
    where, args = _scope_sql(account)
    row = req.db.execute(f"SELECT u.id, u.account, {', '.join('u.' + f for f in _FIELDS)} FROM user u "
                         f"WHERE u.id = ? AND {where}", (req.int_param("elid"), *args)).fetchone()
    if row is None:
        raise errors.missed("user", req.elid)
    return dict(zip(("id", "account") + _FIELDS, row))


def user_edit(req):
    account = client_scope(req)
    if not req.sok:
        if not req.elid:
            return Doc.form([(name, "") for name in _FIELDS])
        current = _load(req, account)
        return Doc.form([("elid", req.elid), ("plid", str(current["account"]))] +
                        [(f, ("on" if current[f] else "off") if f == "enabled" else current[f] or "")
                         for f in _FIELDS])
    creating = not req.elid
    if creating and account is None:
        raise errors.empty("plid")
    values = {f: req.params.get(f) for f in ("name", "realname", "email") if f in req.params}
    if "enabled" in req.params:
        values["enabled"] = 1 if req.params.get("enabled") == "on" else 0
    current = None if creating else _load(req, account)
    if current and values.get("enabled") == 0:
        logins.check_not_self(req, current["id"], "enabled")
    passwd = logins.password_hash(req, values.get("name") or (current and current["name"]), creating)
    if passwd:
        values["passwd"] = passwd
    if creating:
        values.update(account=account, level="user", created=req.clock.stamp())
        return Doc.success(id=logins.save(req, values))
    logins.save(req, values, current["id"])
    return Doc.success()


def user_delete(req):
    where, args = _scope_sql(client_scope(req))
    for elid in req.params.ids():
        logins.check_not_self(req, elid)
        req.db.execute(f"DELETE FROM user WHERE id IN (SELECT u.id FROM user u WHERE u.id = ? AND {where})",
                       (elid, *args))
