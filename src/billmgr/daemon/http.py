"""The remote API: /billmgr?func=... over HTTP or HTTPS, through the same dispatcher.

uvicorn, with the httptools parser, serves every HttpListen address from one
asyncio thread: HTTP/1.1, keep-alive, TLS, a connection cap.  That thread
answers quick core reads itself, as the Unix socket's loop does, and hands
writes, plugin handlers and password checks to the daemon's worker pool,
so a slow call never holds up the others.  ``Protocol`` adds what uvicorn
leaves out: limits on the request target and headers, and a deadline for
sending them.

Payment modules' CGI scripts are served beside the API at ``/mancgi/<script>``
(modules/cgi.py), each run on a worker thread.  A browser -- a call made
with the session cookie and no ``out`` -- whose call succeeds with
``<ok type="url">`` is redirected there (303); API clients read the document.

Errors answer HTTP 200 with the error document, as BILLmanager clients
expect, plus an ``X-Billmgr-Error: TYPE`` header so a client can tell
without parsing.

A reply too long to hold streams as a chunked response: each chunk is
rendered on a worker thread and sent when uvicorn's transport has room, so
memory stays bounded however slowly the client reads; a client that goes
away stops the stream and releases its transaction.
"""

import asyncio
import http.cookies
import ipaddress
import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import uvicorn
from python_multipart import parse_form
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .. import protocol
from ..auth import anonymous
from ..modules import cgi

log = logging.getLogger("billmgr.access")

PATHS = ("/billmgr", "/")
SESSION_COOKIE = "billmgrses5"
MAX_URL = 8 * 1024                 # request target, bytes
MAX_HEADERS = 16 * 1024            # header lines, bytes
MAX_BODY = 1024 * 1024             # request body, bytes
MAX_CONNECTIONS = 512              # open connections per address; beyond, 503
SCRIPT_WORKERS = 16                # /mancgi/ scripts running at once; more wait their turn

