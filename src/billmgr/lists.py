"""The list engine: filtering, sorting, paging and streaming of every list
function, from its metadata.

A handler describes its list and this module does the rest::

    sql_list(req, "account a", {"id": "a.id", "name": "a.name", "project": "p.name"}, "a.id",
             joins="JOIN project p ON p.id = a.project",
             filters={"name": contains("a.name")})

- ``source`` is one table and its alias; ``joins`` are lookups that add
  columns to its rows (many-to-one, on a key that always matches) and never
  add or remove rows.  ``where``, ``args`` and the filters name columns of
  the source only, so the rows are counted on the source alone.
- ``columns`` gives the SQL expression behind each column of the metadata;
  ``key`` the default order, unique: it ends with the id, e.g. ``"h.id DESC"``.
- ``filter=on`` applies ``filters`` (``contains``, ``equals``) to the call's
  values; a call without it applies the filter the caller saved for the list
  (``<list>.filter``, see ``save_filter``), if any.  ``p_sort`` /
  ``p_order`` sort by a column the metadata marks sortable (``alpha``
  columns case-insensitively), then by id; descending is the exact
  reverse of ascending.  No caller text ever reaches the SQL.
- ``p_cnt`` / ``p_num`` page; without ``p_cnt`` the whole list is one page.

How it stays fast at 100,000 rows:

- every sortable column, and the key, has an index of the same expression
  and collation (``name COLLATE NOCASE``: SQLite ends every index with the
  id), so a page is read from an index in order, and ``desc`` reads it
  backwards (tests/test_scale.py checks the query plans).  A sort by a
  column of a joined table (a client's provider) sorts the rows instead;
  lists scoped to one owner need only their owner index;
- a page past the middle of the list is read from the far end: the
  reverse order with the mirrored offset, turned round again;
- a ``contains`` filter asks the store's substring index
  (``Store.search``) which few rows can match;
- a page of more than ``BATCH`` rows is not held in memory: the Doc gets a
  row source that reads ``BATCH`` rows per step from one cursor inside the
  request's read transaction while the reply is being sent.

Rows come back with every cell as text ('' for NULL), which is what every
renderer shows; a page that is not streamed comes back from SQLite as one
JSON array, one step per list rather than one per row.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from . import errors
from .doc import Doc
from .protocol import scrub

BATCH = 1000      # rows per step of a streamed list


@dataclass(frozen=True)
class Filter:
    sql: str | None                    # a predicate with one "?"
    value: object = staticmethod(str)  # turns the parameter into the bound value
    substring: str | None = None       # the column a "contains" filter searches, for the substring index
    like: str | None = None            # instead of ``sql``: the expression a case-insensitive LIKE tests

    def clause(self, dialect):
        return dialect.like(self.like) if self.like else self.sql


def localized_name(lang, alias=""):
    """SQL for a row's name in ``lang``: its ``name_ru`` in Russian where it has one, else ``name``."""
    prefix = f"{alias}." if alias else ""
    return f"coalesce(nullif({prefix}name_ru, ''), {prefix}name)" if lang == "ru" else f"{prefix}name"


def like_literal(text):
    """``text`` as a LIKE pattern that matches it literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(expr):
    """A case-insensitive substring filter on ``expr`` (served by a substring index where there is one)."""
    return Filter(None, lambda text: f"%{like_literal(text)}%", expr, like=expr)


def matches(expr):
    """A case-insensitive whole-value filter on ``expr`` in which ``*`` stands for any text."""
    return Filter(None, lambda text: like_literal(text).replace("*", "%"), like=expr)


def equals(expr):
    return Filter(f"{expr} = ?")


@lru_cache(maxsize=256)
def _terms(order):
    """``"t.updated DESC, t.id"`` as ((expression, descending), ...)."""
    terms = []
    for term in order.split(","):
        expr, _, direction = term.strip().rpartition(" ")
        if direction.upper() in ("ASC", "DESC"):
            terms.append((expr, direction.upper() == "DESC"))
        else:
            terms.append((term.strip(), False))
    return tuple(terms)


def _order(req, columns, key):
    """The list's order as terms: the key; or the asked sort column, then the
    key's last term (the id) ascending, all reversed for desc -- the order of
    an index of that column."""
    terms = _terms(key)
    name = req.params.get("p_sort") or ""
    if not name:
        return terms
    column = req.spec.column(name)
    if column is None or not column.sort:
        raise errors.value("p_sort", name)
    direction = (req.params.get("p_order") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise errors.value("p_order", direction)
    expr = req.store.dialect.nocase(columns[name]) if column.sort == "alpha" else columns[name]
    terms = ((expr, False), (terms[-1][0], False))
    return _reversed(terms) if direction == "desc" else terms


def _reversed(terms):
    return tuple((expr, not descending) for expr, descending in terms)


@lru_cache(maxsize=256)
def _select(expressions):
    """The select list of the columns' SQL ``expressions``, and each cell as text ('' for NULL)."""
    return (", ".join(f"{sql} AS c{i}" for i, sql in enumerate(expressions)),
            ", ".join(f"coalesce(CAST(c{i} AS TEXT), '')" for i in range(len(expressions))))


