"""task: the outbox as staff see it -- what is pending, done or failed, and why."""

import functools

from ..doc import Cell
from ..lists import equals, sql_list

STATES = ("pending", "sending", "done", "failed")


def task(req):
    field = functools.partial(req.store.dialect.json_text, "o.payload")
    columns = {"id": "o.id", "created": "o.created", "kind": "o.kind",
               "target": f"coalesce({field('to')}, {field('phone')}, "
                         f"{field('handler')} || ' after ' || {field('func')})",
               "state": "o.state", "attempts": "o.attempts", "next_try": "o.next_try", "done": "o.done",
               "reason": "o.last_error"}
    labels = req.cached("labels", lambda: {"state": {s: Cell(req.msg(f"state_{s}"), (("orig", s),))
                                                     for s in STATES}})
    return sql_list(req, "outbox o", columns, "o.id DESC", filters={"state": equals("o.state")}, labels=labels)
