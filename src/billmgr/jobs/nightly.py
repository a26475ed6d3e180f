"""The nightly run: for one day, the daily charges, the modules' usage reports and the charge for
yesterday's usage, auto-renewals, suspensions, deletions and expiry notices, each a step that can also
run by itself.

Every step picks its services by a condition its own work makes false
(a renewed service no longer expires soon, a suspended one is no longer
active, a charged day has its expense), and the money keys are unique in the
database, so a step run twice -- or killed and run again -- does each
service once.  Services are worked ``CHUNK`` to a transaction, each in a
savepoint: one that fails (no money, a race lost) is rolled back alone and
counted, and a chunk that was never committed is simply done again.  Each
(day, step) records when it ran and what it did (``nightly_run``).
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from .. import errors, ledger, mail
from ..context import Context
from ..modules import processing
from ..services import items, lines, usage

log = logging.getLogger("billmgr.nightly")

CHUNK = 500
NOTICE_DAYS = (7, 3, 1)     # ours: expiry notices this many days ahead


@dataclass
class Outcome:
    step: str
    done: int = 0
    skipped: int = 0
    failed: int = 0


class Skip(Exception):
    """This service has nothing to do in this step after all (no money to renew, already done)."""


# -- the steps: (candidates, act) -------------------------------------------------------------------------

def _billdaily_candidates(db, day, config):
    return db.execute("SELECT i.id FROM item i JOIN pricelist p ON p.id = i.pricelist WHERE i.parent IS NULL "
                      "AND i.status = ? AND p.billdaily = 1 AND (i.expiredate IS NULL OR i.expiredate <= ?) "
                      "ORDER BY i.id", (items.ACTIVE, day.isoformat()))


def _billdaily(ctx, item, day, config):
    if item.status != items.ACTIVE or (item.expiry and item.expiry > day):
        raise Skip()
    lines.carry_out(ctx, lines.day_of(ctx, item, day))


def _collect(store, snapshot, day, outcome):
    """Ask every processing module that declares ``stat`` for its services' usage: it reports it with
    service.setstat through mgrctl, so it runs outside any transaction, one module after another."""
    with store.transaction() as db:
        found = [(id_, name, processing.clear_params(db, snapshot.config, id_))
                 for id_, name in db.execute("SELECT id, module FROM processingmodule ORDER BY id").fetchall()]
    for id_, name, params in found:
        module = snapshot.processing.get(name)
        if module is None or not module.does("stat"):
            outcome.skipped += 1
            continue
        try:
            processing.run(module.path, snapshot.config, ["--command", "stat", "--module", str(id_)],
                           processing.connection_doc(id_, params))
            outcome.done += 1
        except processing.ModuleError as exc:
            outcome.failed += 1
            log.warning("nightly collect: processing module #%s (%s): %s", id_, name, exc)


def _statistics_candidates(db, day, config):
    yesterday = (day - timedelta(days=1)).isoformat()
    return db.execute("SELECT i.id FROM item i WHERE i.parent IS NULL AND i.status IN (?, ?, ?) AND EXISTS "
                      "(SELECT 1 FROM pricelist a WHERE a.parent = i.pricelist AND a.billtype = ?) AND NOT EXISTS "
                      "(SELECT 1 FROM itemstat_charge c WHERE c.item = i.id AND c.statdate = ?) ORDER BY i.id",
                      (items.ACTIVE, items.SUSPENDED, items.PROCESSING, usage.STATISTICS, yesterday))


def _statistics(ctx, item, day, config):
    """Charge yesterday's usage (service.statdaily without force)."""
    usage.charge_day(ctx, item.id, day - timedelta(days=1))


def _renew_candidates(db, day, config):
    horizon = (day + timedelta(days=config.prolong_before_days)).isoformat()
    return db.execute("SELECT i.id FROM item i JOIN pricelist p ON p.id = i.pricelist WHERE i.parent IS NULL "
                      "AND i.autoprolong IS NOT NULL AND p.billdaily = 0 AND i.expiredate <= ? "
                      "AND (i.status = ? OR (i.status = ? AND i.autosuspend = 1)) ORDER BY i.id",
                      (horizon, items.ACTIVE, items.SUSPENDED))


def _renew(ctx, item, day, config):
    """Renew for the auto-renewal period when the balance and credit cover the price (DOMAIN, ours)."""
    if item.autoprolong is None or not item.expiry or item.expiry > day + timedelta(days=config.prolong_before_days):
        raise Skip()
    line = lines.renewal(ctx, item, item.autoprolong)
    money = ledger.lock(ctx, item.subaccount)
    if money.balance.minor + money.creditlimit.minor < line.quote.amount.minor:
        raise Skip()
    lines.carry_out(ctx, line)


def _suspend_candidates(db, day, config):
    return db.execute("SELECT id FROM item WHERE parent IS NULL AND status = ? AND expiredate < ? ORDER BY id",
                      (items.ACTIVE, day.isoformat()))


def _suspend(ctx, item, day, config):
    if item.status != items.ACTIVE or not item.expiry or item.expiry >= day:
        raise Skip()
    items.update(ctx, item.id, status=items.PROCESSING, autosuspend=1, suspenddate=ctx.clock.stamp())
    items.record(ctx, item.id, "suspend")


