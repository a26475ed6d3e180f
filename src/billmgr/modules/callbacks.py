"""What a service becomes when its module reports a command done: one function per move.

A module reports success only by calling back (``service.postopen``...); each move changes the
item (and its add-ons, which follow their service) and removes the item's pending running
operation of that command, closing the tasks opened for it.  The functions take a Context, so a
handler (``service.postopen``, ``<type>.open sok=ok``) and the nightly run share them unchanged.
A repeated callback moves nothing further and still answers ok: a module may call back twice.
"""

import json

from .. import errors
from ..store import rows

OPEN, SUSPEND, RESUME, CLOSE, SETPARAM, PROLONG, CHANGEPRICELIST = (
    "open", "suspend", "resume", "close", "setparam", "prolong", "changepricelist")
ACTIVE, SUSPENDED, DELETED = 2, 3, 4
TASK_OPEN, TASK_CLOSED = 1, 2


def _today(ctx):
    return ctx.clock.now().date().isoformat()


def _existing(ctx, item):
    row = ctx.db.execute("SELECT status FROM item WHERE id = ?", (item,)).fetchone()
    if row is None:
        raise errors.missed("item", item)
    return row[0]


def _move(ctx, item, status, sets="", args=()):
    """``item`` and its add-ons (but those already deleted) to ``status``, with ``sets`` besides."""
    _existing(ctx, item)
    ctx.db.execute(f"UPDATE item SET status = ?{sets} WHERE id = ? OR (parent = ? AND status <> {DELETED})",
                   (status, *args, item, item))


def finished(ctx, item, operation):
    """The item's pending ``operation`` is done: its rows go, and the tasks opened for them close."""
    done = [row[0] for row in ctx.db.execute(
        "SELECT id FROM runningoperation WHERE item = ? AND operation = ?", (item, operation))]
    for operation_id in done:
        ctx.db.execute("DELETE FROM runningoperation WHERE id = ?", (operation_id,))
        ctx.db.execute("UPDATE task SET status = ?, closedate = ? WHERE runningoperation = ? AND status = ?",
                       (TASK_CLOSED, ctx.clock.stamp(), operation_id, TASK_OPEN))


def opened(ctx, item):
    """Active (2), opened today unless it was opened before."""
    _move(ctx, item, ACTIVE, ", opendate = coalesce(opendate, ?)", (_today(ctx),))
    finished(ctx, item, OPEN)


def suspended(ctx, item):
    _move(ctx, item, SUSPENDED, ", suspenddate = ?", (_today(ctx),))
    finished(ctx, item, SUSPEND)


def resumed(ctx, item):
    """Active again; no longer suspended, automatically or not."""
    _move(ctx, item, ACTIVE, ", suspenddate = NULL, autosuspend = 0")
    finished(ctx, item, RESUME)


def closed(ctx, item):
    """Deleted (4) today; the item stays, for its history and its charges."""
    _move(ctx, item, DELETED, ", deletedate = ?", (_today(ctx),))
    finished(ctx, item, CLOSE)


def param_set(ctx, item):
    _existing(ctx, item)
    finished(ctx, item, SETPARAM)


def prolonged(ctx, item):
    _existing(ctx, item)
    finished(ctx, item, PROLONG)


def pricelist_rolled_back(ctx, item):
    """The module could not move the service to its new tariff: it goes back to the one it had.

    The pending ``changepricelist`` operation holds that tariff in its params (``{"pricelist": ID}``);
    without one there is nothing to roll back, which is a ``value`` error naming the item.
    """
    _existing(ctx, item)
    row = ctx.db.execute("SELECT params FROM runningoperation WHERE item = ? AND operation = ? "
                         "ORDER BY id DESC", (item, CHANGEPRICELIST)).fetchone()
    previous = params_of(row[0]).get("pricelist") if row else None
    if not previous:
        raise errors.MgrError("value", "elid", item, "msg_error_no_pricelist_change")
    ctx.db.execute("UPDATE item SET pricelist = ? WHERE id = ?", (int(previous), item))
    finished(ctx, item, CHANGEPRICELIST)


def params_of(text):
    """A running operation's params: a JSON object, or none."""
    try:
        params = json.loads(text or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


MOVES = {OPEN: opened, SUSPEND: suspended, RESUME: resumed, CLOSE: closed, SETPARAM: param_set,
         PROLONG: prolonged}


def open_task(ctx, item, operation_id, task_type, params=""):
    """A task for a person about ``item`` (and its running operation); the open one there is, if any."""
    if operation_id is not None:
        row = ctx.db.execute("SELECT id FROM task WHERE runningoperation = ? AND status = ?",
                             (operation_id, TASK_OPEN)).fetchone()
        if row:
            return row[0]
    return rows.insert(ctx.db, "task", {"item": item, "runningoperation": operation_id, "type": task_type,
                                        "params": params, "createdate": ctx.clock.stamp()})
