"""The outbox: side effects written in the request's transaction, carried out
after commit by the daemon's task worker."""

import json


def enqueue(db, clock, kind, payload):
    db.execute("INSERT INTO outbox (created, kind, payload) VALUES (?, ?, ?)",
               (clock.stamp(), kind, json.dumps(payload, ensure_ascii=False)))
