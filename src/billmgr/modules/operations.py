"""Running operations: the module commands a change recorded, carried out after its commit.

Each round takes the due operations -- not manual, ``next_try`` passed, and the oldest pending
one of its item, so an item's commands run in the order they were given -- and counts the try and
sets the next one before running anything, so a daemon that dies mid-run retries later instead
of at once.  Then, outside any transaction, it runs
``PM --command CMD --item ID --runningoperation RO --module MODULE_ID`` (``--param N --value V``
and ``--addon ID`` from the operation's params when it has them).  Success is the module's callback,
which removes the operation; anything else -- a non-zero exit, an error document, a run that ends
without calling back -- leaves it with its error in ``errorxml`` (unless the module wrote its own
there during the run), to be tried again after a back-off that doubles from a minute; after
``MAX_TRIES`` tries it turns manual and a task is opened for a person.

An operation no module can carry out -- its processing module is '' or unknown, or does not
declare the command -- turns manual at once with a task, except ``setparam`` and ``prolong``:
those change nothing in the item's state, and a module without them has nothing to do, so the
operation is simply done.
"""

import logging
import time
from datetime import timedelta
from xml.sax.saxutils import escape

from .. import logs
from ..clock import FORMAT
from ..context import Context
from . import callbacks, processing

log = logging.getLogger("billmgr.modules")

MAX_TRIES = 10
FIRST_BACKOFF = timedelta(minutes=1)    # doubles with every try...
MAX_BACKOFF = timedelta(hours=6)         # ...up to this
BATCH = 20                               # operations taken per round
OPTIONAL = (callbacks.SETPARAM, callbacks.PROLONG)   # done without a module that lacks them
ACTOR = "billmgr"


def backoff(tries):
    """How long after its ``tries``-th failed try an operation is tried again."""
    return min(FIRST_BACKOFF * 2 ** (tries - 1), MAX_BACKOFF)


def error_xml(operation, text):
    """The error document kept in ``errorxml``, as modules write it too."""
    return (f'<doc><error type="module" object="{escape(operation)}">'
            f"<msg>{escape(text)}</msg></error></doc>")


def run_due(store, clock, snapshot):
    """One round: carry out what is due.  The number of operations tried."""
    with store.transaction(write=True) as db:
        taken = _claim(db, clock)
    for operation in taken:
        started = time.perf_counter()
        problem = _carry_out(store, clock, snapshot, operation)
        logs.job(f"operation.{operation['operation']}", operation["id"], problem, time.perf_counter() - started)
    return len(taken)


def _claim(db, clock):
    now = clock.now()
    found = db.execute(
        "SELECT r.id, r.item, r.processingmodule, r.operation, r.params, r.trycount, r.errorxml "
        "FROM runningoperation r WHERE r.manual = 0 AND r.next_try <= ? AND NOT EXISTS "
        "(SELECT 1 FROM runningoperation e WHERE e.item = r.item AND e.id < r.id) "
        "ORDER BY r.next_try, r.id LIMIT ?", (now.strftime(FORMAT), BATCH)).fetchall()
    taken = []
    for row in found:
        operation = dict(zip(("id", "item", "processingmodule", "operation", "params", "trycount", "errorxml"),
                             row))
        operation["trycount"] += 1
        next_try = (now + backoff(operation["trycount"])).strftime(FORMAT)
        db.execute("UPDATE runningoperation SET trycount = ?, next_try = ? WHERE id = ?",
                   (operation["trycount"], next_try, operation["id"]))
        taken.append(operation)
    return taken


def _carry_out(store, clock, snapshot, operation):
    """Run one operation; what went wrong, or None once it is done."""
    with store.transaction() as db:
        target = _module(db, snapshot, operation["processingmodule"])
    if isinstance(target, str):
        return _give_up(store, clock, operation, target)
    module_id, module, params = target
    command = operation["operation"]
    if module.problem:
        return _failed(store, clock, operation, f"processing module {module.name} is not usable: {module.problem}")
    if not module.does(command):
        if command in OPTIONAL:
            with store.transaction(write=True) as db:
                callbacks.finished(_context(db, clock), operation["item"], command)
            return None
        return _give_up(store, clock, operation, f"processing module {module.name} does not do {command}")
    args = ["--command", command, "--item", str(operation["item"]),
            "--runningoperation", str(operation["id"]), "--module", str(module_id)]
    extra = callbacks.params_of(operation["params"])
    for name in ("param", "value", "addon"):
        if name in extra:
            args += [f"--{name}", str(extra[name])]
    problem = None
    try:
        processing.run(module.path, snapshot.config, args, processing.connection_doc(module_id, params))
    except processing.ModuleError as exc:
        problem = str(exc)
    with store.transaction() as db:
        pending = db.execute("SELECT 1 FROM runningoperation WHERE id = ?", (operation["id"],)).fetchone()
    if pending is None:
        return None
    return _failed(store, clock, operation, problem or f"{module.name} finished without calling back "
                                                       f"(service.post{command})")


def _module(db, snapshot, module_id):
    """(id, Module, {param: clear value}) of the processing module ``module_id``; or why there is none."""
    row = db.execute("SELECT id, module FROM processingmodule WHERE CAST(id AS TEXT) = ?",
                     (module_id,)).fetchone() if module_id else None
    if row is None:
        return f"the service has no processing module ({module_id or 'none'})"
    module = snapshot.processing.get(row[1])
    if module is None:
        return f"processing module {row[1]} is not installed"
    return row[0], module, processing.clear_params(db, snapshot.config, row[0])


def _context(db, clock):
    return Context(db, clock, ACTOR, action="runningoperation")


def _failed(store, clock, operation, problem):
    """Keep the operation with its error; past MAX_TRIES it turns manual with a task."""
    with store.transaction(write=True) as db:
        row = db.execute("SELECT errorxml, trycount FROM runningoperation WHERE id = ?",
                         (operation["id"],)).fetchone()
        if row is None:            # the callback came after all
            return None
        errorxml = row[0] if row[0] != operation["errorxml"] else error_xml(operation["operation"], problem)
        manual = 1 if row[1] >= MAX_TRIES else 0
        db.execute("UPDATE runningoperation SET errorxml = ?, manual = ? WHERE id = ?",
                   (errorxml, manual, operation["id"]))
        if manual:
            callbacks.open_task(_context(db, clock), operation["item"], operation["id"],
                                operation["operation"])
    log.warning("running operation %s (%s of item %s), try %s%s: %s", operation["id"], operation["operation"],
                operation["item"], operation["trycount"], "; now manual" if manual else "", problem)
    return problem


def _give_up(store, clock, operation, problem):
    """No module can do it: manual at once, with a task."""
    with store.transaction(write=True) as db:
        db.execute("UPDATE runningoperation SET errorxml = ?, manual = 1 WHERE id = ?",
                   (error_xml(operation["operation"], problem), operation["id"]))
        callbacks.open_task(_context(db, clock), operation["item"], operation["id"], operation["operation"])
    log.warning("running operation %s (%s of item %s) is manual: %s", operation["id"], operation["operation"],
                operation["item"], problem)
    return problem

