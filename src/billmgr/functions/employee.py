"""Staff: employee, employee.edit, employee.delete, employee.suspend, employee.resume.

Employees are the rows of ``user`` with level ``admin`` (and no account).
One with ``default_access_allow`` may call every staff function, one without
it only what its departments grant (department.py); one without
``all_ip_access`` may log in only from its ``ip_access`` networks (auth.py).

Creating an employee, each restriction follows from what the call gives: with
``department`` it gets its departments' rights (else full access), with
``ip_access`` only those networks (else any address), unless the call says
otherwise with ``default_access_allow`` / ``all_ip_access``.
"""

from .. import errors
from ..auth import networks, within
from ..doc import Doc
from ..lists import Filter, localized_name, matches, sql_list
from . import department, logins

_TEXT = ("name", "realname", "position", "email", "phone", "ip_access")
_FLAGS = ("default_access_allow", "all_ip_access")
# properties as a bit set, shown through labels
_STATUS = "(1 - u.enabled) | (u.default_access_allow << 1) | ((1 - u.all_ip_access) << 2)"
_PROPERTIES = ("status_suspended", "status_full_access", "status_ip_limited")
_FILTERS = {"name": matches("u.name"), "realname": matches("u.realname"), "email": matches("u.email"),
            "department": Filter("EXISTS (SELECT 1 FROM department_employee m "
                                 "WHERE m.employee = u.id AND m.department = ?)")}


def _columns(req):
    names = localized_name(req.lang, 'd')
    return {"id": "u.id", "name": "u.name", "realname": "u.realname", "email": "u.email",
            "department": f"(SELECT {req.store.dialect.joined(names)} FROM department_employee m JOIN department d "
                          f"ON d.id = m.department WHERE m.employee = u.id)",
            "status": _STATUS}


def _labels(req):
    return {"status": {str(bits): ", ".join(req.msg(word) for i, word in enumerate(_PROPERTIES) if bits >> i & 1)
                       for bits in range(1 << len(_PROPERTIES))}}


def employee(req):
    return sql_list(req, "user u", _columns(req), "u.id", filters=_FILTERS, where=["u.level = 'admin'"],
                    labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    names = ("id", "enabled", *_TEXT, *_FLAGS)
    row = req.db.execute(f"SELECT {', '.join(names)} FROM user WHERE id = ? AND level = 'admin'",
                         (elid,)).fetchone()
    if row is None:
        raise errors.missed("employee", elid)
    return dict(zip(names, row))


def _view(req):
    slists = [("department", department.choices(req))]
    if not req.elid:
        return Doc.form([(name, "") for name in (*_TEXT, "department", *_FLAGS)], slists)
    current = _load(req, req.int_param("elid"))
    return Doc.form([("elid", req.elid), *((name, current[name]) for name in _TEXT),
                     ("department", ", ".join(map(str, department.of_employee(req, current["id"])))),
                     *((name, "on" if current[name] else "off") for name in _FLAGS)], slists)


def _normal_networks(text):
    try:
        return ", ".join(str(network) for network in networks(text))
    except ValueError:
        raise errors.value("ip_access", text) from None


def _given(req, creating, departments):
    """The columns the call sets, with the defaults of a new employee."""
    values = {name: req.params.get(name) for name in _TEXT if name in req.params}
    values.update({name: int(req.params.get(name) == "on") for name in _FLAGS if name in req.params})
    if "ip_access" in values:
        values["ip_access"] = _normal_networks(values["ip_access"])
    if creating:
        values.setdefault("default_access_allow", int(not departments))
        values.setdefault("all_ip_access", int(not values.get("ip_access")))
    return values


def _keep_own_access(req, current, after):
    """An employee may not take away its own full access or its own address."""
    if current["default_access_allow"] and not after["default_access_allow"]:
        raise errors.value("default_access_allow", "off", "msg_error_self")
    if not after["all_ip_access"] and not within(req.caller.address, after["ip_access"]):
        raise errors.value("ip_access", after["ip_access"], "msg_error_self")


def employee_edit(req):
    if not req.sok:
        return _view(req)
    creating = not req.elid
    current = None if creating else _load(req, req.int_param("elid"))
    departments = department.existing(req, "department") if "department" in req.params else None
    values = _given(req, creating, departments)
    after = {"ip_access": "", **(current or {}), **values}
    if not after["all_ip_access"] and not after["ip_access"]:
        raise errors.empty("ip_access")
    if current and current["id"] == req.caller.user:
        _keep_own_access(req, current, after)
    passwd = logins.password_hash(req, after.get("name"), creating, confirm_required=True)
    if passwd:
        values["passwd"] = passwd
    if creating:
        values.update(level="admin", created=req.clock.stamp())
    employee_id = logins.save(req, values, None if creating else current["id"])
    if departments is not None:
        department.place(req, employee_id, departments)
    return Doc.success(id=employee_id) if creating else Doc.success()


def employee_delete(req):
    for elid in req.params.ids():
        logins.check_not_self(req, elid)
        if req.db.execute("DELETE FROM user WHERE id = ? AND level = 'admin'", (elid,)).rowcount:
            req.db.execute("UPDATE account SET employee = NULL WHERE employee = ?", (elid,))


def _set_enabled(req, enabled):
    for elid in req.params.ids():
        if not enabled:
            logins.check_not_self(req, elid)
        req.db.execute("UPDATE user SET enabled = ? WHERE id = ? AND level = 'admin'", (enabled, elid))


def employee_suspend(req):
    """Stops an employee logging in; its open sessions stop working at once."""
    _set_enabled(req, 0)


def employee_resume(req):
    _set_enabled(req, 1)
