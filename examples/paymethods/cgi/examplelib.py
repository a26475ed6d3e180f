"""What the example's CGI scripts share: billmgr through mgrctl, the gateway's signature, CGI answers.

Not executable, so billmgr does not serve it; the scripts beside it import it.
"""

import hashlib
import hmac
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl


def mgrctl(func, **params):
    """billmgr's answer to ``func`` as an XML element.  mgrctl is on PATH and BILLMGR_CONF leads it to
    the billing that runs this script; called with no session, it acts as the billing's superuser."""
    args = ["mgrctl", "-m", "billmgr", "-o", "xml", func, *(f"{name}={value}" for name, value in params.items())]
    out = subprocess.run(args, capture_output=True, timeout=60).stdout
    try:
        return ET.fromstring(out)
    except ET.ParseError:
        return ET.fromstring("<doc><error type='internal'/></doc>")


def failed(doc):
    return doc.find("error") is not None


def method_settings(info):
    """The payment method's settings in payment.info: the second <paymethod> (the first is its id)."""
    nodes = info.findall("paymethod")
    return nodes[1] if len(nodes) > 1 else ET.Element("paymethod")


def sign(secret, *values):
    """The gateway's signature: HMAC-SHA256 of the values joined by '|', in hex."""
    return hmac.new(secret.encode(), "|".join(values).encode(), hashlib.sha256).hexdigest()


def request_params():
    """The query string's parameters, then a POSTed form's."""
    params = dict(parse_qsl(os.environ.get("QUERY_STRING", ""), keep_blank_values=True))
    length = os.environ.get("CONTENT_LENGTH", "")
    if os.environ.get("REQUEST_METHOD") == "POST" and length.isdigit():
        params.update(parse_qsl(sys.stdin.buffer.read(int(length)).decode(), keep_blank_values=True))
    return params


def cookie(name):
    try:
        jar = SimpleCookie(os.environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return ""
    return jar[name].value if name in jar else ""


def answer(status, text):
    """A plain-text answer, and the end of the script."""
    sys.stdout.write(f"Status: {status}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\n")
    sys.exit(0)


def redirect(url):
    sys.stdout.write(f"Status: 302 Found\r\nLocation: {url}\r\n\r\n")
    sys.exit(0)
