"""The scheduler: starts the nightly run once a day, at ``NightlyTime`` of the daemon's clock
(``NightlyTime off``: never; cron runs ``billmgrd nightly`` instead).

It looks every second (a moved test clock is seen at once) and asks the
database only when the day has no finished run yet, so a daemon started
after the time -- or restarted after being killed in the middle -- runs (or
finishes) the day's run.  With several daemons on one PostgreSQL database
one of them at a time runs it (``Store.hold``).
"""

import logging
import threading

from .. import errors
from ..jobs import nightly

log = logging.getLogger("billmgr.scheduler")


class Scheduler:
    def __init__(self, store, clock, snapshot):
        self.store, self.clock, self.snapshot = store, clock, snapshot
        self._done = None          # the last day whose run this daemon saw finished
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="billmgr-scheduler", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()     # a nightly run stops after the chunk it is in

    def _run(self):
        while not self._stop.wait(1.0):
            try:
                self.tick()
            except errors.MgrError as exc:   # busy: another process holds the database's write lock
                log.warning("scheduler: the database is %s; trying again in a second", exc.type)
            except Exception:
                log.exception("scheduler fault; trying again in a second")

    def tick(self):
        snapshot = self.snapshot()
        at, now = snapshot.config.nightly_time, self.clock.now()
        day = now.date()
        if at is None or self._done == day or (now.hour, now.minute) < at:
            return
        if self._finished(day):
            self._done = day
            return
        if not self.store.hold("nightly"):      # another daemon runs it
            return
        log.info("nightly run for %s", day)
        if all(nightly.run(self.store, snapshot, self.clock, day, stopping=self._stop.is_set)):
            self._done = day

    def _finished(self, day):
        with self.store.transaction() as db:
            return db.execute("SELECT count(*) FROM nightly_run WHERE day = ? AND finished IS NOT NULL",
                              (day.isoformat(),)).fetchone()[0] == len(nightly.STEPS)
