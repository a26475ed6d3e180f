"""Processing modules as staff set them up: processing, processing.edit, processing.delete, processing.check.

A processing module row names an installed module (its executable, ``module``) and keeps its
connection params: those ``features`` declares and the fields of the module's
``processing.edit.<module>`` form.  A crypted one (``crypted="yes"`` in features, or a private
field) is stored encrypted and shown back as ``***`` when set; sending ``***`` keeps it.
``processing.edit elid`` shows the params as children of ``doc``, as modules read them.
"""

from .. import crypted, errors
from ..doc import Cell, Doc
from ..lists import contains, sql_list
from ..modules import processing as modules
from ..store import rows
from ..validation import check_field

SET = "***"


def processing(req):
    columns = {"id": "m.id", "name": "m.name", "module": "m.module", "state": "m.module",
               "services": "(SELECT count(*) FROM item i WHERE i.processingmodule = CAST(m.id AS TEXT) "
                           "AND i.status <> 4)"}
    states = {name: Cell(req.msg("state_absent"), (("orig", "broken"),))
              for (name,) in req.db.execute("SELECT DISTINCT module FROM processingmodule")}
    states.update((name, Cell(module.problem or req.msg("state_ok"), (("orig", "broken" if module.problem else "ok"),)))
                  for name, module in req.processing.items())
    return sql_list(req, "processingmodule m", columns, "m.id",
                    filters={"name": contains("m.name"), "module": contains("m.module")},
                    labels={"state": states})


def declared(req, module):
    """{name: crypted} of the connection params of installed module ``module``: its features' and its form's."""
    params = dict(req.processing[module].params) if module in req.processing else {}
    form = req.registry.parts.get(f"processing.edit.{module}")
    for field in form.fields if form else ():
        params[field.name] = params.get(field.name, False) or field.private
    return params


def _load(req, elid):
    row = req.db.execute("SELECT name, module FROM processingmodule WHERE id = ?", (elid,)).fetchone()
    if row is None:
        raise errors.missed("processingmodule", elid)
    return row


def _choices(req):
    return [("module", [(name, name) for name, module in sorted(req.processing.items()) if not module.problem])]


def processing_edit(req):
    elid = req.int_param("elid")
    if not req.sok:
        if elid is None:
            return Doc.form([("name", ""), ("module", "")], _choices(req))
        name, module = _load(req, elid)
        params = {n: "" for n in declared(req, module)}
        params.update((n, SET if secret and value else value)
                      for n, value, secret in modules.stored_params(req.db, elid))
        return Doc.form([("elid", str(elid)), ("name", name), ("module", module), *params.items()], _choices(req))
    if elid is None:
        module = req.params.get("module", "")
        if not module:
            raise errors.empty("module")
        if module not in req.processing or req.processing[module].problem:
            raise errors.value("module", module, "msg_error_module_unusable")
        if not req.params.get("name"):
            raise errors.empty("name")
        elid = rows.insert(req.db, "processingmodule", {"name": req.params.get("name"), "module": module,
                                                        "createdate": req.clock.stamp()})
        created = True
    else:
        name, module = _load(req, elid)
        if req.params.get("module", module) != module:
            raise errors.value("module", req.params.get("module"), "msg_error_module_fixed")
        if "name" in req.params:
            if not req.params.get("name"):
                raise errors.empty("name")
            rows.update(req.db, "processingmodule", elid, {"name": req.params.get("name")})
        created = False
    _save_params(req, elid, module, created)
    return Doc.success(id=elid) if created else Doc.success()


def _save_params(req, elid, module, creating):
    form = req.registry.parts.get(f"processing.edit.{module}")
    for field in form.fields if form else ():
        if not (field.private and req.params.get(field.name) == SET):
            check_field(field, req.params, creating)
    for name, secret in declared(req, module).items():
        value = req.params.get(name)
        if value is None or (secret and value == SET):
            continue
        req.db.execute("INSERT INTO processingmodule_param (processingmodule, name, value, crypted) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (processingmodule, name) DO UPDATE "
                       "SET value = excluded.value, crypted = excluded.crypted",
                       (elid, name, crypted.encrypt(req.config, value) if secret and value else value, int(secret)))


def processing_delete(req):
    """Deletes modules no tariff and no live service uses; one in use is a ``value`` error."""
    for elid in req.params.ids():
        _load(req, elid)
        used = req.db.execute(
            "SELECT (SELECT count(*) FROM pricelist WHERE processingmodule = ?) + "
            "(SELECT count(*) FROM item WHERE processingmodule = ? AND status <> 4)",
            (str(elid), str(elid))).fetchone()[0]
        if used:
            raise errors.MgrError("value", "elid", elid, "msg_error_module_in_use")
        req.db.execute("DELETE FROM processingmodule WHERE id = ?", (elid,))


def processing_check(req):
    """Runs the module's ``check_connection`` with the stored params; its error is the reply's."""
    elid = req.int_param("elid")
    if elid is None:
        raise errors.empty("elid")
    _, module = _load(req, elid)
    installed = req.processing.get(module)
    if installed is None or installed.problem:
        raise errors.value("module", module, "msg_error_module_unusable")
    if not installed.does("check_connection"):
        return Doc.success()
    stdin = modules.connection_doc(elid, modules.clear_params(req.db, req.config, elid))
    try:
        modules.run(installed.path, req.config, ["--command", "check_connection", "--module", str(elid)], stdin,
                    modules.FEATURES_TIMEOUT)
    except modules.ModuleError as exc:
        raise errors.MgrError("plugin", module, module, text=str(exc)) from None
    return Doc.success()
