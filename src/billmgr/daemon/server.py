"""The daemon's main loop: accept connections, serve frames, obey signals.

One thread runs a selector over the listening socket and every client
connection: it reads frames, answers quick core reads itself and hands
everything else (writes, plugin handlers, reloads) to a pool of worker
threads, whose replies it sends when they are done.  Keeping the socket
work and the quick reads on one thread spares them the GIL hand-offs that
a thread per connection pays on every request.

A reply too long to hold (a list of every client) streams: a worker thread
renders it chunk by chunk and hands the loop one frame at a time, each
saying whether more follow, and waits while the connection already has
``OUT_LIMIT`` bytes unsent -- so a slow reader never makes the daemon
buffer the whole reply, and one who leaves releases it at once.

Signal handlers only set flags and wake the loop; the loop acts.  SIGTERM
stops accepting, lets requests in flight finish and exits; SIGHUP reloads
configuration and XML, keeping the old ones if the new are broken; SIGUSR1
reopens the log file after logrotate moved it.
"""

import logging
import os
import queue
import selectors
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

from .. import config as config_mod
from .. import errors, files, logs, protocol
from ..auth import local_caller
from ..clock import Clock
from ..dispatch import Dispatcher
from ..modules import payment as paymodules
from ..modules import processing
from ..registry import LANGS, Registry, RegistryError
from ..store import open_store
from . import systemd, unixsocket
from .http import HttpListeners
from .scheduler import Scheduler
from .worker import OperationWorker, TaskWorker

log = logging.getLogger("billmgr.daemon")

MAX_CONNECTIONS = 256
MAX_WORKERS = 64          # requests running off the loop at once (writes, plugins)
IDLE_TIMEOUT = 300.0      # seconds a connection may sit without a complete request, or a reader without reading
OUT_LIMIT = 4 * 1024 * 1024   # bytes of a streamed reply handed to the loop and not yet sent
FRAME_TEXT = 1024 * 1024      # characters of a streamed chunk per frame
STOP_GRACE = 30.0         # seconds in-flight requests get after SIGTERM
RECV_SIZE = 256 * 1024
MAX_SHIFT = 100 * 366 * 86400   # seconds the test clock may move in one step
JSON_KINDS = {str: "string", int: "number", float: "number", bool: "boolean", list: "array", dict: "object"}


def _remove(path):
    with suppress(FileNotFoundError):
        os.unlink(path)


class Connection:
    """One client: its buffers, its caller and whether a worker holds its request."""

    def __init__(self, sock, uid):
        self.sock = sock
        self.uid = uid
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.busy = False        # a worker is answering its request
        self.closing = False     # close once the reply is out
        self.closed = False
        self.last_active = time.monotonic()
        self.room = threading.Condition()   # a worker streaming a reply waits here for the client
        self.unsent = 0          # bytes of that reply handed to the loop, not yet sent