def _order_by(terms):
    return ", ".join(f"{expr} DESC" if descending else expr for expr, descending in terms)


def saved_filter(db, user, func):
    """The filter values ``user`` saved for list ``func``, as {name: value}.

    Cleaned of text with no UTF-8 form, which the JSON could hold when it was
    saved before the dispatcher refused such parameters.
    """
    row = db.execute("SELECT params FROM list_filter WHERE user = ? AND func = ?", (user, func)).fetchone()
    return {scrub(name): scrub(value) for name, value in json.loads(row[0])} if row else {}


def save_filter(db, user, func, values):
    """Keep ``values`` ((name, value) pairs, checked) as ``user``'s filter of list ``func``; none clears it."""
    values = [(name, value) for name, value in values if value]
    if values:
        db.execute("INSERT INTO list_filter (user, func, params) VALUES (?, ?, ?) "
                   "ON CONFLICT (user, func) DO UPDATE SET params = excluded.params",
                   (user, func, json.dumps(values)))
    else:
        db.execute("DELETE FROM list_filter WHERE user = ? AND func = ?", (user, func))


def _filter_values(req):
    """The filter values the call applies: its own with ``filter=on``, else the caller's saved ones."""
    if req.params.get("filter") == "on":
        return req.params
    if not req.spec.filters or not req.caller.name:
        return {}
    return saved_filter(req.db, req.caller.name, req.spec.name)


def _filters(req, source, filters):
    """(clauses, values) of the filters the call applies."""
    clauses, bound = [], []
    values = _filter_values(req)
    if not values:
        return clauses, bound
    table, alias = source.split()[:2]
    # only the metadata's filter fields, which validation (or saving) has checked; each must have its SQL here
    for field in req.spec.filters:
        value = values.get(field.name)
        if not value:
            continue
        flt = filters[field.name]
        clauses.append(flt.clause(req.store.dialect))
        bound.append(flt.value(value))
        column = flt.substring and flt.substring.removeprefix(alias + ".")
        narrowed = column and column != flt.substring and req.store.search.narrow(req.db, table, alias, column, value)
        if narrowed:
            clauses.append(narrowed[0])
            bound.extend(narrowed[1])
    return clauses, bound


def sql_list(req, source, columns, key, filters=None, where=(), args=(), labels=None, joins=""):
    """A list reply of ``source`` with one SQL expression per column (see the module's doc).

    ``labels`` shows coded columns (see Doc).
    """
    clauses, bound = _filters(req, source, filters)
    clauses, bound = list(where) + clauses, list(args) + bound
    where_sql = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    order = _order(req, columns, key)
    names = req.spec.column_names
    select, cells = _select(tuple(map(columns.__getitem__, names)))

    def page_sql(order):
        return f"SELECT {select} FROM {source} {joins}{where_sql} ORDER BY {_order_by(order)} LIMIT ? OFFSET ?"

    def rows_sql(order):
        # One statement, one step: the rows come back as a single JSON array,
        # so the GIL is released once per list rather than once per row.
        return req.store.dialect.json_rows(cells, page_sql(order))

    count_sql = f"SELECT count(*) FROM {source}{where_sql}"
    per_page = int(req.params.get("p_cnt") or 0)
    page = int(req.params.get("p_num") or 1) if per_page else 1
    offset = (page - 1) * per_page
    rows = None
    if offset:
        total = req.db.execute(count_sql, bound).fetchone()[0]
    else:      # the first page, the usual call: counted and read in one statement
        total, rows_json = req.db.execute(f"SELECT ({count_sql}), ({rows_sql(order)})",
                                          bound + bound + [min(per_page or BATCH, BATCH), 0]).fetchone()
        rows = json.loads(rows_json)
    count = max(0, min(per_page or total, total - offset))
    listing = {"columns": names, "total": total, "page": page, "per_page": per_page or max(total, 1),
               "labels": labels}
    if count > BATCH:
        return Doc.listing(rows=[], more=_batches(req.db, f"SELECT {cells} FROM ({page_sql(order)}) AS page",
                                                  bound + [count, offset]), **listing)
    if rows is None and count:
        if offset + count / 2 > total / 2:     # nearer the end: read from there, the mirrored offset
            rows = json.loads(req.db.execute(rows_sql(_reversed(order)),
                                             bound + [count, total - offset - count]).fetchone()[0])
            rows.reverse()
        else:
            rows = json.loads(req.db.execute(rows_sql(order), bound + [count, offset]).fetchone()[0])
    return Doc.listing(rows=rows or [], **listing)


def _batches(db, sql, args):
    """The rows of ``sql``, BATCH at a time; nothing runs before the first is asked
    for, which happens on the thread that sends the reply, never the event loop."""
    cursor = db.execute(sql, args)
    while rows := cursor.fetchmany(BATCH):
        yield rows
