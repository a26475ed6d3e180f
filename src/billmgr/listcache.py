"""Rendered list replies, kept while the tables they were read from are unchanged.

Panels, plugins and monitoring poll the same lists over and over, and
between two changes of the tables a list reads the answer is the same, so
it is rendered once.  An entry remembers the tables its reply read (the
store records them: ``Store.tables_read``) and the store's change
tick from before its transaction began; it is good while none of those
tables changed since (``Store.changes``).  So a commit to ``outbox`` leaves
the cached ``account`` lists alone, and a reply computed across a change of
its own tables is never kept.  A commit by another process (an admin's
sqlite3 shell) counts as a change of every table.

The cache holds at most ``MAX_BYTES`` of replies, dropping the least
recently used first, and never keeps a reply over ``MAX_ENTRY`` (those
lists stream, and a second reading costs less than the memory).

Only lists of built-in handlers without events are cached, keyed by
everything that shapes the reply: the configuration snapshot's version,
the parameters, the caller, language and format.
"""

import sys
import threading
from collections import OrderedDict

MAX_BYTES = 64 * 1024 * 1024
MAX_ENTRY = 1024 * 1024


class ListCache:
    def __init__(self, store, max_bytes=MAX_BYTES, max_entry=MAX_ENTRY):
        self._store = store
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._max_entry = max_entry
        self._size = 0
        self._entries = OrderedDict()    # key -> (body, content type, tables, tick, size)

    def start(self):
        """The tick to hand to ``put``: take it before the reply's transaction begins."""
        return self._store.changes.tick

    def get(self, key):
        """(body, content type) of a reply still good, or None."""
        self._store.notice_outside_commits()
        now = self._store.changes.tick
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            body, content_type, tables, tick, size = entry
            if self._store.changes.since(tables, tick):
                self._drop(key)
                return None
            if tick < now:     # still true now: later checks need look only at changes after this one
                self._entries[key] = (body, content_type, tables, now, size)
            self._entries.move_to_end(key)
            return body, content_type

    def put(self, key, tick, tables, body, content_type):
        """Keep a reply read from ``tables`` in a transaction begun after ``tick``,
        unless it is too big or one of its tables changed meanwhile."""
        size = sys.getsizeof(body)
        if size > self._max_entry:
            return
        self._store.notice_outside_commits()
        if self._store.changes.since(tables, tick):
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (body, content_type, frozenset(tables), tick, size)
            self._size += size
            while self._size > self._max_bytes:
                self._drop(next(iter(self._entries)))

    def _drop(self, key):
        self._size -= self._entries.pop(key)[4]
