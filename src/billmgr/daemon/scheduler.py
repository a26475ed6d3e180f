"""The scheduler: starts the nightly run once a day, at ``NightlyTime`` of the daemon's clock
(``NightlyTime off``: never; cron runs ``billmgrd nightly`` instead).

It looks every second (a moved test clock is seen at once) and asks the
database only when the day has no finished run yet, so a daemon started
after the time -- or restarted after being killed in the middle -- runs (or
finishes) the day's run.  With several daemons on one PostgreSQL database
one of them at a time runs it (``Store.hold``).  A daemon stopping waits for
the chunk of services the run is in, not for the whole run.
"""

import logging

from ..jobs import nightly
from .worker import Rounds

log = logging.getLogger("billmgr.scheduler")


class Scheduler(Rounds):
    NAME = "billmgr-scheduler"
    STOP_WAIT = None

    def __init__(self, store, clock, snapshot):
        super().__init__()
        self.store, self.clock, self.snapshot = store, clock, snapshot
        self._done = None          # the last day whose run this daemon saw finished

    def round(self):
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
