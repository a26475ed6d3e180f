"""Tasks: task, task.edit, task.gettype -- what a person must do when a module could not.

A running operation that turns manual opens one (modules/operations.py); a module may open one
itself: ``task.gettype operation=CMD`` gives the task type for a command (the command's name:
types are the operations), then ``task.edit item= runningoperation= type= [params=] sok=ok``
answers the new task's ``id``.  A task closes (status 2) when staff close it or when the
operation it is about succeeds.
"""

from .. import errors
from ..doc import Cell, Doc
from ..lists import equals, sql_list
from ..modules import callbacks
from ..store import rows

_SHOWN = ("item", "runningoperation", "type", "status", "params", "note", "createdate", "closedate")


def task(req):
    columns = {"id": "t.id", "item": "t.item", "runningoperation": "t.runningoperation", "type": "t.type",
               "status": "t.status", "createdate": "t.createdate", "closedate": "t.closedate", "note": "t.note"}
    labels = req.cached("labels", lambda: {"status": {
        str(code): Cell(req.msg(f"status_{code}"), (("orig", str(code)),))
        for code in (callbacks.TASK_OPEN, callbacks.TASK_CLOSED)}})
    return sql_list(req, "task t", columns, "t.id DESC",
                    filters={"status": equals("t.status"), "item": equals("t.item"), "type": equals("t.type")},
                    labels=labels)


def task_gettype(req):
    operation = req.params.get("operation", "")
    if not operation:
        raise errors.empty("operation")
    return Doc.form([("task_type", operation)])


def _known(req, table, value):
    if value is not None and not req.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (value,)).fetchone():
        raise errors.missed(table, value)
    return value


def task_edit(req):
    elid = req.int_param("elid")
    if elid is not None:
        row = req.db.execute(f"SELECT {', '.join(_SHOWN)} FROM task WHERE id = ?", (elid,)).fetchone()
        if row is None:
            raise errors.missed("task", elid)
        stored = dict(zip(_SHOWN, row))
    if not req.sok:
        shown = stored if elid is not None else {name: "" for name in _SHOWN}
        return Doc.form([("elid", "" if elid is None else str(elid)),
                         *((name, "" if value is None else str(value)) for name, value in shown.items())])
    if elid is None:
        item = _known(req, "item", req.int_param("item"))
        if item is None:
            raise errors.empty("item")
        task_type = req.params.get("type") or ""
        if not task_type:
            raise errors.empty("type")
        elid = callbacks.open_task(req.context, item, req.int_param("runningoperation"), task_type,
                                   req.params.get("params", ""))
        return Doc.success(id=elid)
    changes = {name: req.params.get(name) for name in ("note", "params") if name in req.params}
    if "status" in req.params:
        changes["status"] = req.int_param("status")
        changes["closedate"] = req.clock.stamp() if changes["status"] == callbacks.TASK_CLOSED else None
    if changes:
        rows.update(req.db, "task", elid, changes)
    return Doc.success()
