"""The daemon's main loop: accept connections, serve frames, obey signals.

Signal handlers only set flags and wake the loop; the loop acts.  Each
connection gets a thread that reads request frames until the peer closes.
SIGTERM stops accepting, lets in-flight requests finish and exits; SIGHUP
reloads configuration and XML, keeping the old ones if the new are broken.
"""

import logging
import os
import selectors
import signal
import socket
import threading
import time

from .. import config as config_mod
from .. import errors, protocol
from ..auth import local_caller
from ..clock import Clock
from ..dispatch import Dispatcher
from ..registry import Registry, RegistryError
from ..store import Store
from . import systemd, unixsocket

log = logging.getLogger("billmgr.daemon")

MAX_CONNECTIONS = 256
IDLE_TIMEOUT = 300.0      # seconds a connection may sit without a request
STOP_GRACE = 30.0         # seconds in-flight requests get after SIGTERM


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Connection:
    """One client connection and whether it is in the middle of a request."""

    def __init__(self, sock):
        self.sock = sock
        self.busy = False


class Server:
    def __init__(self, config):
        self.config = config
        self.started = time.time()
        self.requests = 0
        self._connections = set()
        self._lock = threading.Lock()
        self._flags = set()
        self.store = Store(config.db)
        self.dispatcher = Dispatcher(Registry.load(config.xml), self.store, config, Clock())

    # -- control operations -------------------------------------------------

    def reload(self):
        """Re-read configuration and XML; on any fault keep the old ones and say why."""
        systemd.notify("RELOADING=1")
        try:
            new_config = config_mod.load(self.config.source) if self.config.source else self.config
            registry = Registry.load(new_config.xml)
        except (config_mod.ConfigError, RegistryError) as exc:
            log.error("reload failed, keeping the previous configuration: %s", exc)
            return str(exc)
        finally:
            systemd.notify("READY=1")
        for name in ("db", "socket", "http_listen"):
            if getattr(new_config, name) != getattr(self.config, name):
                log.warning("%s changed in the configuration; it takes effect after a restart", name)
        self.config = self.dispatcher.config = new_config
        self.dispatcher.registry = registry
        log.info("reloaded: %d functions from %d files", len(registry.functions), len(registry.files))
        return None

    def status(self):
        with self._lock:
            connections = len(self._connections)
        return {"pid": os.getpid(), "started": self.started, "requests": self.requests,
                "connections": connections, "functions": len(self.dispatcher.registry.functions),
                "files": len(self.dispatcher.registry.files),
                "suspended": self.dispatcher.suspended}

    def _answer(self, message, uid):
        op = message.get("op", "call")
        if op == "call":
            pairs = message.get("params")
            if not isinstance(pairs, list) or not all(
                    isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
                    for p in pairs):
                return {"error": "protocol", "body": "params must be a list of [name, value] strings\n"}
            with self._lock:
                self.requests += 1
            reply = self.dispatcher.handle(pairs, lambda: local_caller(uid, self.config))
            return {"error": reply.error, "body": reply.body, "content_type": reply.content_type}
        try:
            local_caller(uid, self.config)
        except errors.MgrError:
            return {"error": "auth", "body": "only the superuser may control the panel\n"}
        if op == "reload":
            problem = self.reload()
            return {"error": "reload" if problem else None, "body": problem or "reloaded"}
        if op in ("suspend", "resume"):
            self.dispatcher.suspended = op == "suspend"
            return {"error": None, "body": "suspended" if op == "suspend" else "resumed"}
        if op == "describe":
            registry = self.dispatcher.registry
            name, lang = message.get("func"), message.get("lang") or "en"
            if name and registry.get(name) is None:
                return {"error": "func", "body": f"no such function: {name}\n"}
            return {"error": None, "body": registry.describe(lang if lang in ("en", "ru") else "en", name) + "\n"}
        if op == "status":
            return {"error": None, "status": self.status()}
        return {"error": "protocol", "body": f"unknown operation {op!r}\n"}

    # -- connections --------------------------------------------------------

    def _serve(self, conn):
        sock = conn.sock
        try:
            uid = unixsocket.peer_uid(sock)
            sock.settimeout(IDLE_TIMEOUT)
            while "stop" not in self._flags:
                try:
                    message = protocol.read_frame(sock)
                except protocol.ProtocolError as exc:
                    log.warning("bad frame from uid %s: %s", uid, exc)
                    protocol.write_frame(sock, {"error": "protocol", "body": f"{exc}\n"})
                    break
                if message is None:
                    break
                conn.busy = True
                try:
                    reply = self._answer(message, uid)
                except Exception:
                    log.exception("unexpected fault answering %r", message.get("op"))
                    reply = {"error": "internal", "body": "internal error; see the log\n"}
                protocol.write_frame(sock, reply)
                conn.busy = False
        except (OSError, socket.timeout):
            pass  # the peer went away or idled out; nothing to answer
        finally:
            with self._lock:
                self._connections.discard(conn)
            sock.close()

    def _accept(self, listener):
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(True)
        conn = Connection(sock)
        with self._lock:
            full = len(self._connections) >= MAX_CONNECTIONS
            if not full:
                self._connections.add(conn)
        if full:
            try:
                protocol.write_frame(sock, {"error": "busy", "body": "too many connections\n"})
            finally:
                sock.close()
            return
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    # -- lifecycle ----------------------------------------------------------

    def _listener(self):
        inherited = systemd.inherited_sockets()
        if inherited:
            log.info("using the socket passed by systemd")
            return inherited[0], False
        return unixsocket.bind(self.config.socket), True

    def run(self):
        listener, owned = self._listener()
        listener.setblocking(False)
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        signal.set_wakeup_fd(wake_w.fileno())
        for signum, flag in ((signal.SIGTERM, "stop"), (signal.SIGINT, "stop"), (signal.SIGHUP, "reload")):
            signal.signal(signum, lambda _s, _f, flag=flag: self._flags.add(flag))
        with open(self.config.pid, "w") as pidfile:
            pidfile.write(f"{os.getpid()}\n")
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, "accept")
        selector.register(wake_r, selectors.EVENT_READ, "wake")
        log.info("billmgrd %s ready on %s", os.getpid(), self.config.socket)
        systemd.notify(f"READY=1\nMAINPID={os.getpid()}")
        try:
            while "stop" not in self._flags:
                for key, _ in selector.select(timeout=1.0):
                    if key.data == "accept":
                        self._accept(listener)
                    else:
                        wake_r.recv(4096)
                if "reload" in self._flags:
                    self._flags.discard("reload")
                    self.reload()
        finally:
            systemd.notify("STOPPING=1")
            selector.close()
            listener.close()
            if owned:
                _remove(self.config.socket)
            self._drain()
            self.store.close()
            _remove(self.config.pid)
            log.info("billmgrd stopped")

    def _drain(self):
        """Let in-flight requests finish; close idle connections at once."""
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline:
            with self._lock:
                remaining = list(self._connections)
            if not remaining:
                return
            for conn in remaining:
                if not conn.busy:
                    try:
                        conn.sock.shutdown(socket.SHUT_RD)
                    except OSError:
                        pass
            time.sleep(0.02)
        log.warning("%d connections still busy after %ss; exiting anyway", len(remaining), STOP_GRACE)