def _delete_candidates(db, day, config):
    due = []
    for id_, suspended, automatic, keep_days in db.execute(
            "SELECT i.id, i.suspenddate, i.autosuspend, t.autodeleteperiod FROM item i "
            "JOIN itemtype t ON t.id = i.itemtype WHERE i.parent IS NULL AND i.status = ? ORDER BY i.id",
            (items.SUSPENDED,)).fetchall():
        if suspended and (automatic or config.delete_manual_suspend) and \
                date.fromisoformat(suspended[:10]) + timedelta(days=keep_days) <= day:
            due.append((id_,))
    return due


def _delete(ctx, item, day, config):
    if item.status != items.SUSPENDED:
        raise Skip()
    items.update(ctx, item.id, status=items.PROCESSING)
    items.record(ctx, item.id, "close")


def _notice_candidates(db, day, config):
    ahead = [(day + timedelta(days=n)).isoformat() for n in NOTICE_DAYS]
    return db.execute(f"SELECT id FROM item WHERE parent IS NULL AND status = ? AND expiredate IN "
                      f"({', '.join('?' * len(ahead))}) ORDER BY id", (items.ACTIVE, *ahead))


def _notice(ctx, item, day, config):
    """Tell the client a service expires in a few days; once per service and day."""
    if ctx.db.execute("INSERT INTO item_notice (item, kind, day) VALUES (?, 'expiry', ?) ON CONFLICT DO NOTHING",
                      (item.id, day.isoformat())).rowcount != 1:
        raise Skip()
    email = ctx.db.execute("SELECT email FROM account WHERE id = ?", (item.account,)).fetchone()[0]
    renewal = "expiry_renewal_on" if item.autoprolong is not None else "expiry_renewal_off"
    mail.queue(ctx, email, "expiry", service=f"{item.intname} #{item.id}", domain=item.domain,
               expiredate=item.expiredate, renewal=ctx.registry.message(ctx.lang, "mail", renewal))


STEPS = {"billdaily": (_billdaily_candidates, _billdaily),
         "collect": (None, _collect),           # not per service: see _collect
         "statistics": (_statistics_candidates, _statistics),
         "renew": (_renew_candidates, _renew),
         "suspend": (_suspend_candidates, _suspend),
         "delete": (_delete_candidates, _delete),
         "notify": (_notice_candidates, _notice)}


# -- running ------------------------------------------------------------------------------------------------

def run(store, snapshot, clock, day, steps=None, progress=None, stopping=lambda: False):
    """Run ``steps`` (default: all, in order) for ``day``; their Outcomes, None for a step cut short because
    ``stopping()`` said so (between chunks).  ``progress(step, total)`` returns a callable told how many
    services each chunk finished (a progress bar), or None."""
    outcomes = []
    for name in steps or STEPS:
        outcomes.append(None if stopping() else run_step(store, snapshot, clock, day, name, progress, stopping))
    return outcomes


def run_step(store, snapshot, clock, day, name, progress=None, stopping=lambda: False):
    candidates, act = STEPS[name]
    config = snapshot.config
    outcome = Outcome(name)
    _record(store, clock, day, name, started=True)
    if candidates is None:
        act(store, snapshot, day, outcome)
        return _finish(store, clock, day, name, outcome)
    with store.transaction() as db:
        due = [id_ for (id_,) in candidates(db, day, config)]
    advance = progress(name, len(due)) if progress else None
    for start in range(0, len(due), CHUNK):
        if stopping():
            return None
        chunk = due[start:start + CHUNK]
        with store.transaction(write=True) as db:
            ctx = Context(db, clock, "nightly", "local", "en", f"nightly.{name}", config, snapshot.registry,
                          store.dialect)
            for id_ in chunk:
                _one(ctx, store, act, id_, day, config, outcome)
            _count(db, day, name, outcome)
        if advance:
            advance(len(chunk))
    return _finish(store, clock, day, name, outcome)


def _finish(store, clock, day, name, outcome):
    with store.transaction(write=True) as db:
        _count(db, day, name, outcome)
    _record(store, clock, day, name, started=False)
    log.info("nightly %s %s: %d done, %d skipped, %d failed", day, name, outcome.done, outcome.skipped,
             outcome.failed)
    return outcome


def _one(ctx, store, act, id_, day, config, outcome):
    """``act`` on service ``id_`` in a savepoint: its failure undoes it alone."""
    ctx.db.execute("SAVEPOINT service")
    try:
        act(ctx, items.load(ctx.db, id_), day, config)
        outcome.done += 1
    except (Skip, errors.MgrError, store.IntegrityError, *store.LOST_RACE) as exc:
        ctx.db.execute("ROLLBACK TO SAVEPOINT service")
        if isinstance(exc, Skip):
            outcome.skipped += 1
        else:
            outcome.failed += 1
            log.warning("nightly %s: service #%s: %s", ctx.action, id_, exc)
    ctx.db.execute("RELEASE SAVEPOINT service")


def _record(store, clock, day, name, started):
    """The step's start (a run again restarts its record) or its end."""
    with store.transaction(write=True) as db:
        if started:
            db.execute("INSERT INTO nightly_run (day, step, started) VALUES (?, ?, ?) ON CONFLICT (day, step) "
                       "DO UPDATE SET started = excluded.started, finished = NULL",
                       (day.isoformat(), name, clock.stamp()))
        else:
            db.execute("UPDATE nightly_run SET finished = ? WHERE day = ? AND step = ?",
                       (clock.stamp(), day.isoformat(), name))


def _count(db, day, name, outcome):
    """What the step has done so far, committed with the chunk that did it."""
    db.execute("UPDATE nightly_run SET done = ?, skipped = ?, failed = ? WHERE day = ? AND step = ?",
               (outcome.done, outcome.skipped, outcome.failed, day.isoformat(), name))
