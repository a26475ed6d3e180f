"""Payment modules end to end: the example module installed into a real daemon, its CGI scripts
served at /mancgi/, a fake gateway on loopback (the true outside edge) and real HTTP clients --
one driven step by step, one a browser-like cookie session that follows redirects."""

import hashlib
import hmac
import http.client
import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from conftest import BILLMGRD, Daemon
from lxml import etree

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "paymethods"
SECRET = "gw-s3cret-key"
PASSWORD = "Cl1ent-secret"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign(*values, secret=SECRET):
    return hmac.new(secret.encode(), "|".join(values).encode(), hashlib.sha256).hexdigest()


class Gateway(ThreadingHTTPServer):
    """The payment system: takes a signed order at /pay, notifies the shop with a signed form
    ``repeat`` times (as gateways retry), then sends the client back to the success or fail page."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GatewayPage)
        self.outcome, self.repeat, self.orders, self.answers = "paid", 2, [], []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def notify(self, order, status, txn, signature=None):
        """POST a notification to the shop as the gateway does: (HTTP status, body)."""
        fields = {"order": order["order"], "amount": order["amount"], "status": status, "txn": txn}
        fields["sign"] = signature or sign(fields["order"], fields["amount"], status, txn)
        target = urlsplit(order["notify"])
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        conn.request("POST", target.path, urlencode(fields), {"Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        answer = (response.status, response.read().decode().strip())
        conn.close()
        self.answers.append(answer)
        return answer


class GatewayPage(BaseHTTPRequestHandler):
    def do_GET(self):
        order = dict(parse_qsl(urlsplit(self.path).query))
        if order.get("sign") != sign(order.get("shop", ""), order.get("order", ""), order.get("amount", ""),
                                     order.get("currency", "")):
            self.send_response(400)
            self.end_headers()
            return
        gateway = self.server
        gateway.orders.append(order)
        status = "paid" if gateway.outcome == "paid" else "rejected"
        for _ in range(gateway.repeat):
            gateway.notify(order, status, f"T-{order['order']}")
        self.send_response(302)
        self.send_header("Location", order["success" if status == "paid" else "fail"])
        self.end_headers()

    def log_message(self, *args):
        pass


class Shop(Daemon):
    """A daemon serving HTTP with the example payment module installed as its README says."""

    def __init__(self, root):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(root, settings=f"HttpListen 127.0.0.1:{self.port}\nPublicUrl {self.url}/billmgr\n")
        for source, target in ((EXAMPLE / "billmgr_mod_pmexample.xml", self.root / "etc" / "xml"),
                               (EXAMPLE / "pmexample", self.root / "paymethods")):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
        shutil.copytree(EXAMPLE / "cgi", self.root / "cgi")

    def request(self, target, method="GET", body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response, data

    def login(self, email):
        query = urlencode({"func": "auth", "username": email, "password": PASSWORD, "out": "json"})
        response, data = self.request(f"/billmgr?{query}")
        return json.loads(data)["doc"]["auth"]["$id"]

    def client(self, email):
        """A client with a password and a subaccount: (account, subaccount)."""
        account = self.new_account(email, f"passwd={PASSWORD}")
        return account, self.create("subaccount.edit", f"plid={account}")

    def info(self, payment):
        return etree.fromstring(self.run("-o", "xml", "payment.info", f"elid={payment}").stdout.encode())

    def status(self, payment):
        return self.info(payment).findtext("status")

    def balance(self, subaccount):
        return self.stored("SELECT balance FROM subaccount WHERE id = ?", subaccount)[0][0]

    def credits(self, payment):
        return self.stored("SELECT count(*) FROM journal WHERE kind = 'payment' AND ref_id = ?", payment)[0][0]

    def history(self, payment):
        return [h["desc"] for h in self.call("payment.history", f"elid={payment}", out="JSONdata")["elem"]]

    def books_balance(self):
        """The ledger check through the admin function and ``billmgrd check``: no problem either way."""
        checked = subprocess.run([BILLMGRD, "check"], env=self.env, capture_output=True, text=True, timeout=60)
        return self.rows("ledger.check") == [] and checked.returncode == 0


@pytest.fixture(scope="module")
def gateway():
    server = Gateway()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def shop(tmp_path_factory, gateway):
    d = Shop(tmp_path_factory.mktemp("shop")).start()
    d.method = d.create("paymethod.edit", "name=Example gateway", "module=pmexample", f"gateway_url={gateway.url}",
                        "shop_id=42", f"secret={SECRET}")
    yield d
    d.stop()


def test_the_module_is_configured_once_and_listed(shop):
    listed = {m["name"]: m for m in shop.rows("paymethod.module")}
    assert listed["pmexample"]["features"] == "crvalidate pmtune pmvalidate redirect"
    assert listed["pmexample"]["payment_script"] == "/mancgi/examplepayment"
    assert listed["pmexample"]["file"].endswith("billmgr_mod_pmexample.xml") and "problem" not in listed["pmexample"]
    shown = shop.form("paymethod.edit", f"elid={shop.method}")
    assert (shown["module"], shown["shop_id"], shown["secret"]) == ("pmexample", "42", "***")
    # config ran at start: its answer is kept, so the module works with its executable gone -- till a reload
    executable = shop.root / "paymethods" / "pmexample"
    executable.rename(executable.with_name("moved"))
    try:
        assert "problem" not in {m["name"]: m for m in shop.rows("paymethod.module")}["pmexample"]
        assert shop.run("-R").returncode == 0
        broken = {m["name"]: m for m in shop.rows("paymethod.module")}["pmexample"]
        assert "not an executable" in broken["problem"] and broken["file"].endswith("billmgr_mod_pmexample.xml")
        assert "not offered" in shop.log.read_text()
        refused = shop.run("paymethod.edit", "name=Other", "module=pmexample", "sok=ok")
        assert refused.returncode == 1 and "value(module)" in refused.stderr
    finally:
        executable.with_name("moved").rename(executable)
        assert shop.run("-R").returncode == 0
    assert "problem" not in {m["name"]: m for m in shop.rows("paymethod.module")}["pmexample"]


def test_a_module_whose_config_fails_is_reported_and_not_offered(shop):
    (shop.root / "etc" / "xml" / "billmgr_mod_pmbad.xml").write_text(
        "<mgrdata><plugin name='pmbad'><group>payment_method</group></plugin></mgrdata>")
    bad = shop.root / "paymethods" / "pmbad"
    bad.write_text("#!/bin/sh\necho 'not a document'\nexit 3\n")
    bad.chmod(0o755)
    try:
        assert shop.run("-R").returncode == 0
        row = {m["name"]: m for m in shop.rows("paymethod.module")}["pmbad"]
        assert row["file"].endswith("billmgr_mod_pmbad.xml") and "exit status 3" in row["problem"]
        assert shop.error("paymethod.edit", "name=Bad", "module=pmbad", "sok=ok")[0] == "value"
        assert shop.stored("SELECT count(*) FROM paymethod WHERE module = 'pmbad'") == [(0,)]
    finally:
        (shop.root / "etc" / "xml" / "billmgr_mod_pmbad.xml").unlink()
        bad.unlink()
        assert shop.run("-R").returncode == 0


def test_pmtune_fills_the_form_and_pmvalidate_refuses_a_bad_edit(shop):
    assert shop.form("paymethod.edit", "module=pmexample")["gateway_url"] == "https://gateway.example.com"
    before = shop.stored("SELECT count(*) FROM paymethod")
    kind, message = shop.error("paymethod.edit", "name=Bad shop", "module=pmexample", "gateway_url=http://gw.test",
                               "shop_id=abc", "secret=x", "sok=ok")
    assert (kind, message) == ("value", "The shop id is the number the gateway gave you")
    assert shop.stored("SELECT count(*) FROM paymethod") == before
    assert shop.error("paymethod.edit", f"elid={shop.method}", "shop_id=x1", "sok=ok")[0] == "value"
    assert shop.stored("SELECT value FROM paymethod_param WHERE paymethod = ? AND name = 'shop_id'",
                       shop.method) == [("42",)]


def test_a_client_pays_through_the_gateway_step_by_step(shop, gateway):
    account, subaccount = shop.client("steps@example.com")
    sid = shop.login("steps@example.com")
    # payment.add answers as BILLmanager does: <ok type="url"> with the module's payment script
    response, data = shop.request("/billmgr?" + urlencode({"func": "payment.add", "paymethod": shop.method,
                                                          "amount": "100.00", "sok": "ok", "out": "xml",
                                                          "auth": sid}))
    doc = etree.fromstring(data)
    payment = int(doc.findtext("payment_id"))
    assert response.status == 200 and doc.find("ok").get("type") == "url"
    assert doc.findtext("ok") == f"/mancgi/examplepayment?elid={payment}"
    assert shop.status(payment) == "8"
    assert str(payment) not in [row["id"] for row in shop.rows("payment", "su=steps@example.com")]
    # the browser at the payment script (with its session cookie) is sent to the gateway with a signed order
    response, _ = shop.request(f"/mancgi/examplepayment?elid={payment}", headers={"Cookie": f"billmgrses5={sid}"})
    assert response.status == 302
    order = dict(parse_qsl(urlsplit(response.getheader("Location")).query))
    assert response.getheader("Location").startswith(f"{gateway.url}/pay?")
    assert (order["order"], order["amount"], order["currency"], order["shop"]) == (str(payment), "100.00", "RUB", "42")
    assert order["sign"] == sign("42", str(payment), "100.00", "RUB")
    assert order["notify"] == f"{shop.url}/mancgi/exampleresult"
    assert shop.status(payment) == "2"
    # another client's session may not pay it
    shop.client("other@example.com")
    response, _ = shop.request(f"/mancgi/examplepayment?elid={payment}",
                               headers={"Cookie": f"billmgrses5={shop.login('other@example.com')}"})
    assert response.status == 404 and shop.status(payment) == "2"
    # a notification with a bad signature changes nothing
    history = shop.history(payment)
    assert gateway.notify(order, "paid", "T-X", signature="0" * 64) == (403, "Bad signature")
    assert (shop.status(payment), shop.balance(subaccount), shop.history(payment)) == ("2", 0, history)
    # the signed notification credits once, however often the gateway repeats it
    assert gateway.notify(order, "paid", "T-1") == (200, "OK")
    assert gateway.notify(order, "paid", "T-1") == (200, "OK")
    assert (shop.status(payment), shop.balance(subaccount), shop.credits(payment)) == ("4", 10000, 1)
    assert shop.info(payment).findtext("externalid") == "T-1"
    assert shop.history(payment)[1:] == ["status: 1 -> 8", "status: 8 -> 2",
                                         "status: 2 -> 4; info: paid at the gateway: T-1; externalid: T-1"]
    assert shop.books_balance()
    actors = [(h["desc"].split(";")[0], h["user"]) for h in shop.call("payment.history", f"elid={payment}",
                                                                      out="JSONdata")["elem"][2:]]
    assert [(change, user.split(" ")[0]) for change, user in actors] == [("status: 8 -> 2", "pmexample"),
                                                                         ("status: 2 -> 4", "pmexample")]
    # the client comes back to the success page of its own payment
    response, data = shop.request(f"/billmgr?func=payment.success&elid={payment}&out=xml",
                                  headers={"Cookie": f"billmgrses5={sid}"})
    page = etree.fromstring(data)
    assert page.find("status").get("orig") == "4" and page.findtext("paymethodamount") == "100.00 RUB"
    assert "Thank you" in page.findtext("message")
    # a rejected payment returns to status 1 and credits nothing
    rejected = int(shop.ok("payment.add", "paymethod=" + str(shop.method), "amount=50", "sok=ok",
                           f"auth={sid}")["payment_id"])
    response, _ = shop.request(f"/mancgi/examplepayment?elid={rejected}", headers={"Cookie": f"billmgrses5={sid}"})
    second = dict(parse_qsl(urlsplit(response.getheader("Location")).query))
    assert gateway.notify(second, "rejected", "T-2") == (200, "OK")
    assert (shop.status(rejected), shop.balance(subaccount), shop.credits(rejected)) == ("1", 10000, 0)
    assert shop.history(rejected)[-1] == "status: 2 -> 1; info: rejected by the gateway; externalid: T-2"
    assert shop.books_balance()


def test_crvalidate_refuses_a_payment_the_gateway_would_not_take(shop):
    account, _ = shop.client("small@example.com")
    sid = shop.login("small@example.com")
    before = shop.stored("SELECT count(*) FROM payment")
    result = shop.run("payment.add", f"paymethod={shop.method}", "amount=0.50", "sok=ok", f"auth={sid}")
    assert result.returncode == 1 and "The gateway takes payments of 1.00 or more" in result.stderr
    assert shop.stored("SELECT count(*) FROM payment") == before


def browser():
    """A browser-like client: keeps cookies, follows redirects (POST then 303 becomes GET)."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


