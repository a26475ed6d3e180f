"""Callers: who is making a request, and at what level.

A transport names a default caller: over the Unix socket, from the peer's
credentials (root, the daemon's own user and ``LocalAdmin`` users are the
superuser; others are refused); over HTTP, an anonymous visitor.  A request
may instead carry ``auth=SESSION`` or ``authinfo=LOGIN:PASSWORD`` and then
acts as that login, and staff with full access may add ``su=LOGIN`` to act as
someone else.

Logins of both kinds live in table ``user``: employees (level ``admin``, no
account) and clients' logins (level ``user``).  An employee without
``default_access_allow`` may call only the functions its departments grant,
and one without ``all_ip_access`` may log in only from its ``ip_access``
networks.
"""

import hashlib
import hmac
import ipaddress
import os
import pwd
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

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
    grants: frozenset | None = None   # an employee's functions, when its departments limit it

    def may_call(self, spec):
        if self.superuser or "public" in spec.levels:
            return True
        return self.level in spec.levels and (self.grants is None or spec.name in self.grants)

    @property
    def full_access(self):
        """The superuser, or an employee whose departments do not limit it."""
        return self.superuser or (self.level == "admin" and self.grants is None)

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


@lru_cache(maxsize=1024)
def networks(text):
    """The networks of an address list (``10.0.0.0/8, 192.0.2.7``, any separators); ValueError if one is not."""
    return tuple(ipaddress.ip_network(part, strict=False) for part in re.split(r"[\s,;]+", text) if part)


_GRANTS = ("SELECT DISTINCT f.func FROM department_function f JOIN department_employee m "
           "ON m.department = f.department WHERE m.employee = ?")


class Login(NamedTuple):
    """A row of table ``user`` as logging in needs it."""
    id: int
    name: str
    level: str
    account: int | None
    passwd: str
    default_access_allow: int
    all_ip_access: int
    ip_access: str

    @property
    def limited(self):
        """An employee whose departments decide what it may call."""
        return self.level == "admin" and not self.default_access_allow

    def allows_address(self, address):
        return self.level != "admin" or bool(self.all_ip_access) or within(address, self.ip_access)

    def caller(self, address, db=None):
        """The caller this login makes; ``db`` reads a limited employee's grants."""
        grants = frozenset(func for (func,) in db.execute(_GRANTS, (self.id,))) if self.limited else None
        return Caller(name=self.name, level=self.level, account=self.account, user=self.id, address=address,
                      grants=grants)


def within(address, ip_access):
    """Whether a caller's ``address`` is in the networks of the list ``ip_access``."""
    return _in_networks(address, networks(ip_access))


def _in_networks(address, nets):
    ip = _ip(address)
    return ip is not None and any(ip in network for network in nets)


_LOGIN = f"SELECT {', '.join(Login._fields)} FROM user WHERE enabled = 1 AND "
_LOGIN_BY_ID = _LOGIN + "id = ?"


def _find_login_sql(dialect):
    return _LOGIN + f"{dialect.nocase('name')} = {dialect.nocase('?')}"


def find_login(db, name, dialect):
    row = db.execute(_find_login_sql(dialect), (name,)).fetchone()
    return row and Login(*row)


def switch_user(caller, name, db, dialect):
    """The caller that ``su=name`` makes of ``caller``: only staff with full access may switch."""
    if not caller.full_access:
        raise errors.access("su")
    login = find_login(db, name, dialect)
    if login is None:
        raise errors.missed("user", name)
    return login.caller(caller.address, db)


class Authenticator:
    """Turns ``auth``/``authinfo`` parameters into callers, and logins into sessions."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self._secret = secrets.token_bytes(32)
        self._verified = {}   # hmac(login:password) -> (password hash, until)

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
            if config.restrict_authinfo and not _in_networks(default.address, config.restrict_authinfo_range):
                raise errors.MgrError("auth", "authinfo", default.address, "msg_error_authinfo_address")
            name, _, password = authinfo.partition(":")
            return self.login(name, password, default.address)
        return default

    def _from_session(self, sid, address):
        with self.store.transaction() as db:
            found = sessions.find_session(db, self.clock, sid)
            row = found and db.execute(_LOGIN_BY_ID, (found[0],)).fetchone()
            if not row:
                raise errors.MgrError("auth", "session", "", "msg_error_session")
            login = Login(*row)
            self._check_address(login, address)
            caller = login.caller(address, db)
        if found[1]:
            with self.store.transaction(write=True) as db:
                sessions.touch_session(db, self.clock, sid)
        return caller

    @staticmethod
    def _check_address(login, address):
        if not login.allows_address(address):
            raise errors.MgrError("auth", "ip_access", address, "msg_error_ip_access")

    def _admitted(self, login, address):
        """The caller for a login whose credentials passed, if it may log in from ``address``."""
        self._check_address(login, address)
        if not login.limited:
            return login.caller(address)
        with self.store.transaction() as db:
            return login.caller(address, db)

    def login(self, name, password, address):
        """The caller for a login and password; failures count towards the throttle.

        A login verified in the last minute is recognised by a keyed digest of
        the credentials, so API clients sending authinfo on every call do not
        pay for scrypt each time; a changed password voids it at once.  An
        unknown, disabled or password-less login costs the same hash work as a
        wrong password (see verify_password).
        """
        token = self._token(name, password)
        row = self.store.read_one(_find_login_sql(self.store.dialect), (name,))
        login = row and Login(*row)
        cached = self._verified.get(token)
        if login and cached and cached[0] == login.passwd and cached[1] > time.monotonic():
            return self._admitted(login, address)
        with self.store.transaction() as db:
            refused = sessions.throttled(db, self.clock, name, address)
        if refused:
            raise errors.MgrError("auth", "login", name, "msg_error_throttled")
        if verify_password(password, login.passwd if login else None):
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[token] = (login.passwd, time.monotonic() + AUTHINFO_CACHE_SECONDS)
            with self.store.transaction(write=True) as db:
                sessions.clear_failures(db, name, address)
            return self._admitted(login, address)
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
            row = user and db.execute(_LOGIN_BY_ID, (user,)).fetchone()
        if not row or row[1].lower() != name.lower():
            self._fail(name, address)
        return self._admitted(Login(*row), address)

    def open_session(self, caller):
        with self.store.transaction(write=True) as db:
            sessions.drop_expired(db, self.clock)
            return sessions.open_session(db, self.clock, caller.user, caller.address)
