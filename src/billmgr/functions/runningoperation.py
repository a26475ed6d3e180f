"""Running operations: runningoperation, .edit, .setmanual, .start, .delete.

What modules call (``runningoperation.edit elid errorxml=... manual=on``) and what staff use to see
and steer the module commands still to be carried out (modules/operations.py).  ``.start`` runs a
manual operation again: its tries start over, and the worker takes it after the commit.
"""

from .. import errors
from ..doc import Cell, Doc
from ..lists import equals, sql_list
from ..modules import callbacks

_SHOWN = ("item", "processingmodule", "operation", "params", "createdate", "trycount", "next_try", "errorxml",
          "manual")


def runningoperation(req):
    columns = {"id": "r.id", "item": "r.item", "processingmodule": "r.processingmodule",
               "operation": "r.operation", "createdate": "r.createdate", "trycount": "r.trycount",
               "next_try": "r.next_try", "manual": "r.manual", "errorxml": "r.errorxml"}
    labels = req.cached("labels", lambda: {"manual": {
        "1": Cell(req.msg("manual_on"), (("orig", "1"),)), "0": Cell(req.msg("manual_off"), (("orig", "0"),))}})
    return sql_list(req, "runningoperation r", columns, "r.id",
                    filters={"item": equals("r.item"), "operation": equals("r.operation"),
                             "manual": equals("r.manual")}, labels=labels)


def _load(req, elid):
    row = req.db.execute(f"SELECT {', '.join(_SHOWN)} FROM runningoperation WHERE id = ?", (elid,)).fetchone()
    if row is None:
        raise errors.missed("runningoperation", elid)
    return dict(zip(_SHOWN, row))


def _elid(req):
    elid = req.int_param("elid")
    if elid is None:
        raise errors.empty("elid")
    return elid


def runningoperation_edit(req):
    elid = _elid(req)
    stored = _load(req, elid)
    if not req.sok:
        return Doc.form([("elid", str(elid)), *((name, "" if value is None else str(value))
                                                for name, value in stored.items()
                                                if name != "manual"), ("manual", "on" if stored["manual"] else "off")])
    if "errorxml" in req.params:
        req.db.execute("UPDATE runningoperation SET errorxml = ? WHERE id = ?", (req.params.get("errorxml"), elid))
    if "manual" in req.params:
        _set_manual(req, elid, stored, req.params.get("manual") == "on")
    return Doc.success()


def _set_manual(req, elid, stored, manual):
    req.db.execute("UPDATE runningoperation SET manual = ? WHERE id = ?", (int(manual), elid))
    if manual:
        callbacks.open_task(req.context, stored["item"], elid, stored["operation"])


def runningoperation_setmanual(req):
    """Manual: the worker leaves it, and a task asks a person to do it."""
    for elid in req.params.ids():
        _set_manual(req, elid, _load(req, elid), True)


def runningoperation_start(req):
    """Run it again: not manual, tried afresh (ten more tries) as soon as the worker comes."""
    for elid in req.params.ids():
        _load(req, elid)
        req.db.execute("UPDATE runningoperation SET manual = 0, trycount = 0, next_try = '' WHERE id = ?",
                       (elid,))


def runningoperation_delete(req):
    """Forget it: the module is not asked again; the service stays as it is."""
    for elid in req.params.ids():
        _load(req, elid)
        req.db.execute("DELETE FROM runningoperation WHERE id = ?", (elid,))