@pytest.mark.parametrize("outcome, page, status, credited", [("paid", "payment.success", "4", 10000),
                                                              ("rejected", "payment.fail", "1", 0)])
def test_a_browser_session_pays_following_redirects(shop, gateway, outcome, page, status, credited):
    account, subaccount = shop.client(f"browser-{outcome}@example.com")
    web = browser()
    login = web.open(f"{shop.url}/billmgr", urlencode({"func": "auth", "username": f"browser-{outcome}@example.com",
                                                       "password": PASSWORD}).encode())
    assert login.status == 200 and login.read()
    gateway.outcome, answers = outcome, len(gateway.answers)
    landed = web.open(f"{shop.url}/billmgr", urlencode({"func": "payment.add", "paymethod": shop.method,
                                                        "amount": "100.00", "sok": "ok"}).encode())
    doc = etree.fromstring(landed.read())
    assert landed.status == 200 and f"func={page}" in landed.url
    payment = int(doc.findtext("elid"))
    assert doc.find("status").get("orig") == status
    assert gateway.answers[answers:] == [(200, "OK"), (200, "OK")]      # notified twice, by the gateway
    assert (shop.status(payment), shop.balance(subaccount), shop.credits(payment)) == (
        status, credited, 1 if credited else 0)
    outcome_line = (f"status: 2 -> 4; info: paid at the gateway: T-{payment}; externalid: T-{payment}" if credited
                    else f"status: 2 -> 1; info: rejected by the gateway; externalid: T-{payment}")
    assert shop.history(payment)[1:] == ["status: 1 -> 8", "status: 8 -> 2", outcome_line]
    assert shop.books_balance()


