"""List functions over SQL: filtering, sorting and paging from the metadata.

A handler names the SQL expression behind each column and each filter; this
module turns ``filter=on``, ``p_sort``/``p_order`` and ``p_num``/``p_cnt``
into a parameterised query.  Sort columns are checked against the
function's metadata, so no caller text ever reaches the SQL.
"""

import json
from dataclasses import dataclass

from . import errors
from .doc import Doc


@dataclass(frozen=True)
class Filter:
    sql: str                          # a predicate with one "?"
    value: object = staticmethod(str)  # turns the parameter into the bound value


def _like(text):
    """``text`` as a LIKE pattern that matches it literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(expr):
    """A case-insensitive substring filter on ``expr``."""
    return Filter(f"{expr} LIKE ? ESCAPE '\\'", lambda text: f"%{_like(text)}%")


def matches(expr):
    """A case-insensitive whole-value filter on ``expr`` in which ``*`` stands for any text."""
    return Filter(f"{expr} LIKE ? ESCAPE '\\'", lambda text: _like(text).replace("*", "%"))


def equals(expr):
    return Filter(f"{expr} = ?")


def _order(req, columns):
    name = req.params.get("p_sort") or ""
    if not name:
        return ""
    column = req.spec.column(name)
    if column is None or not column.sort:
        raise errors.value("p_sort", name)
    direction = (req.params.get("p_order") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise errors.value("p_order", direction)
    collate = " COLLATE NOCASE" if column.sort == "alpha" else ""
    return f"{columns[name]}{collate} {direction.upper()}, "


def sql_list(req, source, columns, key, filters=None, where=(), args=(), labels=None):
    """A list reply of ``source`` (FROM ... clause) with one SQL expression per column.

    ``key`` is the expression that gives a stable default order; ``filters``
    the SQL of each filter field the metadata declares; ``labels`` shows
    coded columns (see Doc).
    """
    clauses, bound = list(where), list(args)
    if req.params.get("filter") == "on":
        # only the metadata's filter fields, which validation has checked; each must have its SQL here
        for field in req.spec.filters:
            value = req.params.get(field.name)
            if value:
                clauses.append(filters[field.name].sql)
                bound.append(filters[field.name].value(value))
    where_sql = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    names = req.spec.column_names
    select = ", ".join(f"{columns[name]} AS c{i}" for i, name in enumerate(names))
    # every cell as text ('' for NULL): what every renderer shows
    aliases = ", ".join(f"coalesce(CAST(c{i} AS TEXT), '')" for i in range(len(names)))
    per_page = int(req.params.get("p_cnt") or 0)
    page = int(req.params.get("p_num") or 1) if per_page else 1
    # One statement, one step: the rows come back as a single JSON array, so
    # the GIL is released once per list rather than once per row.
    total, rows_json = req.db.execute(
        f"SELECT (SELECT count(*) FROM {source}{where_sql}), "
        f"(SELECT json_group_array(json_array({aliases})) FROM "
        f"(SELECT {select} FROM {source}{where_sql} ORDER BY {_order(req, columns)}{key} LIMIT ? OFFSET ?))",
        bound + bound + [per_page or -1, (page - 1) * per_page]).fetchone()
    rows = json.loads(rows_json)
    per_page = per_page or max(total, 1)
    return Doc.listing(names, rows, total, page, per_page, labels)
