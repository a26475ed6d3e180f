"""Which tables changed since when: what lets a cache keep a result exactly
as long as the tables it came from are unchanged.

Every commit of the store's writer names the tables it wrote (an
authorizer on the writer collects the targets of INSERT, UPDATE and
DELETE, with those of triggers and cascades) and ticks one counter for the
whole store, recording the tick on each of those tables.  A result read
from tables T in a transaction that began after tick S is still true while
no table of T changed after S.  A commit by another process (an admin's
sqlite3 shell) names no tables: it counts as a change of every table.
"""

import threading


class Changes:
    def __init__(self):
        self._lock = threading.Lock()
        self.tick = 0            # read before a transaction begins: its "S"
        self._changed = {}       # table -> tick of its last change
        self._everything = 0     # tick of the last change from outside

    def wrote(self, tables):
        """Record a commit that wrote ``tables``; call it after COMMIT."""
        with self._lock:
            self.tick += 1
            for table in tables:
                self._changed[table] = self.tick

    def wrote_everything(self):
        with self._lock:
            self.tick += 1
            self._everything = self.tick

    def since(self, tables, tick):
        """Whether any of ``tables`` changed after ``tick``."""
        if tick >= self.tick:        # nothing at all did: the usual answer to a poll
            return False
        if self._everything > tick:
            return True
        changed = self._changed
        return any(changed.get(table, 0) > tick for table in tables)
