"""The few SQL spellings SQLite and PostgreSQL do not share, behind one small interface.

Everything else billmgr runs is standard SQL that both take as written
(``?`` placeholders included: the PostgreSQL connection turns them into
its own).  A query that needs one of these asks the store's dialect
(``req.store.dialect``) rather than spelling it for one database.
"""


class SQLite:
    name = "sqlite"
    for_update = ""           # one writer at a time: a row read in a write transaction stays as read

    @staticmethod
    def nocase(expr):
        """``expr`` compared and sorted without regard to (ASCII) case, as its index is built."""
        return f"{expr} COLLATE NOCASE"

    @staticmethod
    def like(expr):
        """A case-insensitive LIKE of ``expr`` against one bound pattern that escapes with ``\\``."""
        return f"{expr} LIKE ? ESCAPE '\\'"

    @staticmethod
    def joined(expr, separator=", "):
        """The text values of ``expr`` over a group, joined by ``separator``."""
        return f"group_concat({expr}, '{separator}')"

    @staticmethod
    def json_field(expr, key):
        """The text of member ``key`` of the JSON object in the text ``expr`` (NULL when absent)."""
        return f"json_extract({expr}, '$.{key}')"

    @staticmethod
    def json_rows(cells, page):
        """One JSON array of the rows of the query ``page``, each an array of ``cells``."""
        return f"SELECT json_group_array(json_array({cells})) FROM ({page}) AS page"


class PostgreSQL:
    name = "postgresql"
    # several writers: a row read to be changed is locked till commit -- against other changes, not against
    # the key-share locks that inserting rows referring to it takes (which would deadlock two such inserts)
    for_update = " FOR NO KEY UPDATE"

    @staticmethod
    def nocase(expr):
        return f"lower({expr})"

    @staticmethod
    def like(expr):
        return f"{expr} ILIKE ? ESCAPE '\\'"

    @staticmethod
    def joined(expr, separator=", "):
        return f"string_agg({expr}, '{separator}')"

    @staticmethod
    def json_field(expr, key):
        return f"(CAST({expr} AS json) ->> '{key}')"

    @staticmethod
    def json_rows(cells, page):
        # (aggregated in the order the page's ORDER BY gives its rows, as PostgreSQL does for a
        # sorted subquery that is not run in parallel)
        return f"SELECT CAST(coalesce(json_agg(json_build_array({cells})), '[]') AS TEXT) FROM ({page}) AS page"
