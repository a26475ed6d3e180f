"""Rows written from dicts: the INSERT and UPDATE that every form handler needs.

Table and column names come from the handler's own code, never from a
caller, and values are always bound.  Names are quoted as standard SQL
quotes them (``user`` is a reserved word elsewhere), and the new row's id is
read back with RETURNING, which SQLite and PostgreSQL both take.
"""


def insert(db, table, values):
    """Insert ``values`` ({column: value}) as a new row of ``table``; its id."""
    columns = ", ".join(f'"{column}"' for column in values)
    marks = ", ".join("?" * len(values))
    return db.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({marks}) RETURNING id',
                      tuple(values.values())).fetchone()[0]


def update(db, table, row_id, values):
    """Set ``values`` on the row of ``table`` whose id is ``row_id``; how many rows changed."""
    if not values:
        return 0
    assignments = ", ".join(f'"{column}" = ?' for column in values)
    return db.execute(f'UPDATE "{table}" SET {assignments} WHERE id = ?', (*values.values(), row_id)).rowcount