class Server:
    def __init__(self, config):
        self.started = time.time()
        self.requests = 0
        self._connections = set()
        self._flags = set()
        self._done = queue.SimpleQueue()
        self.workers = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="billmgr-worker")
        self.store = open_store(config)
        registry = Registry.load(config.xml, config.addon)
        self.dispatcher = Dispatcher(registry, self.store, config, Clock(), paymodules.load(config),
                                     processing.load(registry, config))
        self.tasks = TaskWorker(self.store, self.dispatcher.clock, lambda: self.dispatcher.snapshot)
        self.operations = OperationWorker(self.store, self.dispatcher.clock, lambda: self.dispatcher.snapshot)
        self.scheduler = Scheduler(self.store, self.dispatcher.clock, lambda: self.dispatcher.snapshot)

    @property
    def config(self):
        """The configuration of the current snapshot (see Snapshot)."""
        return self.dispatcher.snapshot.config

    # -- control operations -------------------------------------------------

    def reload(self):
        """Re-read configuration and XML; on any fault keep the old ones and say why."""
        systemd.notify("RELOADING=1")
        try:
            new_config = config_mod.load(self.config.source) if self.config.source else self.config
            registry = Registry.load(new_config.xml, new_config.addon)
        except (config_mod.ConfigError, RegistryError) as exc:
            log.error("reload failed, keeping the previous configuration: %s", exc)
            return str(exc)
        finally:
            systemd.notify("READY=1")
        for name in ("db", "socket", "http_listen", "writer_wait"):
            if getattr(new_config, name) != getattr(self.config, name):
                log.warning("%s changed in the configuration; it takes effect after a restart", name)
        self.dispatcher.snapshot = self.dispatcher.snapshot.next(new_config, registry, paymodules.load(new_config),
                                                                 processing.load(registry, new_config))
        self.operations.poke()
        logs.set_level(new_config.log_level)
        log.info("reloaded: %d functions from %d files", len(registry.functions), len(registry.files))
        return None

    def status(self):
        return {"pid": os.getpid(), "started": self.started, "requests": self.requests,
                "connections": len(self._connections),
                "functions": len(self.dispatcher.registry.functions),
                "files": len(self.dispatcher.registry.files),
                "suspended": self.dispatcher.suspended}

    def _call(self, message, uid, snapshot=None):
        snapshot = snapshot or self.dispatcher.snapshot
        reply = self.dispatcher.handle(message.get("params") or [], lambda: local_caller(uid, snapshot.config),
                                       snapshot)
        if reply.streamed:
            return {"error": reply.error, "content_type": reply.content_type, "stream": reply}
        return {"error": reply.error, "body": reply.body, "content_type": reply.content_type}

    def _control(self, op, message, uid):
        """Answer a control operation; faults are MgrErrors, rendered by ``_answer``."""
        local_caller(uid, self.config)     # the superuser only: anyone else gets the same auth error as a call
        if op == "reload":
            problem = self.reload()
            if problem:
                raise errors.MgrError("reload", "panel", detail=problem)
            return {"error": None, "body": "reloaded"}
        if op in ("suspend", "resume"):
            self.dispatcher.suspended = op == "suspend"
            return {"error": None, "body": "suspended" if op == "suspend" else "resumed"}
        if op == "describe":
            registry, name = self.dispatcher.registry, message.get("func")
            if name and registry.get(name) is None:
                raise errors.MgrError("func", name, name)
            lang = message.get("lang") if message.get("lang") in LANGS else "en"
            return {"error": None, "body": registry.describe(lang, name) + "\n"}
        if op == "status":
            return {"error": None, "status": self.status()}
        if op == "clock":
            if not self.config.test_clock:
                raise errors.MgrError("value", "op", op, detail="the clock moves only with Option TestClock")
            if not 0 <= (message.get("shift") or 0) <= MAX_SHIFT:
                raise errors.value("shift", message.get("shift"))
            self.dispatcher.clock.shift(message.get("shift") or 0)
            self.operations.poke()     # what the new time makes due runs now
            self.tasks.poke()
            self.scheduler.poke()
            return {"error": None, "body": self.dispatcher.clock.stamp()}
        raise errors.value("op", op)

    def _answer(self, message, uid, snapshot=None):
        """The reply to one frame; never raises.  A streamed reply is under "stream".

        A control operation's error is rendered like a function's, in the
        frame's ``out`` and ``lang``; a field of the wrong type is a ``value``
        error naming it.
        """
        op = message.get("op")
        try:
            field = protocol.bad_field(message)
            if field:
                raise errors.value(field, JSON_KINDS.get(type(message[field]), ""))
            if op in (None, "call"):
                self.requests += 1
                return self._call(message, uid, snapshot)
            return self._control(op, message, uid)
        except errors.MgrError as exc:
            return self._refusal(exc, op, message)
        except Exception:
            log.exception("unexpected fault answering %r", op if isinstance(op, str) else "?")
            return self._refusal(errors.internal(), op, message)

    def _refusal(self, exc, op, message):
        """``exc`` rendered in the format and language the frame asked for, as far as it can be read."""
        def text(name):
            return message.get(name) if isinstance(message.get(name), str) else None

        func = op if isinstance(op, str) and op != "call" else ""
        reply = self.dispatcher.refusal(exc, func, text("lang"), text("out"))
        return {"error": reply.error, "body": reply.body, "content_type": reply.content_type}

    def _runs_inline(self, message, snapshot):
        op = message.get("op", "call")
        if protocol.bad_field(message):
            return True          # answered at once with an error
        if op == "call":
            return self.dispatcher.runs_inline(message.get("params") or [], snapshot)
        return op != "reload"

    # -- connections (event loop thread only) -------------------------------

    def _accept(self, listener):
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if len(self._connections) >= MAX_CONNECTIONS:
            with sock:
                with suppress(OSError):   # a refusal is best effort
                    sock.setblocking(False)
                    sock.send(protocol.encode({"error": "busy", "body": "too many connections\n"}))
            return
        try:
            uid = unixsocket.peer_uid(sock)
        except OSError:
            sock.close()
            return
        sock.setblocking(False)
        conn = Connection(sock, uid)
        self._connections.add(conn)
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _close(self, conn):
        if conn.closed:
            return
        with conn.room:           # a worker streaming to it stops
            conn.closed = True
            conn.room.notify_all()
        self._connections.discard(conn)
        with suppress(KeyError, ValueError):     # not registered while a worker had it
            self._selector.unregister(conn.sock)
        conn.sock.close()

    def _watch(self, conn):
        """Point the selector at what the connection now waits for."""
        if conn.closed:
            return
        if conn.closing and not conn.outbuf and not conn.busy:
            self._close(conn)
            return
        events = 0
        if not conn.busy and not conn.closing and "stop" not in self._flags:
            events |= selectors.EVENT_READ
        if conn.outbuf:
            events |= selectors.EVENT_WRITE
        try:
            if events:
                self._selector.modify(conn.sock, events, conn)
            else:
                self._selector.unregister(conn.sock)
        except KeyError:
            if events:
                self._selector.register(conn.sock, events, conn)

    def _readable(self, conn):
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:            # the peer left; a request with a worker still finishes
            if conn.busy:
                conn.closing = True
                self._watch(conn)
            else:
                self._close(conn)
            return
        conn.inbuf += data
        conn.last_active = time.monotonic()
        self._serve(conn)

    def _serve(self, conn):
        """Answer the complete frames waiting in the connection's buffer."""
        while not conn.busy and not conn.closing:
            try:
                message, used = protocol.parse_frame(conn.inbuf)
            except protocol.ProtocolError as exc:
                log.warning("bad frame from uid %s: %s", conn.uid, exc)
                conn.outbuf += protocol.encode({"error": "protocol", "body": f"{exc}\n"})
                conn.closing = True
                break
            if message is None:
                break
            del conn.inbuf[:used]
            snapshot = self.dispatcher.snapshot   # the snapshot that decides where a call runs also runs it
            if not self._runs_inline(message, snapshot):
                conn.busy = True
                self.workers.submit(self._work, conn, message)
                continue
            reply = self._answer(message, conn.uid, snapshot)
            if "stream" in reply:     # found long on the loop: its rows are read on a worker
                conn.busy = True
                self.workers.submit(self._stream, conn, reply)
            else:
                conn.outbuf += protocol.encode(reply)
        self._flush(conn)

    def _work(self, conn, message):
        """On a worker thread: answer, then hand the reply back to the loop."""
        reply = self._answer(message, conn.uid)
        if "stream" in reply:
            self._stream(conn, reply)
        else:
            self._hand_over(conn, protocol.encode(reply), last=True)
        self.tasks.poke()   # the request may have queued mail, other tasks or module commands
        self.operations.poke()

    def _stream(self, conn, head):
        """On a worker thread: send a streamed reply, a frame per chunk, as fast as the client reads.

        Every frame but the last says ``"more": true``.  Should reading the
        rows fail half-way, the last frame carries the error instead.
        """
        reply = head.pop("stream")
        try:
            for chunk in reply.chunks:
                for start in range(0, len(chunk), FRAME_TEXT):
                    if not self._hand_over(conn, protocol.encode({**head, "more": True,
                                                                  "body": chunk[start:start + FRAME_TEXT]})):
                        return
                    head = {}
            self._hand_over(conn, protocol.encode(head), last=True)
        except Exception:
            log.exception("fault streaming a reply")
            self._hand_over(conn, protocol.encode({"error": "internal", "body": ""}), last=True)
        finally:
            reply.close()

    def _hand_over(self, conn, frame, last=False):
        """Give the loop a frame to send (on a worker thread); False once the client is gone.

        Waits while the connection has OUT_LIMIT bytes unsent; a client that
        reads nothing for IDLE_TIMEOUT is dropped.
        """
        with conn.room:
            deadline = time.monotonic() + IDLE_TIMEOUT
            while conn.unsent > OUT_LIMIT and not conn.closed and time.monotonic() < deadline:
                conn.room.wait(deadline - time.monotonic())
            gone = conn.closed or conn.unsent > OUT_LIMIT
            if not gone:
                conn.unsent += len(frame)
        self._done.put((conn, None if gone else frame, last or gone))
        with suppress(OSError):   # a full wake pipe: the loop is already due to wake
            self._wake.send(b"\0")
        return not gone

    def _collect(self):
        while True:
            try:
                conn, frame, last = self._done.get_nowait()
            except queue.Empty:
                return
            if last:
                conn.busy = False
            if conn.closed:
                continue
            with self._guard(conn):
                if frame is None:     # the worker gave up on a client that stopped reading
                    self._close(conn)
                    continue
                conn.outbuf += frame
                conn.last_active = time.monotonic()
                if last:
                    self._serve(conn)
                else:
                    self._flush(conn)

    def _flush(self, conn):
        if conn.outbuf and not conn.closed:
            try:
                sent = conn.sock.send(conn.outbuf)
                del conn.outbuf[:sent]
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(conn)
                return
            if conn.unsent and sent:
                with conn.room:
                    conn.unsent = max(0, conn.unsent - sent)
                    conn.room.notify()
        self._watch(conn)

    def _reap_idle(self):
        limit = time.monotonic() - IDLE_TIMEOUT
        for conn in [c for c in self._connections if not c.busy and c.last_active < limit]:
            self._close(conn)

    # -- lifecycle ----------------------------------------------------------

    def _listener(self):
        inherited = systemd.inherited_sockets()
        if inherited:
            log.info("using the socket passed by systemd")
            return inherited[0], False
        return unixsocket.bind(self.config.socket), True

    def _dispatch_events(self, timeout):
        for key, events in self._selector.select(timeout):
            if key.data == "accept":
                self._accept(key.fileobj)
            elif key.data == "wake":
                with suppress(BlockingIOError):
                    key.fileobj.recv(4096)
                self._collect()
            else:
                with self._guard(key.data):
                    if events & selectors.EVENT_READ and not key.data.closed:
                        self._readable(key.data)
                    if events & selectors.EVENT_WRITE and not key.data.closed:
                        self._flush(key.data)

    @contextmanager
    def _guard(self, conn):
        """Whatever goes wrong serving one connection ends that connection, never the loop."""
        try:
            yield
        except Exception:
            log.exception("unexpected fault serving uid %s; closing its connection", conn.uid)
            self._close(conn)

    def run(self):
        listener, owned = self._listener()
        try:
            self.http = HttpListeners(self, self.config)   # binds its addresses: may fail
            self.http.start()
        except BaseException:
            listener.close()
            if owned:
                _remove(self.config.socket)
            raise
        listener.setblocking(False)
        wake_r, self._wake = socket.socketpair()
        for end in (wake_r, self._wake):
            end.setblocking(False)
        signal.set_wakeup_fd(self._wake.fileno())
        for signum, flag in ((signal.SIGTERM, "stop"), (signal.SIGINT, "stop"), (signal.SIGHUP, "reload"),
                             (signal.SIGUSR1, "reopen")):
            signal.signal(signum, lambda _s, _f, flag=flag: self._flags.add(flag))
        files.write(self.config.pid, f"{os.getpid()}\n")
        self._selector = selectors.DefaultSelector()
        self.tasks.start()
        self.operations.start()
        self.scheduler.start()
        self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._selector.register(wake_r, selectors.EVENT_READ, "wake")
        log.info("billmgrd %s ready on %s", os.getpid(), self.config.socket)
        systemd.notify(f"READY=1\nMAINPID={os.getpid()}")
        try:
            while "stop" not in self._flags:
                self._dispatch_events(timeout=1.0)
                self._collect()
                if "reload" in self._flags:
                    self._flags.discard("reload")
                    self.reload()
                if "reopen" in self._flags:
                    self._flags.discard("reopen")
                    logs.reopen()
                self._reap_idle()
        finally:
            systemd.notify("STOPPING=1")
            self._selector.unregister(listener)
            listener.close()
            if owned:
                _remove(self.config.socket)
            self.http.stop()
            self._drain()
            self.scheduler.stop()
            self.tasks.stop()
            self.operations.stop()
            self.workers.shutdown(wait=True)
            self._selector.close()
            self.store.close()
            _remove(self.config.pid)
            log.info("billmgrd stopped")

    def _drain(self):
        """Finish the requests in flight and send their replies; close everything else."""
        for conn in list(self._connections):
            if not conn.busy and not conn.outbuf:
                self._close(conn)
            else:
                self._watch(conn)
        deadline = time.monotonic() + STOP_GRACE
        while self._connections and time.monotonic() < deadline:
            self._dispatch_events(timeout=0.1)
            self._collect()
            for conn in list(self._connections):
                if not conn.busy and not conn.outbuf:
                    self._close(conn)
        if self._connections:
            log.warning("%d connections still busy after %ss; exiting anyway",
                        len(self._connections), STOP_GRACE)
