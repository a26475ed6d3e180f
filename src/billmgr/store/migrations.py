"""Versioned schema migrations, applied in order at start.

The schema version is SQLite's ``user_version``.  Each migration runs in its
own transaction with the version bump, so a failed upgrade leaves the
database as it was.  Append new migrations; never edit a released one.
"""

import sqlite_utils


def m001_accounts(db):
    db["project"].create({"id": int, "name": str, "status": int}, pk="id",
                         not_null={"name", "status"}, defaults={"status": 2})
    db["project"].create_index(["name"], unique=True)
    db["project"].insert({"id": 1, "name": "Default provider"})
    db["account"].create({
        "id": int, "name": str, "email": str, "realname": str, "project": int,
        "country": int, "state": int, "note": str, "label": str,
        "valid_phone": str, "try_phone": str, "verify_email": int, "selfview": str,
        "settingurl": str, "attitude": int, "employee": int, "nocalcstat": int,
        "products_page": int, "registration_date": str, "registration_ip": str,
        "status": int,
    }, pk="id", foreign_keys=[("project", "project", "id")],
        not_null={"name", "email", "project", "status", "registration_date",
                  "verify_email", "nocalcstat"},
        defaults={"status": 2, "verify_email": 0, "nocalcstat": 0, "note": "", "label": "",
                  "realname": "", "valid_phone": "", "try_phone": "", "selfview": "",
                  "settingurl": "", "registration_ip": ""})
    db.execute("CREATE UNIQUE INDEX account_email ON account (email COLLATE NOCASE)")
    db["account"].create_index(["name"])
    db["user"].create({"id": int, "account": int, "name": str, "passwd": str,
                       "level": str, "realname": str, "email": str, "enabled": int},
                      pk="id", foreign_keys=[("account", "account", "id")],
                      not_null={"name", "level", "enabled"},
                      defaults={"enabled": 1, "passwd": "", "realname": "", "email": ""})
    db.execute('CREATE UNIQUE INDEX user_name ON "user" (name COLLATE NOCASE)')
    db["user"].create_index(["account"])
    db["outbox"].create({"id": int, "created": str, "kind": str, "payload": str,
                         "state": str, "attempts": int, "last_error": str},
                        pk="id", not_null={"created", "kind", "payload", "state", "attempts"},
                        defaults={"state": "pending", "attempts": 0, "last_error": ""})


MIGRATIONS = [m001_accounts]


def apply(conn):
    """Bring the database at ``conn`` up to the newest schema version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {current} is newer than this "
                           f"billmgr ({len(MIGRATIONS)}); upgrade billmgr")
    db = sqlite_utils.Database(conn)
    for version, migration in enumerate(MIGRATIONS[current:], current + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration(db)
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
