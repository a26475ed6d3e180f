"""nightly: what each day's nightly run did, step by step (the record the run keeps, jobs/nightly.py)."""

from ..lists import equals, sql_list


def nightly(req):
    columns = {"id": "n.id", "day": "n.day", "step": "n.step", "started": "n.started",
               "finished": "coalesce(n.finished, '')", "done": "n.done", "skipped": "n.skipped", "failed": "n.failed"}
    return sql_list(req, "nightly_run n", columns, "n.id DESC", filters={"day": equals("n.day")})
