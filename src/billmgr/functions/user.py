"""Users: staff (user, user.edit, user.delete for admins) and a client's own logins.

Staff see staff users, or a client's users with ``plid=ACCOUNT``; a client
sees and manages only the users of its own account.
"""

import sqlite3

from .. import errors
from ..doc import Cell, Doc
from ..lists import contains, sql_list
from ..passwords import check_policy, hash_password
from .owner import client_scope

_COLUMNS = {"id": "u.id", "name": "u.name", "realname": "u.realname", "email": "u.email",
            "level": "u.level", "status": "u.enabled", "created": "u.created"}
_FIELDS = ("name", "realname", "email", "enabled")


def _scope_sql(account):
    return ("u.account IS NULL", ()) if account is None else ("u.account = ?", (account,))


def user(req):
    where, args = _scope_sql(client_scope(req))
    labels = req.cached("labels", lambda: {
        "status": {"1": Cell(req.msg("status_on"), (("orig", "1"),)),
                   "0": Cell(req.msg("status_off"), (("orig", "0"),))},
        "level": {"admin": req.msg("level_admin"), "user": req.msg("level_user")}})
    return sql_list(req, "user u", _COLUMNS, "u.id", filters={"name": contains("u.name")},
                    where=[where], args=args, labels=labels)


def _load(req, account):
    where, args = _scope_sql(account)
    row = req.db.execute(f"SELECT u.id, {', '.join('u.' + f for f in _FIELDS)} FROM user u "
                         f"WHERE u.id = ? AND {where}", (req.int_param("elid"), *args)).fetchone()
    if row is None:
        raise errors.missed("user", req.elid)
    return dict(zip(("id",) + _FIELDS, row))


def _password(req, login, creating):
    password = req.params.get("passwd", "")
    if not password:
        if creating:
            raise errors.empty("passwd")
        return None
    if req.params.get("confirm") is not None and req.params.get("confirm") != password:
        raise errors.value("confirm", "", "msg_error_confirm")
    problem = check_policy(password, login)
    if problem:
        raise errors.value("passwd", "", problem)
    return hash_password(password)


def user_edit(req):
    account = client_scope(req)
    if not req.sok:
        if not req.elid:
            return Doc.form([(name, "") for name in _FIELDS])
        current = _load(req, account)
        return Doc.form([("elid", req.elid)] + [(f, "on" if f == "enabled" and current[f] else
                                                   "off" if f == "enabled" else current[f] or "")
                                                  for f in _FIELDS])
    creating = not req.elid
    values = {f: req.params.get(f) for f in ("name", "realname", "email") if f in req.params}
    if "enabled" in req.params:
        values["enabled"] = 1 if req.params.get("enabled") == "on" else 0
    if not creating:
        current = _load(req, account)
        if values.get("enabled") == 0 and current["id"] == req.caller.user:
            raise errors.value("enabled", "off", "msg_error_self")
    login = values.get("name") or (None if creating else current["name"])
    passwd = _password(req, login, creating)
    if passwd:
        values["passwd"] = passwd
    try:
        if creating:
            values.update(account=account, level="admin" if account is None else "user",
                          created=req.clock.stamp())
            cursor = req.db.execute(f"INSERT INTO user ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                                    tuple(values.values()))
            return Doc.success(id=cursor.lastrowid)
        if values:
            req.db.execute(f"UPDATE user SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                           (*values.values(), current["id"]))
    except sqlite3.IntegrityError:
        raise errors.exists("name", values.get("name", "")) from None
    return Doc.success()


def user_delete(req):
    account = client_scope(req)
    where, args = _scope_sql(account)
    for elid in req.params.ids():
        if elid == req.caller.user:
            raise errors.value("elid", elid, "msg_error_self")
        req.db.execute(f"DELETE FROM user WHERE id IN (SELECT u.id FROM user u WHERE u.id = ? AND {where})",
                       (elid, *args))
