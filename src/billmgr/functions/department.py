"""Departments: department, department.edit, department.delete.

A department has a name in English and Russian, its member employees and the
functions it grants them: any staff function of the registry, plugins'
included.  An employee without ``default_access_allow`` may call the
functions of all its departments together, and nothing else (see auth).
"""


from .. import errors
from ..doc import Doc
from ..lists import localized_name, sql_list
from ..store import rows


def choices(req):
    return [(str(i), name) for i, name in
            req.db.execute(f"SELECT d.id, {localized_name(req.lang, 'd')} FROM department d ORDER BY d.id")]


def of_employee(req, employee_id):
    return [d for (d,) in req.db.execute("SELECT department FROM department_employee WHERE employee = ? "
                                         "ORDER BY department", (employee_id,))]


def _existing_ids(req, param, table, where, kind):
    """The ids listed in ``param`` (comma-separated or repeated), each an existing row of ``table``."""
    ids = []
    for elid in req.params.ids(param):
        if not req.db.execute(f"SELECT 1 FROM {table} WHERE id = ? {where}", (elid,)).fetchone():
            raise errors.missed(kind, elid)
        ids.append(elid)
    return sorted(set(ids))


def existing(req, param):
    """The departments listed in ``param``."""
    return _existing_ids(req, param, "department", "", "department")


def place(req, employee_id, departments):
    """Make ``departments`` exactly the departments of ``employee_id``."""
    req.db.execute("DELETE FROM department_employee WHERE employee = ?", (employee_id,))
    req.db.executemany("INSERT INTO department_employee (department, employee) VALUES (?, ?)",
                       [(department, employee_id) for department in departments])


def _staff_functions(req):
    """The functions a department may grant: every one staff may call, by name."""
    return sorted(name for name, spec in req.registry.functions.items() if "admin" in spec.levels)


def _granted(req):
    names = [name.strip() for value in req.params.getall("functions") for name in value.split(",") if name.strip()]
    allowed = set(_staff_functions(req))
    bad = next((name for name in names if name not in allowed), None)
    if bad is not None:
        raise errors.value("functions", bad)
    return sorted(set(names))


def department(req):
    columns = {"id": "d.id", "name": localized_name(req.lang, 'd'),
               "employees": "(SELECT count(*) FROM department_employee m WHERE m.department = d.id)",
               "functions": "(SELECT count(*) FROM department_function f WHERE f.department = d.id)"}
    return sql_list(req, "department d", columns, "d.id")


def _load(req, elid):
    row = req.db.execute("SELECT id, name, name_ru FROM department WHERE id = ?", (elid,)).fetchone()
    if row is None:
        raise errors.missed("department", elid)
    return row


def _view(req):
    employees = [(str(i), name) for i, name in
                 req.db.execute("SELECT id, name FROM user WHERE level = 'admin' ORDER BY id")]
    functions = [(name, req.registry.message(req.lang, name, "title", name)) for name in _staff_functions(req)]
    slists = [("employee", employees), ("functions", functions)]
    if not req.elid:
        return Doc.form([(name, "") for name in ("name", "name_ru", "employee", "functions")], slists)
    department_id, name, name_ru = _load(req, req.int_param("elid"))
    members = req.db.execute("SELECT employee FROM department_employee WHERE department = ? ORDER BY employee",
                             (department_id,)).fetchall()
    granted = req.db.execute("SELECT func FROM department_function WHERE department = ? ORDER BY func",
                             (department_id,)).fetchall()
    return Doc.form([("elid", req.elid), ("name", name), ("name_ru", name_ru),
                     ("employee", ", ".join(str(m) for (m,) in members)),
                     ("functions", ", ".join(f for (f,) in granted))], slists)


def department_edit(req):
    """Create or change a department; ``employee`` and ``functions``, when given, replace the lists."""
    if not req.sok:
        return _view(req)
    creating = not req.elid
    department_id = None if creating else _load(req, req.int_param("elid"))[0]
    values = {name: req.params.get(name) for name in ("name", "name_ru") if name in req.params}
    try:
        if creating:
            department_id = rows.insert(req.db, "department", values)
        else:
            rows.update(req.db, "department", department_id, values)
    except req.store.IntegrityError:
        raise errors.exists("name", values.get("name", "")) from None
    if "employee" in req.params:
        members = _existing_ids(req, "employee", "user", "AND level = 'admin'", "employee")
        req.db.execute("DELETE FROM department_employee WHERE department = ?", (department_id,))
        req.db.executemany("INSERT INTO department_employee (department, employee) VALUES (?, ?)",
                           [(department_id, member) for member in members])
    if "functions" in req.params:
        granted = _granted(req)
        req.db.execute("DELETE FROM department_function WHERE department = ?", (department_id,))
        req.db.executemany("INSERT INTO department_function (department, func) VALUES (?, ?)",
                           [(department_id, func) for func in granted])
    return Doc.success(id=department_id) if creating else Doc.success()


def department_delete(req):
    for elid in req.params.ids():
        req.db.execute("DELETE FROM department WHERE id = ?", (elid,))