@pytest.fixture
def cgi_dir(shop):
    return shop.root / "cgi"


def script(directory, name, body):
    path = directory / name
    path.write_text(body)
    path.chmod(0o755)
    return path


def test_cgi_environment_body_and_headers(shop, cgi_dir):
    script(cgi_dir, "envdump", "#!/bin/sh\nprintf 'Status: 201 Created\\r\\nContent-Type: application/json\\r\\n"
                               "X-Probe: yes\\r\\n\\r\\n'\nexec python3 -c 'import json, os, sys; print(json.dumps("
                               "{**os.environ, \"BODY\": sys.stdin.read()}))'\n")
    response, data = shop.request("/mancgi/envdump?a=1&b=two", "POST", "x=1&y=2",
                                  {"Content-Type": "application/x-www-form-urlencoded", "X-Custom": "v",
                                   "Cookie": "billmgrses5=abc; other=1"})
    env = json.loads(data)
    assert (response.status, response.getheader("Content-Type"), response.getheader("X-Probe")) == (
        201, "application/json", "yes")
    assert {k: env[k] for k in ("REQUEST_METHOD", "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_X_CUSTOM",
                                "HTTP_COOKIE", "REMOTE_ADDR", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME",
                                "GATEWAY_INTERFACE", "BODY")} == {
        "REQUEST_METHOD": "POST", "QUERY_STRING": "a=1&b=two", "CONTENT_LENGTH": "7",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "HTTP_X_CUSTOM": "v",
        "HTTP_COOKIE": "billmgrses5=abc; other=1", "REMOTE_ADDR": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(shop.port), "SCRIPT_NAME": "/mancgi/envdump", "GATEWAY_INTERFACE": "CGI/1.1",
        "BODY": "x=1&y=2"}
    assert env["BILLMGR_CONF"] == str(shop.conf) and "HTTP_PROXY" not in env
    assert os.path.dirname(shutil.which("mgrctl", path=env["PATH"]))


