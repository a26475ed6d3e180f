"""Clients: account, account.edit, account.delete, account.su and the per-client
lists account.history, account.validate, account.orders, account.currency."""

from urllib.parse import urlencode

from .. import directory, errors, history, mail, sessions
from ..doc import Cell, Doc
from ..lists import contains, equals, sql_list
from ..passwords import check_policy, hash_password
from ..sqlmoney import shown
from ..store import rows
from . import groups
from .owner import existing_account

ACTIVE, SUSPENDED = 2, 3

_COLUMNS = {
    "id": "a.id",
    "name": "a.name",
    "email": "a.email",
    "project": "p.name",
    # the client's active subaccount at its provider; none yet: zero in the provider's currency
    "balance": shown("coalesce(s.balance, 0)", "c.minor_units"),
    "account_status": "a.status",
    "registration_date": "a.registration_date",
    # properties as a bit set, shown through labels
    "status": "a.verify_email + CASE WHEN a.valid_phone != '' THEN 2 ELSE 0 END + 4 * a.nocalcstat",
}
_JOINS = ("JOIN project p ON p.id = a.project LEFT JOIN subaccount s ON s.account = a.id "
          "AND s.project = a.project AND s.active = 1 JOIN currency c ON c.id = coalesce(s.currency, p.currency)")
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
    return sql_list(req, "account a", _COLUMNS, "a.id", joins=_JOINS,
                    filters=_FILTERS, labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    cursor = req.db.execute(f"SELECT {', '.join(_STORED)} FROM account WHERE id = ?", (elid,))
    row = cursor.fetchone()
    if row is None:
        raise errors.missed("account", elid)
    return dict(zip(_STORED, row))


def _view(req):
    stored = _load(req, existing_account(req))
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
    employee = values.get("employee")   # the employee who looks after the client
    if employee is not None and not req.db.execute(
            "SELECT 1 FROM user WHERE id = ? AND level = 'admin'", (employee,)).fetchone():
        raise errors.missed("employee", employee)


def checked_password(req, login, confirm_required=False):
    """The password of the call, if any, once it matches its confirmation and the policy."""
    password = req.params.get("passwd", "")
    if not password:
        return None
    confirm = req.params.get("confirm")
    if confirm is None and confirm_required:
        raise errors.empty("confirm")
    if confirm is not None and confirm != password:
        raise errors.value("confirm", "", "msg_error_confirm")
    problem = check_policy(password, login)
    if problem:
        raise errors.value("passwd", "", problem)
    return password


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
            values[name] = req.int_param(name)
        else:
            values[name] = text
    return values


def create_account(req, values, password):
    """A new client, its first login (the email) and its provider; returns its id."""
    values = dict(values)
    values.setdefault("name", values.get("realname") or values["email"])
    values.setdefault("project", 1)
    values.setdefault("registration_date", req.clock.stamp())
    try:
        account_id = rows.insert(req.db, "account", values)
        user_id = rows.insert(req.db, "user", {"account": account_id, "name": values["email"], "level": "user",
                                        "passwd": hash_password(password) if password else "",
                                        "email": values["email"], "created": values["registration_date"]})
    except req.store.IntegrityError:
        raise errors.exists("email", values["email"]) from None
    req.db.execute("INSERT INTO account_project (account, project) VALUES (?, ?)", (account_id, values["project"]))
    history.record(req.context, account_id, "created: " + history.describe_changes({}, values))
    _record_validations(req, account_id, values)
    groups.place(req, account_id)
    return account_id, user_id


def update_account(req, account_id, values, password):
    before = _load(req, account_id)
    try:
        if values:
            rows.update(req.db, "account", account_id, values)
        email = values.get("email", before["email"])
        first = req.db.execute("SELECT min(id) FROM user WHERE account = ?", (account_id,)).fetchone()[0]
        req.db.execute("UPDATE user SET name = ?, email = ? WHERE id = ?", (email, email, first))
    except req.store.IntegrityError:
        raise errors.exists("email", values.get("email", "")) from None
    if password:
        req.db.execute("UPDATE user SET passwd = ? WHERE id = ?", (hash_password(password), first))
        values = {**values, "passwd": "***"}
    if values.get("project"):
        req.db.execute("INSERT INTO account_project (account, project) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       (account_id, values["project"]))
    changes = history.describe_changes(before, values)
    if changes:
        history.record(req.context, account_id, changes)
    _record_validations(req, account_id, {k: v for k, v in values.items() if before.get(k) != v})
    groups.place(req, account_id)


def account_edit(req):
    if not req.sok:
        if not req.elid:
            return Doc.form([(name, "") for name in _STORED])
        return _view(req)
    values = _given(req)
    _check_references(req, values)
    if req.elid:
        account_id = existing_account(req)
        login = values.get("email") or _load(req, account_id)["email"]
        update_account(req, account_id, values, checked_password(req, login))
        return Doc.success()
    account_id, user_id = create_account(req, values, checked_password(req, values["email"]))
    if req.params.get("notify") == "on":
        mail.queue_registration(req.context, user_id, values["email"], req.params.get("recovery") == "on")
    return Doc.success(id=account_id)


def account_delete(req):
    """Deletes clients whose subaccounts never held money; one with a journal is refused, since
    deleting it would take its balances, payments and expenses out of the books."""
    for elid in req.params.ids():
        if req.db.execute("SELECT 1 FROM journal j JOIN subaccount s ON s.id = j.subaccount WHERE s.account = ?",
                          (elid,)).fetchone():
            raise errors.MgrError("value", "elid", elid, "msg_error_account_has_money")
        req.db.execute("DELETE FROM user WHERE account = ?", (elid,))
        req.db.execute("DELETE FROM account WHERE id = ?", (elid,))


def _record_validations(req, account_id, values):
    """A verified email or phone is kept as verification information (account.validate)."""
    checks = [("email", values.get("email") or _load(req, account_id)["email"])] if values.get("verify_email") else []
    if values.get("valid_phone"):
        checks.append(("phone", values["valid_phone"]))
    req.db.executemany("INSERT INTO validation (account, kind, value, status, checked) VALUES (?, ?, ?, 1, ?)",
                       [(account_id, kind, value, req.clock.stamp()) for kind, value in checks])


def account_su(req):
    """A one-use key (and the link using it) to log in as the client's first user."""
    account_id = existing_account(req)
    user_id, login = req.db.execute("SELECT id, name FROM user WHERE account = ? ORDER BY id LIMIT 1",
                                    (account_id,)).fetchone()
    key = sessions.new_key(req.db, req.clock, user_id, "login")
    history.record(req.context, account_id, f"logged in as {login}")
    url = f"{req.config.public_url}?{urlencode({'func': 'auth', 'username': login, 'key': key})}"
    return Doc.success(username=login, key=key, url=url)


def _of_account(req):
    """The account a per-client list is about: ``elid`` or ``plid``."""
    return existing_account(req, "elid" if req.params.get("elid") else "plid")


def account_history(req):
    columns = {"id": "h.id", "changedate": "h.changedate", "desc": "h.description", "user": "h.user",
               "ip": "h.ip", "action": "h.action"}
    return sql_list(req, "history h", columns, "h.id DESC", where=["h.account = ?"], args=(_of_account(req),))


def account_validate(req):
    labels = req.cached("labels", lambda: {"kind": {"email": req.msg("kind_email"), "phone": req.msg("kind_phone")},
                                           "status": {"1": Cell(req.msg("status_verified"), (("orig", "1"),))}})
    columns = {"id": "v.id", "kind": "v.kind", "value": "v.value", "status": "v.status", "checked": "v.checked"}
    return sql_list(req, "validation v", columns, "v.id", where=["v.account = ?"], args=(_of_account(req),),
                    labels=labels)


def account_orders(req):
    columns = {"id": "o.id", "createdate": "o.createdate", "info": "o.info", "status": "o.status"}
    return sql_list(req, "account_order o", columns, "o.id", where=["o.account = ?"], args=(_of_account(req),))


def account_currency(req):
    columns = {"id": "c.id", "iso": "c.iso", "name": "c.name",
               "balance": shown("s.balance", "c.minor_units")}
    return sql_list(req, "subaccount s", columns, "c.iso", joins="JOIN currency c ON c.id = s.currency",
                    where=["s.account = ?"], args=(_of_account(req),))
