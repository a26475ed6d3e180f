"""Substring search (a list's "contains" filters) that does not scan the table.

On SQLite a column is searched through an FTS5 table with the trigram
tokenizer, ``TABLE_COLUMN_search``: external content (it keeps only the
index, not a copy of the text), kept in step by triggers.  A text of 3 or
more characters is looked up there first.  When it occurs in few rows
(under ``PROBE`` of them) the filter becomes "one of these ids, and LIKE",
which touches only those rows; a text found nearly everywhere is cheaper
to find by scanning with LIKE, as are texts shorter than a trigram.
Either way the rows are exactly those the LIKE predicate names, so results
never depend on the path taken.

This is the store's dialect detail behind a small interface: the list
engine asks ``Search.narrow`` for an extra predicate and its values and
stays standard SQL; a PostgreSQL store answers from a pg_trgm index.
"""

import json
import re

PROBE = 1000      # rows past which a substring counts as common and is scanned for

_DECLARATION = re.compile(r"USING fts5\(\s*(\w+)\s*,\s*content\s*=\s*'(\w+)'", re.IGNORECASE)


def create_index(db, table, column):
    """Index ``table.column`` for substring search (a migration step); ``table`` has an ``id`` key."""
    name = f"{table}_{column}_search"
    db.execute(f"CREATE VIRTUAL TABLE {name} USING fts5({column}, content='{table}', content_rowid='id', "
               f"tokenize='trigram')")
    db.execute(f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} BEGIN "
               f"INSERT INTO {name} (rowid, {column}) VALUES (new.id, new.{column}); END")
    db.execute(f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} BEGIN "
               f"INSERT INTO {name} ({name}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END")
    db.execute(f"CREATE TRIGGER {name}_update AFTER UPDATE OF {column} ON {table} BEGIN "
               f"INSERT INTO {name} ({name}, rowid, {column}) VALUES ('delete', old.id, old.{column}); "
               f"INSERT INTO {name} (rowid, {column}) VALUES (new.id, new.{column}); END")
    db.execute(f"INSERT INTO {name} ({name}) VALUES ('rebuild')")


class Search:
    """The substring indexes of one database, found in its schema."""

    def __init__(self, conn):
        self.indexed = set()
        for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%fts5%'"):
            found = _DECLARATION.search(sql)
            if found:
                self.indexed.add((found.group(2), found.group(1)))

    def narrow(self, db, table, alias, column, text):
        """(predicate, values) that picks the few rows of ``table`` whose ``column``
        may contain ``text``, or None when a scan is the better way."""
        if len(text) < 3 or (table, column) not in self.indexed:
            return None     # (the dispatcher lets no NUL through, at which an FTS5 query string would end)
        ids = [rowid for (rowid,) in db.execute(
            f"SELECT rowid FROM {table}_{column}_search WHERE {column} MATCH ? LIMIT ?",
            ('"' + text.replace('"', '""') + '"', PROBE))]
        if len(ids) >= PROBE:
            return None
        return f"{alias}.id IN (SELECT value FROM json_each(?))", [json.dumps(ids)]
