"""The request pipeline: caller -> function -> access -> validation ->
before-events -> handler and python after-events (in one transaction) ->
commit -> cgi/xml after-events -> rendered reply.

An error reply means nothing changed and a success reply that the change is
durable: before-events may refuse a call; python after-events share the
function's transaction, so their failure rolls it back; cgi and xml
after-events see the committed change, and since they cannot undo it their
failure is logged and left as a failed task for staff instead of answered.

Every transport (Unix socket, HTTP) hands its parameters and its idea of
the caller to ``Dispatcher.handle`` and sends back the Reply it gets.  A
Reply is text in hand, or -- for a list too long to hold -- an iterator of
text chunks read from the request's still open read transaction, which the
transport sends as they come and then closes.
"""

import logging
import random
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass

from . import errors, logs, protocol, render
from .auth import Authenticator, switch_user
from .context import Context
from .doc import Attachment, Doc, ErrorInfo, RowSource
from .errors import MgrError
from .listcache import ListCache
from .modules.payment import PaymentModules
from .params import Params
from .registry import LANGS
from .snapshot import Snapshot
from .store import outbox
from .validation import int_param, validate

log = logging.getLogger("billmgr.request")
plugin_log = logging.getLogger("billmgr.plugin")

SECRET_PARAMS = frozenset({"passwd", "password", "confirm", "authinfo", "key", "auth"})
# parameter names <tparams> can echo: XML element names (what real callers send), so every reply parses
# On a store with several writers (PostgreSQL) a transaction may lose a race -- a serialization
# failure, a deadlock, a unique key taken first -- and is run again whole, this many times at most,
# after a random pause growing with each attempt; then the call is ``busy``.
RACE_ATTEMPTS = 8
RACE_BACKOFF = 0.02       # seconds

_ECHOABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class Reply:
    chunks: object             # the rendered document: [text], or an iterator of texts (streamed)
    content_type: str
    error: str | None = None   # the error type, when the reply is an error
    caller: str = "-"          # who the call acted as, for access logs
    session: str | None = None  # a session the call opened (func=auth), for the HTTP cookie
    rows: RowSource | None = None   # what a streamed reply reads from
    attachment: Attachment | None = None   # a file the reply is, sent raw over HTTP when no ``out`` was asked
    redirect: str = ""         # where a success sends the caller next (a browser is redirected there)

    @property
    def streamed(self):
        return self.rows is not None

    @property
    def body(self):
        """The whole text (of a streamed reply too, read to its end)."""
        if self.rows is None:
            return "".join(self.chunks)
        try:
            return "".join(self.chunks)
        finally:
            self.close()

    def close(self):
        """Release what a streamed reply reads from, whether it was sent to its end or not."""
        if self.rows is not None:
            self.chunks.close()
            self.rows.close()


@dataclass(frozen=True)
class View:
    """What devel and print need to know about a function beyond its data."""
    metadata_xml: str
    messages: dict


class Request:
    """What a handler sees: parameters, caller, database, language, clock."""

    def __init__(self, params, caller, db, lang, spec, app, snapshot=None):
        snapshot = snapshot or app.snapshot       # the request's snapshot, not a newer one
        self.params = params
        self.caller = caller
        self.db = db
        self.lang = lang
        self.spec = spec
        self.clock = app.clock
        self.config = snapshot.config
        self.registry = snapshot.registry
        self.paymodules = snapshot.paymodules
        self.processing = snapshot.processing
        self.auth = app.auth
        self.store = app.store

    @property
    def elid(self):
        return self.params.get("elid", "")

    def int_param(self, name):
        """Parameter ``name`` as an id or number: None when absent or empty; a ``value`` error
        unless it is a whole number that fits a 64-bit column."""
        return int_param(self.params, name)

    @property
    def sok(self):
        return bool(self.params.get("sok"))

    @property
    def context(self):
        """This request as a Context for the shared helpers (history, ledger, mail)."""
        return Context.of(self)

    def msg(self, key, default=None):
        return self.registry.message(self.lang, self.spec.group, key, default)

    def cached(self, key, make):
        """``make()`` computed once per function, language and registry snapshot."""
        return self.registry.memo((self.spec.name, self.lang, key), make)


