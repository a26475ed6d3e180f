"""Client groups: accountgroup (+ .edit, .delete, .condition, .condition.edit,
.condition.delete) and a client's memberships: account.group (+ .edit,
.delete, .resume, .suspend).

A group marked automatic holds exactly the clients that meet all its
conditions: ``place`` re-evaluates a client whenever it is created or changed.
"""


from .. import errors, history
from ..doc import Cell, Doc
from ..lists import contains, like_literal, sql_list
from ..store import rows
from .owner import existing_account

# condition field -> SQL expression over the account row "a"
CONDITION_FIELDS = {
    "country": "a.country", "state": "a.state", "project": "a.project", "email": "a.email",
    "name": "a.name", "realname": "a.realname", "label": "a.label", "status": "a.status",
    "verify_email": "a.verify_email", "nocalcstat": "a.nocalcstat", "attitude": "a.attitude",
    "registration_date": "a.registration_date",
}
CONDITION_OPS = {
    "eq": "{} = ?", "ne": "{} != ?", "lt": "{} < ?", "gt": "{} > ?",
    "contains": "lower(CAST({} AS TEXT)) LIKE ? ESCAPE '\\'",
}


def _bound(op, value):
    """The value a condition binds: for ``contains``, a pattern that finds the text literally."""
    return f"%{like_literal(value.lower())}%" if op == "contains" else value


def _predicate(conditions):
    """(SQL over the account row "a", its arguments): true where a client meets every condition.

    A group without conditions holds nobody.
    """
    clauses = [CONDITION_OPS[op].format(CONDITION_FIELDS[field]) for field, op, _ in conditions]
    return " AND ".join(clauses) or "1 = 0", [_bound(op, value) for _, op, value in conditions]


def _sync(req, group_id, name, conditions, account_id=None):
    """Make the members of automatic group ``group_id`` exactly the clients meeting ``conditions``
    (of client ``account_id`` alone, when given), with a history row for each who joins or leaves.

    Set-wise, in a few statements whatever the number of clients, so that the
    writer is held for as short a time as the database allows.
    """
    match, args = _predicate(conditions)
    which, which_args = ("= ?", [account_id]) if account_id is not None else ("IS NOT NULL", [])
    joining = (f"SELECT a.id FROM account a WHERE a.id {which} AND {match} AND NOT EXISTS "
               "(SELECT 1 FROM account_accountgroup m WHERE m.account = a.id AND m.accountgroup = ?)",
               [*which_args, *args, group_id])
    leaving = (f"SELECT m.account AS id FROM account_accountgroup m WHERE m.accountgroup = ? AND m.account {which} "
               f"AND NOT EXISTS (SELECT 1 FROM account a WHERE a.id = m.account AND {match})",
               [group_id, *which_args, *args])
    history.record_each(req, *joining, f"group {name}: added")
    # not "FROM (joining)": an insert reading the table it fills goes quadratic on PostgreSQL once it is analyzed
    req.db.execute(f"INSERT INTO account_accountgroup (accountgroup, account) SELECT ?, a.id FROM account a "
                   f"WHERE a.id {which} AND {match} ON CONFLICT DO NOTHING", [group_id, *which_args, *args])
    history.record_each(req, *leaving, f"group {name}: removed")
    req.db.execute(f"DELETE FROM account_accountgroup WHERE accountgroup = ? AND account IN ({leaving[0]})",
                   [group_id, *leaving[1]])


def _automatic_groups(req, group_id=None):
    """(id, name, conditions) of every automatic group, or of ``group_id`` if it is automatic."""
    only, args = ("AND g.id = ?", (group_id,)) if group_id is not None else ("", ())
    rows = req.db.execute("SELECT g.id, g.name, c.field, c.op, c.value FROM accountgroup g "
                          "LEFT JOIN accountgroup_condition c ON c.accountgroup = g.id "
                          f"WHERE g.auto = 1 {only} ORDER BY g.id, c.id", args).fetchall()
    groups = {}
    for gid, name, field, op, value in rows:
        conditions = groups.setdefault((gid, name), [])
        if field is not None:
            conditions.append((field, op, value))
    return [(gid, name, conditions) for (gid, name), conditions in groups.items()]


def place(req, account_id):
    """Bring the client's membership of every automatic group in line with its conditions."""
    for group_id, name, conditions in _automatic_groups(req):
        _sync(req, group_id, name, conditions, account_id)


def _refill(req, group_id):
    """Re-evaluate every client for one group, after the group or its conditions changed."""
    for _, name, conditions in _automatic_groups(req, group_id):
        _sync(req, group_id, name, conditions)


