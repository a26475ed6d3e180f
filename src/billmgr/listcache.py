"""Rendered list replies, kept until the database changes.

Panels, plugins and monitoring poll the same lists over and over, and
between two changes of the database the answer is the same, so it is
rendered once.  A commit by any connection -- the daemon's writer, an
admin's sqlite3 shell -- changes SQLite's ``data_version`` as seen from the
cache's own connection, and that empties the cache.  A reply computed
across a change is not kept.

Only lists of built-in handlers without events are cached, keyed by
everything that shapes the reply: registry snapshot, configuration,
function, parameters, the caller and language and format.
"""

import sqlite3
import threading
from collections import OrderedDict

SIZE = 256


class ListCache:
    def __init__(self, path, size=SIZE):
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA query_only = ON")
        self._lock = threading.Lock()
        self._size = size
        self._version = None
        self._entries = OrderedDict()

    def _refresh(self):
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._entries.clear()
            self._version = version
        return version

    def get(self, key):
        """(the kept reply or None, the database version to hand back to ``put``)."""
        with self._lock:
            version = self._refresh()
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry, version

    def put(self, key, version, reply):
        """Keep ``reply`` if the database is still as it was when ``get`` looked."""
        with self._lock:
            if self._refresh() != version:
                return
            self._entries[key] = reply
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def close(self):
        with self._lock:
            self._conn.close()
