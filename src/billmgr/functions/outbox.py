"""outbox: mail, SMS and failed after-events as staff see them -- what is pending, done or failed, and why."""

from ..doc import Cell
from ..lists import equals, sql_list

STATES = ("pending", "sending", "done", "failed")


def outbox(req):
    field = req.store.dialect.json_field
    columns = {"id": "o.id", "created": "o.created", "kind": "o.kind",
               "target": f"coalesce({field('o.payload', 'to')}, {field('o.payload', 'phone')}, "
                         f"{field('o.payload', 'handler')} || ' after ' || {field('o.payload', 'func')})",
               "state": "o.state", "attempts": "o.attempts", "next_try": "o.next_try", "done": "o.done",
               "reason": "o.last_error"}
    labels = req.cached("labels", lambda: {"state": {s: Cell(req.msg(f"state_{s}"), (("orig", s),))
                                                     for s in STATES}})
    return sql_list(req, "outbox o", columns, "o.id DESC", filters={"state": equals("o.state")}, labels=labels)