STATUS_TEXT = {400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed", 408: b"Request Timeout",
               413: b"Payload Too Large", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class BadRequest(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with size limits and a deadline for each request's headers."""

    timeout = 30    # seconds to send a request's headers (HttpTimeout)

    def connection_made(self, transport):
        super().connection_made(transport)
        self._deadline = None
        self._refused = False
        self._header_bytes = 0
        self._arm()

    def _arm(self):
        self._disarm()
        self._deadline = self.loop.call_later(self.timeout, self._refuse, 408, "request not sent in time")

    def _disarm(self):
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _refuse(self, status, reason):
        """Answer a fault of HTTP itself and close, whatever else arrives."""
        if self._refused or self.transport.is_closing():
            return
        self._refused = True
        body = f"{reason}\n".encode()
        self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (status, STATUS_TEXT[status], len(body), body))
        self.transport.close()
        log.info("%s - - - http %d", (self.client or ("-",))[0], status)

    def data_received(self, data):
        if not self._refused:
            super().data_received(data)

    def on_message_begin(self):
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()

    def on_url(self, url):
        super().on_url(url)
        if len(self.url) > MAX_URL:
            self._refuse(414, f"request target over {MAX_URL} bytes")

    def on_header(self, name, value):
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADERS:
            self._refuse(431, f"headers over {MAX_HEADERS} bytes")
        elif not self._refused:
            super().on_header(name, value)

    def on_headers_complete(self):
        self._disarm()
        if not self._refused:
            super().on_headers_complete()

    def connection_lost(self, exc):
        self._disarm()
        super().connection_lost(exc)


def _pairs(data):
    try:
        return parse_qsl(data.decode("utf-8", "strict") if isinstance(data, bytes) else data,
                         keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "parameters are not valid UTF-8") from None


def _multipart(content_type, body):
    """Form fields of a multipart/form-data body (uploaded files are not parameters)."""
    fields = []
    try:
        parse_form({"Content-Type": content_type, "Content-Length": str(len(body)).encode()},
                   _Reader(body), lambda f: fields.append((f.field_name.decode(), (f.value or b"").decode())),
                   lambda f: None)
    except ValueError as exc:   # the parser's errors, and undecodable names or values
        raise BadRequest(400, f"bad multipart body: {exc}") from None
    return fields


class _Reader:
    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


def _json_value(value):
    """A JSON parameter value as the text a form would carry; numbers keep the digits sent."""
    if value is True or value is False:
        return "on" if value else "off"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise ValueError("a parameter value must be a string, number, boolean or null")


def _json(body):
    """Parameters of an application/json body: one object; a list value repeats its parameter."""
    def refuse(constant):
        raise ValueError(f"{constant} is not a number")

    try:
        data = json.loads(body.decode("utf-8"), parse_int=str, parse_float=str, parse_constant=refuse)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object of parameters")
        return [(name, _json_value(item)) for name, value in data.items()
                for item in (value if isinstance(value, list) else [value])]
    except ValueError as exc:   # also UnicodeDecodeError
        raise BadRequest(400, f"bad JSON body: {exc}") from None
    except RecursionError:
        raise BadRequest(400, "bad JSON body: nested too deeply") from None


def _file(attachment):
    """The body and headers of a reply that is a file (a PDF, a printable page) sent as its own bytes."""
    charset = "; charset=utf-8" if attachment.content_type.startswith("text/") else ""
    return attachment.data, [(b"content-type", f"{attachment.content_type}{charset}".encode()),
                             (b"content-disposition", f'inline; filename="{attachment.filename}"'.encode()),
                             (b"cache-control", b"no-store")]


def parameters(query, content_type, body):
    """The call's (name, value) pairs in order: the query string, then a POSTed form or JSON object."""
    pairs = _pairs(query)
    kind = content_type.split(b";")[0].strip().lower()
    if kind == b"multipart/form-data":
        pairs += _multipart(content_type, body)
    elif kind == b"application/json":
        pairs += _json(body)
    elif body:
        pairs += _pairs(body)
    return pairs


def client_address(peer, headers, trusted):
    """The caller's address; forwarded-for headers count only from a trusted proxy."""
    if not trusted:
        return peer
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if not any(ip in net for net in trusted):
        return peer
    hops = [h.strip() for h in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):          # the nearest hop not itself a trusted proxy
        try:
            if not any(ipaddress.ip_address(hop) in net for net in trusted):
                return hop
        except ValueError:
            return peer
    return headers.get(b"x-real-ip", b"").decode("latin-1").strip() or peer


def _session_cookie(headers):
    if b"cookie" not in headers:
        return None
    try:
        cookie = http.cookies.SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    except http.cookies.CookieError:
        return None
    return cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None


async def _read_body(receive, headers, timeout):
    declared = headers.get(b"content-length", b"0")
    if not declared.isdigit():
        raise BadRequest(400, "bad Content-Length")
    if int(declared) > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    body, more = b"", True
    while more:
        message = await asyncio.wait_for(receive(), timeout)
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_BODY:
            raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    return body


async def _disconnect(receive):
    """Return when the client has gone away."""
    message = await receive()
    while message["type"] != "http.disconnect":
        message = await receive()


class Api:
    """The ASGI application: one call per request."""

    def __init__(self, server):
        self.server = server
        # scripts wait for their own mgrctl calls, which need the server's workers: they never take one
        self.scripts = ThreadPoolExecutor(SCRIPT_WORKERS, thread_name_prefix="billmgr-cgi")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        address, func, who, result = scope["client"][0] if scope.get("client") else "-", "-", "-", "ok"
        reply = None
        try:
            if scope["path"] not in PATHS and not scope["path"].startswith(cgi.PREFIX):
                raise BadRequest(404, "the API lives at /billmgr")
            if scope["method"] not in ("GET", "POST", "HEAD"):
                raise BadRequest(405, "use GET or POST")
            address = client_address(address, headers, self.server.config.trusted_proxy)
            body = (await _read_body(receive, headers, self.server.config.http_timeout)
                    if scope["method"] == "POST" else b"")
            if scope["path"].startswith(cgi.PREFIX):
                func = scope["path"]
                status, response_headers, payload = await self._cgi(scope, address, body)
                result = f"cgi {status}"
            else:
                func, reply, status, response_headers, payload = await self._api(scope, headers, address, body)
                who, result = reply.caller, reply.error or "ok"
        except cgi.ScriptFailed as exc:
            log.warning("%s %s failed: %s", address, scope["path"], exc)
            status, result, payload = exc.status, f"cgi {exc.status}", f"the script failed ({exc.status})\n".encode()
            response_headers = [(b"content-type", b"text/plain; charset=utf-8")]
        except BadRequest as exc:
            status, result, payload = exc.status, f"http {exc.status}", f"{exc}\n".encode()
            response_headers = [(b"content-type", b"text/plain; charset=utf-8")]
        except asyncio.TimeoutError:
            status, result, payload = 408, "http 408", b"request body not sent in time\n"
            response_headers = [(b"content-type", b"text/plain; charset=utf-8")]
        if payload is None:
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await self._stream(reply, receive, send, scope["method"] == "HEAD")
        else:
            response_headers.append((b"content-length", str(len(payload)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": response_headers})
            await send({"type": "http.response.body", "body": payload if scope["method"] != "HEAD" else b""})
        log.info("%s %s %s %s %s %.1fms", address, who, scope["method"], func, result,
                 (time.perf_counter() - started) * 1000)

    async def _api(self, scope, headers, address, body):
        """A call of /billmgr: (func, reply, status, headers, payload -- None when the reply streams)."""
        pairs = parameters(scope["query_string"], headers.get(b"content-type", b""), body)
        func = next((v for k, v in pairs if k == "func"), "-")
        sid = _session_cookie(headers)
        by_cookie = bool(sid) and not any(k in ("auth", "authinfo") for k, _ in pairs)
        if by_cookie:
            pairs.append(("auth", sid))
        reply = await self._dispatch(pairs, address)
        status, payload = 200, None if reply.streamed else protocol.utf8(reply.body)
        response_headers = [(b"content-type", f"{reply.content_type}; charset=utf-8".encode()),
                            (b"cache-control", b"no-store")]
        if reply.attachment and not any(k == "out" for k, _ in pairs):   # a file, as itself
            payload, response_headers = _file(reply.attachment)
        if reply.error:
            response_headers.append((b"x-billmgr-error", reply.error.encode()))
        if reply.session:
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            response_headers.append((b"set-cookie", f"{SESSION_COOKIE}={reply.session}; Path=/; HttpOnly; "
                                                    f"SameSite=Lax{secure}".encode()))
        if reply.redirect and by_cookie and not any(k == "out" for k, _ in pairs):
            # a browser (the session cookie, no out=) is sent on; an API client reads <ok type="url">
            status = 303
            response_headers.append((b"location", reply.redirect.encode()))
        return func, reply, status, response_headers, payload

    async def _cgi(self, scope, address, body):
        """A payment module's script (modules/cgi.py), run on a worker thread: its status, headers and body."""
        config = self.server.config
        script = cgi.locate(config.cgi, scope["path"][len(cgi.PREFIX):])
        if script is None:
            raise BadRequest(404, "no such script")
        request = {"method": scope["method"], "path": scope["path"], "remote": address,
                   "query": scope["query_string"].decode("latin-1"), "headers": scope["headers"],
                   "server": scope.get("server") or ("localhost", 80), "length": len(body),
                   "protocol": f"HTTP/{scope.get('http_version', '1.1')}"}
        return await asyncio.get_running_loop().run_in_executor(
            self.scripts, cgi.run, script, cgi.environment(config, request), body)

    async def _stream(self, reply, receive, send, head_only):
        """Send a streamed reply chunk by chunk; ``send`` waits while the transport is full."""
        loop = asyncio.get_running_loop()
        gone = asyncio.ensure_future(_disconnect(receive))
        chunks = iter(reply.chunks)
        try:
            while not head_only and not gone.done():
                chunk = await loop.run_in_executor(self.server.workers, next, chunks, None)
                if chunk is None:
                    break
                await send({"type": "http.response.body", "body": protocol.utf8(chunk), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            gone.cancel()
            await loop.run_in_executor(self.server.workers, reply.close)

    async def _dispatch(self, pairs, address):
        """Quick core reads here on the loop; anything that may wait on a worker thread."""
        dispatcher = self.server.dispatcher
        snapshot = dispatcher.snapshot

        def identify():
            return anonymous(address)

        if dispatcher.runs_inline(pairs, snapshot):
            return dispatcher.handle(pairs, identify, snapshot)
        return await asyncio.get_running_loop().run_in_executor(
            self.server.workers, dispatcher.handle, pairs, identify, snapshot)


class HttpListeners:
    """Every HttpListen address, served by one uvicorn server on its own thread."""

    def __init__(self, server, config):
        self.sockets = [self._bind(host, port) for host, port in config.http_listen]
        self._server = None
        self._thread = None
        if self.sockets:
            protocol = type("Protocol", (Protocol,), {"timeout": config.http_timeout})
            self._app = Api(server)
            options = dict(app=self._app, http=protocol, lifespan="on", access_log=False, proxy_headers=False,
                           log_config=None, server_header=False, timeout_keep_alive=config.http_timeout,
                           limit_concurrency=MAX_CONNECTIONS, timeout_graceful_shutdown=10)
            if config.certificate:
                options.update(ssl_certfile=config.certificate, ssl_keyfile=config.key)
            self._server = uvicorn.Server(uvicorn.Config(**options))

    @staticmethod
    def _bind(host, port):
        """Bind now, in the main thread, so a taken address stops the start-up with its reason."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on sockets that say so,
        # and without it every reply waits for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(exc.errno, f"HttpListen {host}:{port}: {exc.strerror}") from None
        sock.listen(512)
        sock.set_inheritable(True)
        return sock

    def start(self):
        if self._server is None:
            return
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": self.sockets},
                                        name="billmgr-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise OSError("the HTTP server did not start; see the log")
        for sock in self.sockets:
            logging.getLogger("billmgr.daemon").info("serving HTTP%s on %s:%s", "S" if self._server.config.ssl
                                                     else "", *sock.getsockname()[:2])

    def stop(self):
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=15)
            self._app.scripts.shutdown(wait=False, cancel_futures=True)
        for sock in self.sockets:
            sock.close()