def _set_member(req, account_id, group_id, name, member):
    if member:
        req.db.execute("INSERT INTO account_accountgroup (account, accountgroup) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (account_id, group_id))
    else:
        req.db.execute("DELETE FROM account_accountgroup WHERE account = ? AND accountgroup = ?",
                       (account_id, group_id))
    history.record(req.context, account_id, f"group {name}: {'added' if member else 'removed'}")


def _group(req, name="elid"):
    """(id, name, note, auto) of the group whose id is in parameter ``name``, or a ``missed`` error."""
    row = req.db.execute("SELECT id, name, note, auto FROM accountgroup WHERE id = ?",
                         (req.int_param(name),)).fetchone()
    if row is None:
        raise errors.missed("accountgroup", req.params.get(name, ""))
    return row


# -- groups ---------------------------------------------------------------

_GROUP_COLUMNS = {"id": "g.id", "name": "g.name", "auto": "g.auto", "note": "g.note",
                  "members": "(SELECT count(*) FROM account_accountgroup m WHERE m.accountgroup = g.id)"}


def accountgroup(req):
    labels = req.cached("labels", lambda: {"auto": {"1": req.msg("auto_on"), "0": req.msg("auto_off")}})
    return sql_list(req, "accountgroup g", _GROUP_COLUMNS, "g.id", filters={"name": contains("g.name")},
                    labels=labels)


def accountgroup_edit(req):
    if not req.sok:
        if not req.elid:
            return Doc.form([("name", ""), ("note", ""), ("auto", "off")])
        _, name, note, auto = _group(req)
        return Doc.form([("elid", req.elid), ("name", name), ("note", note), ("auto", "on" if auto else "off")])
    values = {k: req.params.get(k) for k in ("name", "note") if k in req.params}
    if "auto" in req.params:
        values["auto"] = 1 if req.params.get("auto") == "on" else 0
    try:
        if req.elid:
            group_id = _group(req)[0]
            rows.update(req.db, "accountgroup", group_id, values)
            _refill(req, group_id)
            return Doc.success()
        group_id = rows.insert(req.db, "accountgroup", values)
    except req.store.IntegrityError:
        raise errors.exists("name", values.get("name", "")) from None
    return Doc.success(id=group_id)


def accountgroup_delete(req):
    for elid in req.params.ids():
        req.db.execute("DELETE FROM accountgroup WHERE id = ?", (elid,))


# -- conditions -------------------------------------------------------------

_CONDITION_COLUMNS = {"id": "c.id", "field": "c.field", "op": "c.op", "value": "c.value"}


def _parent_group(req):
    return _group(req, "plid")[0]


def accountgroup_condition(req):
    group_id = _parent_group(req)
    return sql_list(req, "accountgroup_condition c", _CONDITION_COLUMNS, "c.id",
                    where=["c.accountgroup = ?"], args=(group_id,))


def accountgroup_condition_edit(req):
    group_id = _parent_group(req)
    if not req.sok:
        if not req.elid:
            return Doc.form([("field", ""), ("op", "eq"), ("value", "")],
                            [("field", [(f, req.msg(f"field_{f}")) for f in CONDITION_FIELDS]),
                             ("op", [(o, req.msg(f"op_{o}")) for o in CONDITION_OPS])])
        row = req.db.execute("SELECT field, op, value FROM accountgroup_condition WHERE id = ? AND accountgroup = ?",
                             (req.int_param("elid"), group_id)).fetchone()
        if row is None:
            raise errors.missed("condition", req.elid)
        return Doc.form([("elid", req.elid), ("field", row[0]), ("op", row[1]), ("value", row[2])])
    values = (req.params.get("field"), req.params.get("op", "eq"), req.params.get("value", ""))
    if req.elid:
        changed = req.db.execute("UPDATE accountgroup_condition SET field = ?, op = ?, value = ? "
                                 "WHERE id = ? AND accountgroup = ?",
                                 (*values, req.int_param("elid"), group_id)).rowcount
        if not changed:
            raise errors.missed("condition", req.elid)
        new_id = None
    else:
        new_id = rows.insert(req.db, "accountgroup_condition",
                             dict(zip(("accountgroup", "field", "op", "value"), (group_id, *values))))
    _refill(req, group_id)
    return Doc.success(id=new_id) if new_id else Doc.success()


def accountgroup_condition_delete(req):
    group_id = _parent_group(req)
    for elid in req.params.ids():
        req.db.execute("DELETE FROM accountgroup_condition WHERE id = ? AND accountgroup = ?", (elid, group_id))
    _refill(req, group_id)


# -- a client's groups ----------------------------------------------------------

def account_group(req):
    account_id = existing_account(req, "plid")
    labels = req.cached("labels", lambda: {"status": {
        "1": Cell(req.msg("member_yes"), (("orig", "1"),)), "0": Cell(req.msg("member_no"), (("orig", "0"),))}})
    columns = {"id": "g.id", "name": "g.name",   # account_id is an int checked above
               "status": "CASE WHEN EXISTS (SELECT 1 FROM account_accountgroup m WHERE m.accountgroup = g.id "
                         f"AND m.account = {account_id}) THEN 1 ELSE 0 END"}
    return sql_list(req, "accountgroup g", columns, "g.id", labels=labels)


def _membership(req, member):
    account_id = existing_account(req, "plid")
    for elid in req.params.ids():
        row = req.db.execute("SELECT name FROM accountgroup WHERE id = ?", (elid,)).fetchone()
        if row is None:
            raise errors.missed("accountgroup", elid)
        _set_member(req, account_id, elid, row[0], member)


def account_group_resume(req):
    _membership(req, True)


def account_group_suspend(req):
    _membership(req, False)


def account_group_edit(req):
    """Put the client (plid) into the group ``accountgroup``; without sok, show its groups to choose from."""
    account_id = existing_account(req, "plid")
    if not req.sok:
        choices = req.db.execute("SELECT id, name FROM accountgroup ORDER BY name").fetchall()
        return Doc.form([("plid", str(account_id)), ("accountgroup", req.elid)],
                        [("accountgroup", [(str(i), n) for i, n in choices])])
    group_id, name, _, _ = _group(req, "accountgroup" if req.params.get("accountgroup") else "elid")
    _set_member(req, account_id, group_id, name, True)


def account_group_delete(req):
    _membership(req, False)
