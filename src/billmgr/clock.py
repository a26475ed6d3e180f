"""The one source of "now", so tests can move time without sleeping."""

from datetime import datetime, timezone


class Clock:
    def now(self):
        return datetime.now(timezone.utc).replace(microsecond=0)

    def stamp(self):
        """Now as stored in the database: ISO 8601 UTC, seconds precision."""
        return self.now().strftime("%Y-%m-%d %H:%M:%S")
