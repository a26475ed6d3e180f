"""The outbox: side effects written in the request's transaction, carried out
after commit by the daemon's task worker.

A task is pending until delivered (done) or out of attempts (failed, with
the last reason); some are recorded failed from the start, for staff to
see.  A task claimed for delivery is marked ``sending``; one left so by a
crash goes back to pending at the next start, so delivery is at least once.
Done and failed tasks are kept ``OutboxRetention`` days (for ``task`` and for
an admin asking what happened), then removed.
"""

import json
from datetime import timedelta

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


def enqueue(db, clock, kind, payload):
    db.execute("INSERT INTO outbox (created, kind, payload, next_try) VALUES (?, ?, ?, ?)",
               (clock.stamp(), kind, json.dumps(payload, ensure_ascii=False), clock.stamp()))


def record_failed(db, clock, kind, payload, reason):
    """A task nobody can carry out again but staff must see (a plugin's after-event that
    failed after commit): failed from the start, with its reason.  Returns its id."""
    now = clock.stamp()
    return db.execute("INSERT INTO outbox (created, kind, payload, next_try, state, attempts, last_error, done) "
                      "VALUES (?, ?, ?, ?, 'failed', 1, ?, ?) RETURNING id",
                      (now, kind, json.dumps(payload, ensure_ascii=False), now, reason, now)).fetchone()[0]


def recover(db):
    db.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'")


def claim(db, clock, limit=20):
    """Due pending tasks as (id, kind, payload), marked as being sent."""
    rows = db.execute("SELECT id, kind, payload FROM outbox WHERE state = 'pending' AND next_try <= ? "
                      "ORDER BY id LIMIT ?", (clock.stamp(), limit)).fetchall()
    db.executemany("UPDATE outbox SET state = 'sending' WHERE id = ?", [(row[0],) for row in rows])
    return [(task_id, kind, json.loads(payload)) for task_id, kind, payload in rows]


def purge(db, clock, days):
    """Remove the tasks done or failed more than ``days`` days ago; returns how many."""
    before = (clock.now() - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")
    return db.execute("DELETE FROM outbox WHERE state IN ('done', 'failed') AND done < ?", (before,)).rowcount


def finish(db, clock, task_id, error=None, retry=True):
    """Record one delivery attempt: done, or pending again later, or failed for good."""
    if error is None:
        db.execute("UPDATE outbox SET state = 'done', attempts = attempts + 1, last_error = '', done = ? "
                   "WHERE id = ?", (clock.stamp(), task_id))
        return
    attempts = db.execute("SELECT attempts + 1 FROM outbox WHERE id = ?", (task_id,)).fetchone()[0]
    if not retry or attempts >= MAX_ATTEMPTS:
        db.execute("UPDATE outbox SET state = 'failed', attempts = ?, last_error = ?, done = ? WHERE id = ?",
                   (attempts, error, clock.stamp(), task_id))
        return
    delay = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    db.execute("UPDATE outbox SET state = 'pending', attempts = ?, last_error = ?, next_try = ? WHERE id = ?",
               (attempts, error, (clock.now() + delay).strftime("%Y-%m-%d %H:%M:%S"), task_id))
