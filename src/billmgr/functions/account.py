"""Clients: account, account.edit, account.delete."""

import sqlite3

from .. import directory, errors
from ..doc import Cell, Doc
from ..lists import contains, equals, sql_list
from ..passwords import hash_password
from ..store.outbox import enqueue

ACTIVE, SUSPENDED = 2, 3

_COLUMNS = {
    "id": "a.id",
    "name": "a.name",
    "email": "a.email",
    "project": "p.name",
    "balance": "'0.00'",
    "account_status": "a.status",
    "registration_date": "a.registration_date",
    # properties as a bit set, shown through labels
    "status": "a.verify_email | ((a.valid_phone != '') << 1) | (a.nocalcstat << 2)",
}
_FILTERS = {"name": contains("a.name"), "email": contains("a.email"), "status": equals("a.status")}

# form field -> how it is stored: "text", "int" or "flag"
_STORED = {
    "email": "text", "verify_email": "flag", "project": "int", "country": "int", "state": "int",
    "realname": "text", "name": "text", "settingurl": "text", "valid_phone": "text",
    "try_phone": "text", "label": "text", "selfview": "text", "products_page": "int",
    "registration_date": "text", "registration_ip": "text", "attitude": "int",
    "employee": "int", "nocalcstat": "flag", "note": "text",
}
_PROPERTIES = ("email_verified", "phone_verified", "nocalcstat")  # bit 0, 1, 2


def _labels(req):
    statuses = {str(code): Cell(req.msg(word), (("orig", str(code)),))
                for code, word in ((ACTIVE, "status_active"), (SUSPENDED, "status_suspended"))}
    properties = {str(bits): ", ".join(req.msg(word) for i, word in enumerate(_PROPERTIES) if bits >> i & 1)
                  for bits in range(1 << len(_PROPERTIES))}
    return {"account_status": statuses, "status": properties}


def account(req):
    return sql_list(req, "account a JOIN project p ON p.id = a.project", _COLUMNS, "a.id",
                    filters=_FILTERS, labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    cursor = req.db.execute(f"SELECT {', '.join(_STORED)} FROM account WHERE id = ?", (elid,))
    row = cursor.fetchone()
    if row is None:
        raise errors.missed("account", elid)
    return dict(zip(_STORED, row))


def _view(req):
    stored = _load(req, req.elid)
    fields = [("elid", req.elid)]
    for name, kind in _STORED.items():
        value = stored[name]
        if kind == "flag":
            value = "on" if value else "off"
        fields.append((name, "" if value is None else str(value)))
    projects = req.db.execute("SELECT id, name FROM project ORDER BY id").fetchall()
    slists = [("project", [(str(i), n) for i, n in projects]),
              ("country", directory.countries(req.lang))]
    return Doc.form(fields, slists)


def _check_references(req, values):
    project = values.get("project")
    if project is not None and not req.db.execute(
            "SELECT 1 FROM project WHERE id = ?", (project,)).fetchone():
        raise errors.missed("project", project)
    country = values.get("country")
    if country is not None and directory.country(country) is None:
        raise errors.value("country", country)
    employee = values.get("employee")
    if employee is not None and not req.db.execute(
            "SELECT 1 FROM user WHERE id = ? AND level = 'admin'", (employee,)).fetchone():
        raise errors.missed("employee", employee)
    password = req.params.get("passwd")
    confirm = req.params.get("confirm")
    if password and confirm is not None and confirm != password:
        raise errors.value("confirm", "", "msg_error_confirm")


def _given(req):
    """The stored fields the call sets, converted to their column values."""
    values = {}
    for name, kind in _STORED.items():
        if name not in req.params:
            continue
        text = req.params.get(name)
        if kind == "flag":
            values[name] = 1 if text == "on" else 0
        elif kind == "int":
            values[name] = int(text) if text else None
        else:
            values[name] = text
    return values


def _save(req, values):
    try:
        if req.elid:
            _load(req, req.elid)
            if values:
                assignments = ", ".join(f"{name} = ?" for name in values)
                req.db.execute(f"UPDATE account SET {assignments} WHERE id = ?",
                               (*values.values(), req.elid))
            return int(req.elid)
        values.setdefault("name", values.get("realname") or values["email"])
        values.setdefault("project", 1)
        values.setdefault("registration_date", req.clock.stamp())
        columns = ", ".join(values)
        cursor = req.db.execute(f"INSERT INTO account ({columns}) VALUES ({', '.join('?' * len(values))})",
                                tuple(values.values()))
        return cursor.lastrowid
    except sqlite3.IntegrityError as exc:
        if "email" in str(exc):
            raise errors.exists("email", values.get("email", "")) from None
        raise


def _save_user(req, account_id, creating):
    """The client's login user: its name follows the account's email."""
    email = req.db.execute("SELECT email FROM account WHERE id = ?", (account_id,)).fetchone()[0]
    password = req.params.get("passwd")
    try:
        if creating:
            req.db.execute("INSERT INTO user (account, name, level, passwd, email) VALUES (?, ?, 'user', ?, ?)",
                           (account_id, email, hash_password(password) if password else "", email))
            return
        first = req.db.execute("SELECT min(id) FROM user WHERE account = ?", (account_id,)).fetchone()[0]
        req.db.execute("UPDATE user SET name = ?, email = ? WHERE id = ?", (email, email, first))
        if password:
            req.db.execute("UPDATE user SET passwd = ? WHERE id = ?", (hash_password(password), first))
    except sqlite3.IntegrityError:
        raise errors.exists("email", email) from None


def account_edit(req):
    if not req.sok:
        if not req.elid:
            return Doc.form([(name, "") for name in _STORED])
        return _view(req)
    values = _given(req)
    _check_references(req, values)
    creating = not req.elid
    account_id = _save(req, values)
    _save_user(req, account_id, creating)
    if req.params.get("notify") == "on":
        enqueue(req.db, req.clock, "mail", {"template": "registration", "account": account_id,
                                             "recovery": req.params.get("recovery") == "on"})
    return Doc.success(id=account_id) if creating else Doc.success()


def account_delete(req):
    ids = req.params.ids()
    bad = next((elid for elid in ids if not elid.isdigit()), None)
    if bad is not None:
        raise errors.value("elid", bad)
    for elid in ids:
        req.db.execute("DELETE FROM user WHERE account = ?", (elid,))
        req.db.execute("DELETE FROM account WHERE id = ?", (elid,))
