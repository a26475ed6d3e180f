"""Callers: who is making a request, and at what level.

A local caller is identified from the socket's peer credentials: root and
the daemon's own user are the superuser; a system user named by
``LocalAdmin`` in the configuration is too; anyone else is refused.
"""

import os
import pwd
from dataclasses import dataclass
from functools import lru_cache

from . import errors


@dataclass(frozen=True)
class Caller:
    name: str
    level: str              # admin | user
    superuser: bool = False
    account: int | None = None
    address: str = "local"

    def may_call(self, spec):
        return self.superuser or self.level in spec.levels


def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@lru_cache(maxsize=256)
def local_caller(uid, config):
    """The caller behind a Unix socket connection from system user ``uid``.

    Cached per (uid, configuration): a reload brings a new Config and so a
    fresh answer, and no request pays for reading /etc/passwd.
    """
    name = _user_name(uid)
    if uid in (0, os.geteuid()) or name in config.local_admins or str(uid) in config.local_admins:
        return Caller(name=name, level="admin", superuser=True)
    raise errors.MgrError("auth", "local_user", name, "msg_error_local_user")


def switch_user(caller, name, db):
    """The caller that ``su=name`` makes of ``caller``: only staff may switch."""
    if not (caller.superuser or caller.level == "admin"):
        raise errors.access("su")
    row = db.execute("SELECT name, level, account FROM user WHERE name = ? COLLATE NOCASE AND enabled = 1",
                     (name,)).fetchone()
    if row is None:
        raise errors.missed("user", name)
    return Caller(name=row[0], level=row[1], account=row[2], address=caller.address)
