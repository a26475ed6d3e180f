"""Snapshot: the configuration and the function registry a request or job runs with.

They (and what the processing modules said they do) change only at a
reload, and always together: the reload builds a new Snapshot and swaps
it in with one assignment, so no request ever sees the new configuration
with the old functions.  Every request and every job
takes the current snapshot once, at its start, and uses that one to the
end.  ``version`` grows by one per reload; caches of derived values (the
list cache) key on it instead of on object identities.
"""

from typing import NamedTuple

from .config import Config
from .modules.payment import PaymentModules
from .registry import Registry


class Snapshot(NamedTuple):
    version: int
    config: Config
    registry: Registry
    paymodules: PaymentModules = PaymentModules()   # the payment modules loaded with this configuration
    processing: dict = {}    # name -> modules.processing.Module: what each processing module said it does

    def next(self, config, registry, paymodules=None, processing=None):
        """The snapshot that replaces this one at a reload (the modules kept when none are given)."""
        return Snapshot(self.version + 1, config, registry, paymodules or self.paymodules,
                        self.processing if processing is None else processing)
