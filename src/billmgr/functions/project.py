"""Providers: project (+ .edit, .delete) and the providers open to a client:
account.project (+ .resume, .suspend)."""


from .. import errors, history
from ..doc import Cell, Doc
from ..lists import contains, sql_list
from ..store import rows
from .currency import enabled_choices, known
from .owner import existing_account

ACTIVE, SUSPENDED = 2, 3


def _status_labels(req):
    return {"2": Cell(req.msg("status_active"), (("orig", "2"),)),
            "3": Cell(req.msg("status_suspended"), (("orig", "3"),))}


def project(req):
    columns = {"id": "p.id", "name": "p.name", "status": "p.status", "currency_str": "c.iso",
               "accounts": "(SELECT count(*) FROM account a WHERE a.project = p.id)"}
    return sql_list(req, "project p JOIN currency c ON c.id = p.currency", columns, "p.id",
                    filters={"name": contains("p.name")},
                    labels=req.cached("labels", lambda: {"status": _status_labels(req)}))


def project_edit(req):
    if not req.sok:
        choices = [("currency", enabled_choices(req.db, req.lang))]
        if not req.elid:
            return Doc.form([("name", ""), ("status", str(ACTIVE)), ("currency", "643")], choices)
        row = req.db.execute("SELECT name, status, currency FROM project WHERE id = ?",
                             (req.int_param("elid"),)).fetchone()
        if row is None:
            raise errors.missed("project", req.elid)
        return Doc.form([("elid", req.elid), ("name", row[0]), ("status", str(row[1])), ("currency", str(row[2]))],
                        choices)
    values = {k: req.params.get(k) for k in ("name", "currency") if k in req.params}
    if req.params.get("status"):         # one of the metadata's choices: validated; empty leaves it as it is
        values["status"] = req.int_param("status")
    if "currency" in values:
        values["currency"] = known(req.db, values["currency"])
    try:
        if req.elid:
            elid = req.int_param("elid")
            changed = rows.update(req.db, "project", elid, values) if values else 1
            if not changed or not req.db.execute("SELECT 1 FROM project WHERE id = ?", (elid,)).fetchone():
                raise errors.missed("project", req.elid)
            return Doc.success()
        project_id = rows.insert(req.db, "project", values)
    except req.store.IntegrityError:
        raise errors.exists("name", values.get("name", "")) from None
    return Doc.success(id=project_id)


def project_delete(req):
    """Deletes providers no client belongs to; a provider in use is refused."""
    for elid in req.params.ids():
        if req.db.execute("SELECT 1 FROM account WHERE project = ?", (elid,)).fetchone():
            raise errors.MgrError("value", "project", elid, "msg_error_project_in_use")
        req.db.execute("DELETE FROM project WHERE id = ?", (elid,))


def account_project(req):
    account_id = existing_account(req, "plid" if req.params.get("plid") else "elid")
    columns = {"id": "p.id", "name": "p.name", "status": "ap.status"}
    return sql_list(req, "account_project ap", columns, "ap.project", joins="JOIN project p ON p.id = ap.project",
                    where=["ap.account = ?"], args=(account_id,),
                    labels=req.cached("labels", lambda: {"status": _status_labels(req)}))


def _set_status(req, status):
    account_id = existing_account(req, "plid")
    for elid in req.params.ids():
        row = req.db.execute("SELECT p.name FROM account_project ap JOIN project p ON p.id = ap.project "
                             "WHERE ap.account = ? AND ap.project = ?", (account_id, elid)).fetchone()
        if row is None:
            raise errors.missed("project", elid)
        req.db.execute("UPDATE account_project SET status = ? WHERE account = ? AND project = ?",
                       (status, account_id, elid))
        history.record(req.context, account_id,
                       f"provider {row[0]}: {'enabled' if status == ACTIVE else 'disabled'}")


def account_project_resume(req):
    _set_status(req, ACTIVE)


def account_project_suspend(req):
    _set_status(req, SUSPENDED)
