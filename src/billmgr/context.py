"""Context: what shared helpers need to act for someone, without a request.

History, mail, the ledger and the outbox need a database transaction, the
clock, who acts (name and address), what they are doing and in which
language; mail also needs the configuration and the message catalogues of
the snapshot the caller runs with, and the ledger the store's SQL dialect
(to lock the rows it changes where several writers share the database).
A handler gets one from its request (``Request.context``); the nightly run
or a module callback builds its own, so every caller shares the same
helpers unchanged.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    db: object           # a connection inside the caller's transaction
    clock: object
    actor: str           # who acts: a login, a system user, a job's name
    address: str = "local"
    lang: str = "en"
    action: str = ""     # what is being done: the function or job step
    config: object = None     # of the caller's snapshot
    registry: object = None
    dialect: object = None    # of the store ``db`` belongs to

    @classmethod
    def of(cls, req):
        """The context of a request: its transaction, clock, caller, function and snapshot."""
        return cls(req.db, req.clock, req.caller.name or "-", req.caller.address, req.lang, req.spec.name,
                   req.config, req.registry, req.store.dialect)
