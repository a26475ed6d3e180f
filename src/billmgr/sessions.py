"""Sessions, one-use login keys and the failed-login throttle, in the database.

Session ids and keys are stored only as SHA-256 digests, so a copy of the
database opens no sessions.  A session lapses after an hour without
requests; its last-seen time is refreshed at most once a minute, so reads
do not turn into writes.
"""

import hashlib
import secrets
from datetime import timedelta

SESSION_LIFETIME = timedelta(hours=1)
TOUCH_EVERY = timedelta(minutes=1)
KEY_LIFETIME = timedelta(hours=1)

# Failed-login throttle: this many failures within the window refuse further
# attempts for that login from that address, or for any login from that
# address, until the window has passed.  Failures from one address never lock
# a login out elsewhere, so a stranger cannot lock out the staff.
THROTTLE_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES = 5
ADDRESS_FAILURES = 20


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _stamp(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def open_session(db, clock, user_id, address):
    sid = secrets.token_hex(20)
    now = clock.stamp()
    db.execute("INSERT INTO session (id, user, created, last_seen, address) VALUES (?, ?, ?, ?, ?)",
               (digest(sid), user_id, now, now, address))
    return sid


def find_session(db, clock, sid):
    """(user id, whether last_seen wants a refresh) of a live session, or None."""
    row = db.execute("SELECT user, last_seen FROM session WHERE id = ?", (digest(sid),)).fetchone()
    if row is None:
        return None
    now = clock.now()
    idle = now - clock.parse(row[1])
    if idle > SESSION_LIFETIME:
        return None
    return row[0], idle > TOUCH_EVERY


def touch_session(db, clock, sid):
    db.execute("UPDATE session SET last_seen = ? WHERE id = ?", (clock.stamp(), digest(sid)))


def drop_expired(db, clock):
    db.execute("DELETE FROM session WHERE last_seen < ?", (_stamp(clock.now() - SESSION_LIFETIME),))
    db.execute("DELETE FROM login_key WHERE expires < ?", (clock.stamp(),))
    db.execute("DELETE FROM login_failure WHERE at < ?", (_stamp(clock.now() - THROTTLE_WINDOW),))


def new_key(db, clock, user_id, purpose, key=None, lifetime=KEY_LIFETIME):
    """A one-use key for ``purpose`` (login, recovery); returns the key."""
    key = key or secrets.token_urlsafe(24)
    db.execute("INSERT INTO login_key (key_hash, user, purpose, expires) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (key_hash) DO UPDATE SET user = excluded.user, purpose = excluded.purpose, "
               "expires = excluded.expires", (digest(key), user_id, purpose, _stamp(clock.now() + lifetime)))
    return key


def use_key(db, clock, key, purpose):
    """The user a live key belongs to, consuming the key; None if there is none."""
    row = db.execute("SELECT user, expires FROM login_key WHERE key_hash = ? AND purpose = ?",
                     (digest(key), purpose)).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM login_key WHERE key_hash = ?", (digest(key),))
    return row[0] if row[1] >= clock.stamp() else None


def _subjects(name, address):
    """What failures count against: the login at this address, and the address."""
    return f"login:{address} {name.lower()}", f"address:{address}"


def throttled(db, clock, name, address):
    """Whether attempts for login ``name`` from ``address`` are refused now."""
    since = _stamp(clock.now() - THROTTLE_WINDOW)

    def failures(subject):
        return db.execute("SELECT count(*) FROM login_failure WHERE subject = ? AND at >= ?",
                          (subject, since)).fetchone()[0]

    login, anyone = _subjects(name, address)
    return failures(login) >= LOGIN_FAILURES or failures(anyone) >= ADDRESS_FAILURES


def record_failure(db, clock, name, address):
    now = clock.stamp()
    db.executemany("INSERT INTO login_failure (subject, at) VALUES (?, ?)",
                   [(subject, now) for subject in _subjects(name, address)])


def clear_failures(db, name, address):
    db.execute("DELETE FROM login_failure WHERE subject = ?", (_subjects(name, address)[0],))
