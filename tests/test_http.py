"""The remote API over HTTP: a real HTTP client against a real daemon."""

import http.client
import json
import socket
import ssl
import subprocess
import threading
import time
from urllib.parse import urlencode

import pytest
from conftest import Daemon
from lxml import etree

ADMIN = "admin:Adm1n-secret"
CLIENT_PASSWORD = "Cl1ent-secret"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Web(Daemon):
    """A daemon that also serves HTTP, with an employee and two clients."""

    def __init__(self, root, settings=""):
        self.port = free_port()
        super().__init__(root, settings=f"HttpListen 127.0.0.1:{self.port}\n{settings}")

    def populate(self):
        self.mgrctl("-m", "billmgr", "employee.edit", "name=admin", "passwd=Adm1n-secret", "confirm=Adm1n-secret",
                    "sok=ok")
        self.alice = self.new_account("alice@example.com", f"passwd={CLIENT_PASSWORD}")
        self.bob = self.new_account("bob@example.com", f"passwd={CLIENT_PASSWORD}")
        return self

    def request(self, target, method="GET", body=None, headers=None, tls=False):
        conn = (http.client.HTTPSConnection("127.0.0.1", self.port, context=ssl._create_unverified_context())
                if tls else http.client.HTTPConnection("127.0.0.1", self.port, timeout=30))
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def get(self, path="/billmgr", **params):
        response, data = self.request(f"{path}?{urlencode(params)}")
        return response, data.decode()

    def json(self, **params):
        response, data = self.get(out="json", **params)
        return json.loads(data)["doc"]


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    d = Web(tmp_path_factory.mktemp("web")).start().populate()
    yield d
    d.stop()


def test_admin_lists_clients_with_authinfo(web):
    response, body = web.get(authinfo=ADMIN, func="account", out="json")
    assert response.status == 200 and response.getheader("Content-Type") == "application/json; charset=utf-8"
    emails = [row["email"]["$"] for row in json.loads(body)["doc"]["elem"]]
    assert {"alice@example.com", "bob@example.com"} <= set(emails)


def test_every_format_with_its_content_type(web):
    expected = {"xml": "text/xml", "devel": "text/xml", "json": "application/json", "sjson": "application/json",
                "JSONdata": "application/json", "bjson": "application/json", "text": "text/plain",
                "print": "text/html", "nonsense": "text/xml"}
    for out, content_type in expected.items():
        response, body = web.get(authinfo=ADMIN, func="account", out=out)
        assert response.getheader("Content-Type") == f"{content_type}; charset=utf-8", out
        assert "alice@example.com" in body
    assert etree.fromstring(web.get(authinfo=ADMIN, func="account")[1].encode()).tag == "doc"


