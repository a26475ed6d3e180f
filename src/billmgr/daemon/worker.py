"""The workers: the task worker carries out the outbox after commit, with retries; the operation
worker runs processing modules' commands (modules/operations.py).

It runs on its own thread, wakes every second (or when poked after a
commit) and delivers due tasks outside any transaction, recording each
attempt in a short one of its own.  Once an hour (of the daemon's clock) it
removes the tasks finished longer ago than ``OutboxRetention`` days.  With
several daemons on one PostgreSQL database, one of them at a time delivers
(``Store.hold``); should it die, another takes over at its next round.
"""

import base64
import logging
import smtplib
import subprocess
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from .. import errors, logs
from ..modules import operations
from ..store import outbox

log = logging.getLogger("billmgr.worker")

SMTP_TIMEOUT = 30
GATEWAY_TIMEOUT = 30
PURGE_EVERY = timedelta(hours=1)


class DeliveryError(Exception):
    """A task could not be carried out; ``retry`` says whether trying later may help."""

    def __init__(self, reason, retry=True):
        super().__init__(reason)
        self.retry = retry


def send_mail(payload, config):
    if not config.smtp_server:
        raise DeliveryError("no SmtpServer is configured")
    message = EmailMessage()
    message["From"] = config.mail_from or "billmgr@localhost"
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message.set_content(payload["body"])
    for attachment in payload.get("attachments", ()):
        maintype, subtype = attachment["content_type"].split("/", 1)
        message.add_attachment(base64.b64decode(attachment["content"]), maintype=maintype, subtype=subtype,
                               filename=attachment["filename"])
    host, port = config.smtp_server
    try:
        with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {exc}", retry=False) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP {host}:{port}: {exc}") from None


def send_sms(payload, config):
    """Runs the configured gateway executable: ``GATEWAY PHONE`` with the text on stdin."""
    if not config.sms_gateway:
        raise DeliveryError("no SmsGateway is configured", retry=False)
    gateway = Path(config.addon) / config.sms_gateway
    try:
        result = subprocess.run([str(gateway), payload["phone"]], input=payload["message"], text=True,
                                capture_output=True, timeout=GATEWAY_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DeliveryError(f"SMS gateway {config.sms_gateway}: {exc}") from None
    if result.returncode != 0:
        raise DeliveryError(f"SMS gateway {config.sms_gateway} exited {result.returncode}: "
                            f"{result.stderr.strip()[:500]}")


DELIVERERS = {"mail": send_mail, "sms": send_sms}


class Rounds:
    """A thread doing ``round()`` every second, or at once when poked after a commit; a fault in
    one round is logged and the next round comes all the same."""

    NAME = "billmgr-rounds"
    STOP_WAIT = 5.0

    def __init__(self):
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.NAME, daemon=True)

    def start(self):
        self._thread.start()

    def poke(self):
        self._wake.set()

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=self.STOP_WAIT)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.round()
            except errors.MgrError as exc:   # busy: another process holds the database's write lock
                log.warning("%s: the database is %s; retrying in a second", self.NAME, exc.type)
            except Exception:
                log.exception("%s fault; retrying in a second", self.NAME)
            self._wake.wait(1.0)
            self._wake.clear()

    def round(self):
        raise NotImplementedError


class OperationWorker(Rounds):
    """Runs the due running operations; one daemon at a time (``Store.hold``).  A daemon stopping
    does not wait for a module still running: its operation was counted, and is tried again."""

    NAME = "billmgr-operations"

    def __init__(self, store, clock, snapshot):
        super().__init__()
        self.store, self.clock, self.snapshot = store, clock, snapshot

    def round(self):
        if self.store.hold("operations"):
            while operations.run_due(self.store, self.clock, self.snapshot()) and not self._stop.is_set():
                pass


class TaskWorker(Rounds):
    NAME = "billmgr-tasks"
    STOP_WAIT = SMTP_TIMEOUT + 5

    def __init__(self, store, clock, snapshot):
        super().__init__()
        self.store = store
        self.clock = clock
        self.snapshot = snapshot      # () -> the current Snapshot; each round takes one
        self._next_purge = None
        self._recovered = False     # tasks a stopped daemon left half-sent are pending again

    def round(self):
        self.deliver_due()

    def deliver_due(self):
        if not self.store.hold("tasks"):     # another daemon on the same database delivers them
            return
        config = self.snapshot().config
        if self._next_purge is None or self.clock.now() >= self._next_purge:
            with self.store.transaction(write=True) as db:
                removed = outbox.purge(db, self.clock, config.outbox_retention)
            if removed:
                log.info("removed %d tasks finished over %d days ago", removed, config.outbox_retention)
            self._next_purge = self.clock.now() + PURGE_EVERY
        with self.store.transaction(write=True) as db:
            if not self._recovered:   # in our first round as the deliverer, retried while the database is busy
                outbox.recover(db)
                self._recovered = True
            tasks = outbox.claim(db, self.clock)
        for task_id, kind, payload in tasks:
            started = time.perf_counter()
            error, retry = None, True
            try:
                DELIVERERS[kind](payload, config)
            except DeliveryError as exc:
                error, retry = str(exc), exc.retry
            except Exception as exc:   # a bad payload must not stop the worker
                log.exception("task %s (%s) failed unexpectedly", task_id, kind)
                error, retry = f"internal error: {exc.__class__.__name__}", False
            with self.store.transaction(write=True) as db:
                outbox.finish(db, self.clock, task_id, error, retry)
            logs.job(f"task.{kind}", task_id, error, time.perf_counter() - started)
