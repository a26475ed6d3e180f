"""The one source of "now", so tests can move time without sleeping.

A daemon started with ``Option TestClock`` accepts a ``clock`` control
operation that shifts its clock forward; nothing else ever changes it.
"""

from datetime import datetime, timedelta, timezone

FORMAT = "%Y-%m-%d %H:%M:%S"


class Clock:
    def __init__(self):
        self.offset = timedelta()

    def now(self):
        return (datetime.now(timezone.utc) + self.offset).replace(microsecond=0, tzinfo=None)

    def stamp(self):
        """Now as stored in the database: ISO 8601 UTC, seconds precision."""
        return self.now().strftime(FORMAT)

    @staticmethod
    def parse(stamp):
        return datetime.strptime(stamp, FORMAT)

    def shift(self, seconds):
        self.offset += timedelta(seconds=seconds)
