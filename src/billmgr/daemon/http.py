"""The remote API: /billmgr?func=... over HTTP or HTTPS, through the same dispatcher.

cheroot (CherryPy's production WSGI server) does the HTTP: parsing, keep-
alive, header and body size limits, socket timeouts, TLS.  This module
turns a request into parameters and a caller, and the dispatcher's Reply
into a response.  Errors answer HTTP 200 with the error document, as
BILLmanager clients expect, plus an ``X-Billmgr-Error: TYPE`` header so a
client can tell without parsing.
"""

import http.cookies
import io
import ipaddress
import logging
import threading
import time
from urllib.parse import parse_qsl

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from python_multipart import parse_form

from ..auth import anonymous

log = logging.getLogger("billmgr.access")

PATHS = ("/billmgr", "/")
SESSION_COOKIE = "billmgrses5"
MAX_URL = 8 * 1024                 # request target, bytes
MAX_HEADERS = 16 * 1024            # request line and headers, bytes
MAX_BODY = 1024 * 1024             # request body, bytes
SOCKET_TIMEOUT = 30                # seconds a client may take to send a request (or stay idle)
THREADS = 4                        # requests served at once per address
QUEUED_CONNECTIONS = 64            # accepted connections waiting for a thread; beyond, refused
IDLE_KEEPALIVE = 64                # idle keep-alive connections kept open per address

STATUS_TEXT = {200: "200 OK", 400: "400 Bad Request", 404: "404 Not Found", 405: "405 Method Not Allowed",
               413: "413 Payload Too Large", 414: "414 URI Too Long"}


class BadRequest(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def _pairs(text):
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(400, "parameters are not valid UTF-8") from None


def _body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadRequest(400, "bad Content-Length") from None
    if length > MAX_BODY:
        raise BadRequest(413, f"request body over {MAX_BODY} bytes")
    return environ["wsgi.input"].read(length) if length else b""


def _multipart(environ, body):
    """Form fields of a multipart/form-data body (uploaded files are not parameters)."""
    fields = []
    try:
        parse_form({"Content-Type": environ["CONTENT_TYPE"].encode(), "Content-Length": str(len(body)).encode()},
                   io.BytesIO(body), lambda f: fields.append((f.field_name.decode(), (f.value or b"").decode())),
                   lambda f: None)
    except ValueError as exc:   # the parser's errors, and undecodable names or values
        raise BadRequest(400, f"bad multipart body: {exc}") from None
    return fields


def parameters(environ):
    """The call's (name, value) pairs in order: the query string, then a POSTed form."""
    query = environ.get("QUERY_STRING", "")
    if len(query) + len(environ.get("PATH_INFO", "")) > MAX_URL:
        raise BadRequest(414, f"request target over {MAX_URL} bytes")
    pairs = _pairs(query)
    if environ["REQUEST_METHOD"] == "POST":
        body = _body(environ)
        kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            pairs += _multipart(environ, body)
        elif body:
            try:
                pairs += _pairs(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise BadRequest(400, "body is not valid UTF-8") from None
    return pairs


def client_address(environ, trusted):
    """The caller's address; forwarded-for headers count only from a trusted proxy."""
    peer = environ.get("REMOTE_ADDR", "")
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer
    if not any(ip in net for net in trusted):
        return peer
    hops = [h.strip() for h in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):          # the nearest hop not itself a trusted proxy
        try:
            if not any(ipaddress.ip_address(hop) in net for net in trusted):
                return hop
        except ValueError:
            return peer
    real = environ.get("HTTP_X_REAL_IP", "").strip()
    return real or peer


def _session_cookie(environ):
    try:
        cookie = http.cookies.SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except http.cookies.CookieError:
        return None
    return cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None


class Api:
    """The WSGI application: one call per request."""

    def __init__(self, server):
        self.server = server

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        address, func, who, result = environ.get("REMOTE_ADDR", "-"), "-", "-", "ok"
        try:
            if environ.get("PATH_INFO") not in PATHS:
                raise BadRequest(404, "the API lives at /billmgr")
            if environ["REQUEST_METHOD"] not in ("GET", "POST", "HEAD"):
                raise BadRequest(405, "use GET or POST")
            config = self.server.config
            address = client_address(environ, config.trusted_proxy)
            pairs = parameters(environ)
            func = next((v for k, v in pairs if k == "func"), "-")
            sid = _session_cookie(environ)
            if sid and not any(k in ("auth", "authinfo") for k, _ in pairs):
                pairs.append(("auth", sid))
            reply = self.server.dispatcher.handle(pairs, lambda: anonymous(address))
            who, result = reply.caller, reply.error or "ok"
            headers = [("Content-Type", f"{reply.content_type}; charset=utf-8"),
                       ("Cache-Control", "no-store")]
            if reply.error:
                headers.append(("X-Billmgr-Error", reply.error))
            if reply.session:
                secure = "; Secure" if environ.get("wsgi.url_scheme") == "https" else ""
                headers.append(("Set-Cookie", f"{SESSION_COOKIE}={reply.session}; Path=/; HttpOnly; "
                                              f"SameSite=Lax{secure}"))
            body = reply.body.encode()
            status = 200
        except BadRequest as exc:
            status, result = exc.status, f"http {exc.status}"
            body = f"{exc}\n".encode()
            headers = [("Content-Type", "text/plain; charset=utf-8")]
        headers.append(("Content-Length", str(len(body))))
        start_response(STATUS_TEXT[status], headers)
        log.info("%s %s %s %s %s %.1fms", address, who, environ["REQUEST_METHOD"], func, result,
                 (time.perf_counter() - started) * 1000)
        return [body] if environ["REQUEST_METHOD"] != "HEAD" else []


class HttpListeners:
    """One cheroot server per HttpListen address, each on its own thread."""

    def __init__(self, server, config):
        self.servers = []
        for host, port in config.http_listen:
            http_server = wsgi.Server((host, port), Api(server), numthreads=THREADS, timeout=SOCKET_TIMEOUT,
                                      accepted_queue_size=QUEUED_CONNECTIONS, server_name="billmgr")
            http_server.max_request_header_size = MAX_HEADERS
            http_server.max_request_body_size = MAX_BODY
            http_server.keep_alive_conn_limit = IDLE_KEEPALIVE
            if config.certificate:
                http_server.ssl_adapter = BuiltinSSLAdapter(config.certificate, config.key)
            self.servers.append(http_server)
        self._threads = []

    def start(self):
        """Bind every address now (so a bad one stops the start-up), then serve in the background."""
        for http_server in self.servers:
            http_server.prepare()
            thread = threading.Thread(target=http_server.serve, name=f"billmgr-http-{http_server.bind_addr}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
            logging.getLogger("billmgr.daemon").info("serving HTTP%s on %s:%s",
                                                     "S" if http_server.ssl_adapter else "", *http_server.bind_addr[:2])

    def stop(self):
        for http_server in self.servers:
            http_server.stop()
        for thread in self._threads:
            thread.join(timeout=10)