def test_website_registration_by_post(web):
    form = urlencode({"func": "register", "email": "web@example.com", "passwd": "Web-pass-12",
                      "realname": "Веб Клиент", "country": "RU", "sok": "ok", "out": "JSONdata"})
    response, body = web.request("/billmgr", "POST", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status == 200 and json.loads(body)["ok"] is True
    boundary = "----billmgr"
    multipart = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                        for k, v in (("func", "register"), ("email", "multi@example.com"),
                                     ("passwd", "Multi-pass-1"), ("sok", "ok"), ("out", "JSONdata")))
    multipart += f"--{boundary}--\r\n"
    response, body = web.request("/billmgr", "POST", multipart.encode(),
                                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert json.loads(body)["ok"] is True
    account = json.loads(web.get(authinfo=ADMIN, func="account", filter="on", email="web@", out="JSONdata")[1])
    assert account["elem"][0]["name"] == "Веб Клиент"


def test_unauthenticated_calls_reach_only_public_functions(web):
    response, body = web.get(func="account", out="xml")
    assert response.status == 200 and response.getheader("X-Billmgr-Error") == "auth"
    assert etree.fromstring(body.encode()).find("error").get("type") == "auth"
    form = web.json(func="register")
    assert "slist" in form and "error" not in form


def test_session_cookie_and_auth_parameter(web):
    response, body = web.get(func="auth", username="alice@example.com", password=CLIENT_PASSWORD, out="json")
    sid = json.loads(body)["doc"]["auth"]["$id"]
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith(f"billmgrses5={sid};") and "HttpOnly" in cookie
    response, body = web.request("/billmgr?func=whoami&out=JSONdata", headers={"Cookie": f"billmgrses5={sid}"})
    assert json.loads(body) == {"name": "alice@example.com", "level": "user", "account": str(web.alice)}
    assert json.loads(web.get(func="whoami", auth=sid, out="JSONdata")[1])["account"] == str(web.alice)


def test_key_login_with_checkcookie_no(web):
    key = json.loads(web.get(authinfo=ADMIN, func="session.newkey", username="bob@example.com",
                             out="JSONdata")[1])["key"]
    response, body = web.get(func="auth", username="bob@example.com", key=key, checkcookie="no", out="json")
    sid = json.loads(body)["doc"]["auth"]["$id"]
    assert json.loads(web.get(func="whoami", auth=sid, out="JSONdata")[1])["name"] == "bob@example.com"


def test_a_client_session_sees_only_its_own_data(web):
    sid = web.json(func="auth", username="alice@example.com", password=CLIENT_PASSWORD)["auth"]["$id"]
    web.get(authinfo=ADMIN, func="ticket.write.account", elid=web.bob, subject="Bob only", message="m", sok="ok")
    assert web.json(func="ticket", auth=sid).get("elem") is None
    assert web.json(func="account", auth=sid)["error"]["$type"] == "access"
    users = json.loads(web.get(func="user", auth=sid, plid=web.bob, out="JSONdata")[1])["elem"]
    assert [u["name"] for u in users] == ["alice@example.com"]


def test_su_and_lang(web):
    doc = json.loads(web.get(authinfo=ADMIN, func="whoami", su="bob@example.com", out="JSONdata")[1])
    assert doc["name"] == "bob@example.com"
    error = web.json(func="account", lang="ru", authinfo=f"alice@example.com:{CLIENT_PASSWORD}")["error"]
    assert error["msg"]["$"].startswith("Недостаточно прав")


def test_seed_urls_reach_the_dispatcher_with_their_parameters(web):
    """The example calls of the API documents, as written (functions of later issues answer 'func')."""
    response, body = web.request("/billmgr?authinfo=admin:Adm1n-secret&elid=3&func=payment.setpaid&out=xml")
    assert response.getheader("X-Billmgr-Error") == "missed"    # the function exists; payment 3 does not
    assert etree.fromstring(body).find("error").get("object") == "payment"
    seeds = {   # services 958 and 1065 do not exist here
        "/?authinfo=admin:Adm1n-secret&func=service.prolong&period=1&elid=958&skipbasket=on&sok=ok": "missed",
        "/?authinfo=admin:Adm1n-secret&func=dedic.edit&addon_26=10&addon_26=10&addon_28=5000&elid=1065&sok=ok":
            "missed",
        "/billmgr?func=dedic&filter=on&account=alice&out=json&status=2&authinfo=admin:Adm1n-secret": None,
    }
    for target, error in seeds.items():
        response, body = web.request(target)
        assert response.status == 200 and response.getheader("X-Billmgr-Error") == error, target
    response, body = web.request("/?authinfo=admin:Adm1n-secret&func=account.edit&email=seed@example.com"
                                 "&addon_26=10&addon_26=20&sok=ok&out=xml")
    tparams = etree.fromstring(body).find("tparams")
    assert [e.text for e in tparams.iter("addon_26")] == ["10", "20"]
    response, body = web.request("/billmgr?func=register")
    assert etree.fromstring(body).find("slist[@name='country']") is not None


def test_authinfo_range_applies_to_the_real_client_address(tmp_path):
    d = Web(tmp_path, settings="Option RestrictAuthinfo\nRestrictAuthinfoRange 10.0.0.0/8\n").start().populate()
    try:
        refused = d.json(func="whoami", authinfo=ADMIN)
        assert refused["error"]["$type"] == "auth" and refused["error"]["$object"] == "authinfo"
        _, body = d.request(f"/billmgr?func=whoami&out=JSONdata&authinfo={ADMIN}",
                            headers={"X-Forwarded-For": "10.1.2.3"})
        assert json.loads(body)["error"]["object"] == "authinfo"      # no trusted proxy: header ignored
    finally:
        d.stop()
    d = Web(tmp_path, settings="Option RestrictAuthinfo\nRestrictAuthinfoRange 10.0.0.0/8\n"
                               "TrustedProxy 127.0.0.1\n").start()
    try:
        _, body = d.request(f"/billmgr?func=whoami&out=JSONdata&authinfo={ADMIN}",
                            headers={"X-Forwarded-For": "10.1.2.3"})
        assert json.loads(body)["name"] == "admin"
        _, body = d.request(f"/billmgr?func=whoami&out=JSONdata&authinfo={ADMIN}",
                            headers={"X-Forwarded-For": "192.0.2.1, 10.1.2.3"})
        assert json.loads(body)["name"] == "admin"
        _, body = d.request(f"/billmgr?func=whoami&out=JSONdata&authinfo={ADMIN}",
                            headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.1"})
        assert json.loads(body)["error"]["object"] == "authinfo"
    finally:
        d.stop()
    assert "10.1.2.3 admin GET whoami ok" in d.log.read_text()


def test_bad_requests(web):
    assert web.request("/billmgr?func=whoami&x=" + "a" * 9000)[0].status == 414
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:   # refused before the body
        raw.sendall(b"POST /billmgr HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 2000000\r\n\r\nfunc=whoami")
        assert raw.recv(100).startswith(b"HTTP/1.1 413")
    assert web.request("/billmgr?func=%ff%fe")[0].status == 400
    assert web.request("/elsewhere?func=whoami")[0].status == 404
    assert web.request("/billmgr?func=whoami", "PUT")[0].status == 405
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:
        raw.sendall(b"\x16\x03garbage that is not http\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as raw:
        raw.sendall(b"GET /billmgr?func=whoami HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        assert raw.recv(100).split(b"\r\n")[0] in (b"HTTP/1.1 413 Request Entity Too Large",
                                                    b"HTTP/1.1 431 Request Header Fields Too Large")
    assert web.get(authinfo=ADMIN, func="whoami")[0].status == 200
    assert "Traceback" not in web.log.read_text()


def test_concurrent_clients(web):
    failures = []

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        for i in range(25):
            conn.request("GET", f"/billmgr?authinfo={ADMIN}&func=account&out=JSONdata")
            data = conn.getresponse().read()
            if "alice@example.com" not in data.decode():
                failures.append(data)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_https_with_a_configured_certificate(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    d = Web(tmp_path, settings=f"path certificate {tmp_path / 'cert.pem'}\npath key {tmp_path / 'key.pem'}\n")
    d.start().populate()
    try:
        response, body = d.request(f"/billmgr?authinfo={ADMIN}&func=whoami&out=JSONdata", tls=True)
        assert json.loads(body)["name"] == "admin"
        response, _ = d.request("/billmgr?func=auth&username=alice@example.com&password=" + CLIENT_PASSWORD,
                                tls=True)
        assert "Secure" in response.getheader("Set-Cookie")
    finally:
        d.stop()


def test_a_client_too_slow_to_send_its_headers_is_cut_off(tmp_path):
    d = Web(tmp_path, settings="HttpTimeout 1\n").start()
    try:
        with socket.create_connection(("127.0.0.1", d.port), timeout=10) as slow:
            slow.sendall(b"GET /billmgr?func=whoami HTTP/1.1\r\nHost: x\r\n")   # and never the blank line
            started = time.monotonic()
            answer = slow.recv(200)
            assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 5
        assert d.get(func="register")[0].status == 200     # everyone else is still served
    finally:
        d.stop()