def masked(params, private=frozenset()):
    """The parameters as logs and echoes show them: secrets, and a function's ``private`` fields, as ***."""
    return [(k, "***" if k in SECRET_PARAMS or k in private else v) for k, v in params.pairs]


def private_fields(snapshot, func):
    """What ``func`` never logs or echoes: its private fields, and for ``processing.*`` every crypted
    connection param a processing module declares (``features`` says which; no form does)."""
    private = snapshot.registry.private_fields(func)
    if func.startswith("processing."):
        private = private | {name for module in snapshot.processing.values() for name, secret in module.params
                             if secret}
    return private


def non_text(params):
    """The error for a parameter whose name or value is not Unicode text, or holds a NUL; or None.

    A lone surrogate (``"\\ud800"`` in a JSON frame or body, or an undecodable
    byte smuggled through) has no UTF-8 form: stored, it would break every
    later reply that shows it.  A NUL cannot be stored as text by PostgreSQL
    nor shown in XML, so no store takes one.  Checked once, before anything
    reads the parameters; they are cleaned (U+FFFD in place of such code
    points) so the error and the log can show them.
    """
    for name, value in params.pairs:
        try:
            name.encode()
            value.encode()
        except UnicodeEncodeError:
            params.pairs = [(protocol.scrub(k), protocol.scrub(v)) for k, v in params.pairs]
            return errors.value(protocol.scrub(name), protocol.scrub(value), "msg_error_not_text")
        if "\x00" in name or "\x00" in value:
            params.pairs = [(k.replace("\x00", "\ufffd"), v.replace("\x00", "\ufffd")) for k, v in params.pairs]
            return errors.value(protocol.scrub(name).replace("\x00", "\ufffd"),
                                protocol.scrub(value).replace("\x00", "\ufffd"), "msg_error_nul")
    return None