def test_cgi_scripts_cannot_escape_their_directory(shop, cgi_dir, tmp_path):
    outside = script(tmp_path, "outside", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nescaped'\n")
    (cgi_dir / "link").symlink_to(outside)
    for target in ("/mancgi/link", "/mancgi/..%2Foutside", "/mancgi/%2e%2e", "/mancgi/", "/mancgi/examplelib.py",
                   "/mancgi/missing", "/mancgi/cgi/examplepayment"):
        response, data = shop.request(target)
        assert response.status == 404 and b"escaped" not in data, target


def test_a_failing_or_malformed_script_is_a_gateway_error(shop, cgi_dir):
    script(cgi_dir, "noheaders", "#!/bin/sh\necho '<html>hello</html>'\n")
    script(cgi_dir, "crashes", "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho partial\nexit 2\n")
    script(cgi_dir, "redirects", "#!/bin/sh\nprintf 'Location: https://example.com/x\\n\\n'\n")
    assert shop.request("/mancgi/noheaders")[0].status == 502
    assert shop.request("/mancgi/crashes")[0].status == 502
    response, _ = shop.request("/mancgi/redirects")
    assert (response.status, response.getheader("Location")) == (302, "https://example.com/x")
    assert "crashes" in shop.log.read_text()


RECORDER = """#!/bin/sh
# a module that records the command line and stdin of crset, and fails it while a file 'fail' is beside it
case "$2" in
  config) echo '<doc><feature><redirect>on</redirect><crset>on</crset></feature>'\\
'<param><payment_script>/mancgi/recorded</payment_script></param></doc>' ;;
  crset) { echo "$@"; cat; } > crset.log; [ -e fail ] && exit 1; echo '<doc/>' ;;
esac
"""


def test_crset_gets_the_payment_at_checkout_and_its_failure_refuses_it(shop):
    (shop.root / "etc" / "xml" / "billmgr_mod_pmrecord.xml").write_text(
        "<mgrdata><plugin name='pmrecord'><group>payment_method</group></plugin></mgrdata>")
    script(shop.root / "paymethods", "pmrecord", RECORDER)
    assert shop.run("-R").returncode == 0
    method = shop.create("paymethod.edit", "name=Recorded", "module=pmrecord")
    shop.client("crset@example.com")
    sid = shop.login("crset@example.com")
    added = shop.ok("payment.add", f"paymethod={method}", "amount=12.34", "sok=ok", f"auth={sid}")
    assert added["redirect"] == f"/mancgi/recorded?elid={added['payment_id']}"
    command, _, stdin = (shop.root / "paymethods" / "crset.log").read_text().partition("\n")
    assert command == f"--command crset --payment {added['payment_id']}"
    given = etree.fromstring(stdin.encode())
    assert (given.get("func"), given.findtext("id"), given.findtext("status"), given.findtext("paymethodamount")) == (
        "payment.info", added["payment_id"], "8", "12.34")
    (shop.root / "paymethods" / "fail").touch()
    before = shop.stored("SELECT count(*) FROM payment")
    result = shop.run("payment.add", f"paymethod={method}", "amount=5", "sok=ok", f"auth={sid}")
    assert result.returncode == 1 and result.stderr.startswith("ERROR plugin(pmrecord)")
    assert shop.stored("SELECT count(*) FROM payment") == before
