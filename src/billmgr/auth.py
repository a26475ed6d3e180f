"""Callers: who is making a request, and at what level.

A transport names a default caller: over the Unix socket, from the peer's
credentials (root, the daemon's own user and ``LocalAdmin`` users are the
superuser; others are refused); over HTTP, an anonymous visitor.  A request
may instead carry ``auth=SESSION`` or ``authinfo=LOGIN:PASSWORD`` and then
acts as that user, and staff may add ``su=LOGIN`` to act as someone else.
"""

import hashlib
import hmac
import ipaddress
import os
import pwd
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from . import errors, sessions
from .passwords import verify_password

LOOPBACK = ipaddress.ip_address("127.0.0.1")
AUTHINFO_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    name: str
    level: str              # admin | user | public (not logged in)
    superuser: bool = False
    account: int | None = None
    user: int | None = None
    address: str = "local"

    def may_call(self, spec):
        return self.superuser or self.level in spec.levels or "public" in spec.levels

    @property
    def is_client(self):
        return self.level == "user"


def anonymous(address):
    return Caller(name="", level="public", address=address)


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


def _ip(address):
    try:
        return LOOPBACK if address == "local" else ipaddress.ip_address(address)
    except ValueError:
        return None


_USER_COLUMNS = "id, name, level, account, passwd"


def _caller(row, address):
    return Caller(name=row[1], level=row[2], account=row[3], user=row[0], address=address)


_FIND_USER = f"SELECT {_USER_COLUMNS} FROM user WHERE name = ? COLLATE NOCASE AND enabled = 1"


def find_user(db, name):
    return db.execute(_FIND_USER, (name,)).fetchone()


def switch_user(caller, name, db):
    """The caller that ``su=name`` makes of ``caller``: only staff may switch."""
    if not (caller.superuser or caller.level == "admin"):
        raise errors.access("su")
    row = find_user(db, name)
    if row is None:
        raise errors.missed("user", name)
    return _caller(row, caller.address)


class Authenticator:
    """Turns ``auth``/``authinfo`` parameters into callers, and logins into sessions."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self._verified = {}   # hmac(login:password) -> (user row, password hash, until)

    def _token(self, name, password):
        return hmac.new(self._secret, f"{name.lower()}:{password}".encode(), hashlib.sha256).digest()

    def recently_verified(self, authinfo):
        """Whether these credentials passed within the last minute (so checking them is quick)."""
        name, _, password = authinfo.partition(":")
        cached = self._verified.get(self._token(name, password))
        return cached is not None and cached[1] > time.monotonic()

    def caller(self, params, default, config):
        """The caller a request acts as: its session or authinfo, else the transport's."""
        sid = params.get("auth")
        if sid:
            return self._from_session(sid, default.address)
        authinfo = params.get("authinfo")
        if authinfo:
            if config.restrict_authinfo and not self._allowed(config, default.address):
                raise errors.MgrError("auth", "authinfo", default.address, "msg_error_authinfo_address")
            name, _, password = authinfo.partition(":")
            return self.login(name, password, default.address)
        return default

    @staticmethod
    def _allowed(config, address):
        ip = _ip(address)
        return ip is not None and any(ip in network for network in config.restrict_authinfo_range)

    def _from_session(self, sid, address):
        with self.store.transaction() as db:
            found = sessions.find_session(db, self.clock, sid)
            row = found and db.execute(f"SELECT {_USER_COLUMNS} FROM user WHERE id = ? AND enabled = 1",
                                       (found[0],)).fetchone()
        if not row:
            raise errors.MgrError("auth", "session", "", "msg_error_session")
        if found[1]:
            with self.store.transaction(write=True) as db:
                sessions.touch_session(db, self.clock, sid)
        return _caller(row, address)

    def login(self, name, password, address):
        """The caller for a login and password; failures count towards the throttle.

        A login verified in the last minute is recognised by a keyed digest of
        the credentials, so API clients sending authinfo on every call do not
        pay for scrypt each time; a changed password voids it at once.
        """
        token = self._token(name, password)
        row = self.store.read_one(_FIND_USER, (name,))
        cached = self._verified.get(token)
        if row and cached and cached[0] == row[4] and cached[1] > time.monotonic():
            return _caller(row, address)
        with self.store.transaction() as db:
            refused = sessions.throttled(db, self.clock, name, address)
        if refused:
            raise errors.MgrError("auth", "login", name, "msg_error_throttled")
        if row and row[4] and verify_password(password, row[4]):
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = (row[4], time.monotonic() + AUTHINFO_CACHE_SECONDS)
            with self.store.transaction(write=True) as db:
                sessions.clear_failures(db, name)
            return _caller(row, address)
        self._fail(name, address)

    def _fail(self, name, address):
        with self.store.transaction(write=True) as db:
            sessions.record_failure(db, self.clock, name, address)
        raise errors.MgrError("auth", "login", name, "msg_error_login")

    def login_with_key(self, name, key, address):
        """The caller for a one-use key from session.newkey or account.su."""
        with self.store.transaction() as db:
            refused = sessions.throttled(db, self.clock, name, address)
        if refused:
            raise errors.MgrError("auth", "login", name, "msg_error_throttled")
        with self.store.transaction(write=True) as db:
            user = sessions.use_key(db, self.clock, key, "login")
            row = user and db.execute(f"SELECT {_USER_COLUMNS} FROM user WHERE id = ? AND enabled = 1",
                                      (user,)).fetchone()
        if not row or row[1].lower() != name.lower():
            self._fail(name, address)
        return _caller(row, address)

    def open_session(self, caller):
        with self.store.transaction(write=True) as db:
            sessions.drop_expired(db, self.clock)
            return sessions.open_session(db, self.clock, caller.user, caller.address)