class Dispatcher:
    """Holds the current snapshot (configuration and registry), the store and
    the clock; turns calls into replies.  A reload replaces ``snapshot``."""

    def __init__(self, registry, store, config, clock, paymodules=None, processing=None):
        self.snapshot = Snapshot(1, config, registry, paymodules or PaymentModules(), processing or {})
        self.store = store
        self.clock = clock
        self.auth = Authenticator(store, clock)
        self.cache = ListCache(store)
        self.suspended = False

    @property
    def registry(self):
        return self.snapshot.registry

    @property
    def config(self):
        return self.snapshot.config

    def runs_inline(self, pairs, snapshot=None):
        """Whether a call is a quick core read that may run on the event loop.

        Writes (which wait for the writer and for fsync), plugin handlers
        (which may block or call back into billmgr), functions declared
        ``worker="yes"`` or given event handlers, and password checks not
        verified in the last minute (scrypt is slow on purpose) run on worker
        threads.
        """
        params = Params(pairs)
        spec = (snapshot or self.snapshot).registry.get(params.get("func", ""))
        if spec is None:
            return True
        slow_login = "authinfo" in params and not self.auth.recently_verified(params.get("authinfo"))
        return not (spec.worker or spec.handler.plugin or spec.writes(params) or slow_login)

    def handle(self, pairs, identify, snapshot=None):
        """Run one call given as (name, value) pairs; never raises.

        ``identify`` is the transport's way to name the caller: it returns a
        Caller or raises an ``auth`` MgrError.  ``snapshot`` is the one
        ``runs_inline`` decided on, when the caller asked it.  A streamed
        Reply must be closed by whoever sends it.
        """
        started = time.perf_counter()
        params = Params(pairs)
        snapshot = snapshot or self.snapshot  # one snapshot for the whole request, even across a reload
        registry = snapshot.registry
        refusal = non_text(params)
        func = params.get("func", "")
        lang = params.get("lang") if params.get("lang") in LANGS else "en"
        out = render.resolve(params.get("out"))
        spec = registry.get(func)
        private = private_fields(snapshot, func)
        caller, cache_key, statements = None, None, None
        try:
            if refusal:
                raise refusal
            caller = self._admit(snapshot, spec, func, params, identify())
            cache_key = self._cache_key(snapshot, spec, params, caller, lang, out)
            if cache_key:
                kept = self.cache.get(cache_key)
                if kept:
                    return self._reply([kept[0]], kept[1], None, func, masked(params, private), caller, started)
                tick, statements = self.cache.start(), []
            doc = self._execute(snapshot, spec, params, caller, lang, statements)
        except MgrError as exc:
            doc = Doc(error=self._error_info(registry, exc, spec.group if spec else func, lang))
        except Exception:
            log.exception("internal error in %s %s", func, masked(params, private))
            doc = Doc(error=self._error_info(registry, errors.internal(), func, lang))
        doc.func, doc.lang = func, lang
        view = None
        if spec is not None and out in ("devel", "print"):
            view = View(spec.metadata_xml, registry.function_messages(lang, spec.group))
        content_type, chunks = render.chunks(doc, out, view)
        if cache_key and doc.more is None and not doc.error:
            self.cache.put(cache_key, tick, self.store.tables_read(statements), chunks[0], content_type)
        return self._reply(chunks, content_type, doc, func, masked(params, private), caller, started)

    def refusal(self, exc, func="", lang=None, out=None):
        """The reply to a request refused before any function ran: an error
        document like a function's, in ``out`` and ``lang`` (control operations)."""
        lang = lang if lang in LANGS else "en"
        doc = Doc(func=func, lang=lang, error=self._error_info(self.registry, exc, func, lang))
        content_type, body = render.render(doc, out)
        return Reply([body], content_type, exc.type)

    @staticmethod
    def _reply(chunks, content_type, doc, func, shown_params, caller, started):
        error = doc.error.type if doc is not None and doc.error else None
        logs.request(caller.name if caller else "-", func, shown_params, error or "ok",
                     time.perf_counter() - started)
        return Reply(chunks, content_type, error, caller.name if caller and caller.name else "-",
                     doc.session if doc is not None else None, doc.more if doc is not None else None,
                     doc.attachment if doc is not None and not error else None,
                     doc.redirect if doc is not None and not error else "")

    @staticmethod
    def _cache_key(snapshot, spec, params, caller, lang, out):
        """What identifies a cacheable reply (see listcache), or None."""
        if spec.kind != "list" or spec.handler.plugin or spec.before or spec.after:
            return None
        return (snapshot.version, tuple(params.pairs), caller, lang, out)

    def _caller(self, config, default, params):
        """Who the call acts as: its session or authinfo, else the transport's caller; then su."""
        caller = self.auth.caller(params, default, config)
        if params.get("su"):
            with self.store.transaction() as db:
                caller = switch_user(caller, params.get("su"), db, self.store.dialect)
        return caller

    def _admit(self, snapshot, spec, func, params, caller):
        """The caller the call acts as, once it may run: the panel is up, the
        function exists, the caller may call it and the parameters are valid."""
        if self.suspended:
            raise MgrError("access", "panel", "", "msg_error_suspended")
        if spec is None:
            raise MgrError("func", func or "func", func)
        caller = self._caller(snapshot.config, caller, params)
        if not caller.may_call(spec):
            raise errors.auth() if caller.level == "public" else errors.access(func)
        if spec.levels == {"user"} and caller.account is None:   # the superuser, not acting as a client
            raise MgrError("access", func, func, "msg_error_client_only")
        validate(spec, params)
        return caller

    def _execute(self, snapshot, spec, params, caller, lang, statements=None):
        req = Request(params, caller, None, lang, spec, self, snapshot)
        for event in spec.before:
            self._before(event, req)
        write = spec.writes(params)
        doc = self._transact(spec, req, write, statements)
        for event in spec.after:
            if event.type != "python":
                doc = self._after_commit(event, req, doc, write)
        if req.sok and not doc.error:
            doc.ok = True          # a confirmed call answers <ok/> whatever else its handler shows
        if doc.ok:
            doc.tparams = [(name, value) for name, value in masked(params, private_fields(snapshot, spec.name))
                           if _ECHOABLE.fullmatch(name)]
        return doc

    def _before(self, event, req):
        """A before-event: it may refuse the call.  A python one reads in a transaction of its own;
        a cgi or xml one runs outside any, so that it may call back through mgrctl."""
        if event.type != "python":
            return event.call(req)
        with self.store.transaction() as req.db:
            return event.call(req)

    def _transact(self, spec, req, write, statements=None):
        """The function's reply: the function and its python after-events in one transaction.

        A cgi or xml function runs outside it, before it (it writes through
        mgrctl, each call committed by itself).  A list that streams keeps its
        read transaction open: its row source ends it when closed.
        ``statements`` collects the SQL the handler ran (see Store.tables_read).
        """
        handler, done = spec.handler, None
        if handler.type != "python":
            done = handler.call(req) or Doc(ok=True)
        inside = [event for event in spec.after if event.type == "python"]
        if done is not None and not inside:
            return done
        for attempt in range(1, RACE_ATTEMPTS + 1):
            doc = done
            try:
                with ExitStack() as stack:
                    req.db = stack.enter_context(self.store.transaction(write=write, statements=statements))
                    if doc is None:
                        doc = handler.call(req) or Doc(ok=True)
                    for event in inside:
                        doc = event.call(req, doc) or doc
                    if doc.more is not None:
                        doc.more = RowSource(doc.more, stack.pop_all().close)
                return doc
            except self.store.LOST_RACE as exc:     # rolled back: the whole function runs again
                log.info("%s lost a race to another transaction (%s); attempt %d", spec.name,
                         exc.__class__.__name__, attempt)
                time.sleep(random.uniform(0, RACE_BACKOFF * attempt))
        raise errors.busy()

    def _after_commit(self, event, req, doc, wrote):
        """A cgi or xml after-event: the reply as it changes it.  Once the call has written, its
        failure cannot undo the change: it is logged and recorded as a failed task, and the
        reply stays the success it was."""
        try:
            return event.call(req, doc) or doc
        except MgrError as exc:
            if not wrote:
                raise
            reason = self._error_info(req.registry, exc, req.spec.group, "en").msg
            payload = {"handler": event.name, "func": req.spec.name, "caller": req.caller.name or "-",
                       "params": masked(req.params, req.registry.private_fields(req.spec.name))}
            try:
                with self.store.transaction(write=True) as db:
                    task = outbox.record_failed(db, self.clock, "event", payload, reason)
                plugin_log.error("after-event %s of %s failed after its change was committed (task %s): %s",
                                 event.name, req.spec.name, task, reason)
            except MgrError:
                plugin_log.error("after-event %s of %s failed after its change was committed (%s), "
                                 "and no task could be recorded: %s", event.name, req.spec.name, payload, reason)
            return doc

    @staticmethod
    def _error_info(registry, exc, func, lang):
        """The error with its message in ``lang``; the object named by its label."""
        template = registry.message(lang, func, exc.message, "") or registry.message(
            lang, func, f"msg_error_{exc.type}")
        label = registry.message(lang, func, exc.object, exc.object) if exc.object else ""
        text = template.replace("__object__", label).replace("__value__", exc.value)
        if exc.detail:
            text = f"{text}: {exc.detail}"
        return ErrorInfo(exc.type, exc.object, exc.value, exc.text or text)
