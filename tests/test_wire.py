"""The wire as real callers use it, and what careless or hostile peers send it.

Frames are written by hand where a test needs what protocol.encode would
never produce (deep nesting, lone surrogates as JSON escapes).
"""

import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MGRCTL, Daemon
from lxml import etree
from test_http import ADMIN, Web
from test_plugins import plugged

from billmgr import protocol
from billmgr.registry import Registry

ROOT = Path(__file__).parents[1]
FORMATS = ("xml", "json", "sjson", "JSONdata", "bjson", "text", "devel", "print")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    d = Web(tmp_path_factory.mktemp("wire"), settings="Option TestClock\n").start().populate()
    yield d
    d.stop()


def frame(meta):
    """One frame around ``meta``: bytes as they are, or a message as escaped (ASCII) JSON."""
    meta = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    return struct.pack("!2sBII", b"BM", protocol.VERSION, len(meta), 0) + meta


def ask(daemon, *metas):
    """Send frames on one connection; the replies (None once the daemon closed it)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(daemon.socket))
        replies = []
        for meta in metas:
            sock.sendall(frame(meta))
            replies.append(protocol.read_frame(sock))
        return replies if len(replies) > 1 else replies[0]


def call(*pairs):
    return {"op": "call", "params": [list(p) for p in pairs]}


def alive(daemon):
    assert daemon.process.poll() is None, "billmgrd exited"
    assert daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0


def me(daemon):
    return daemon.call("whoami", out="JSONdata")["name"]


# -- 1. decoding is total ----------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deeply_nested_json_is_a_protocol_error_and_the_daemon_lives(web, depth):
    reply = ask(web, b"[" * depth + b"]" * depth)
    assert reply["error"] == "protocol" and "not JSON" in reply["body"]
    alive(web)


def test_nested_values_in_a_json_object_are_typed_errors(web):
    nested = b"[" * 900 + b"]" * 900
    for meta, field in ((b'{"op":' + nested + b"}", "op"),
                        (b'{"op":"call","params":[["func",' + nested + b"]]}", "params"),
                        (b'{"op":"describe","func":' + nested + b',"out":"text"}', "func")):
        reply = ask(web, meta)
        assert reply["error"] == "value", reply
        assert f'object="{field}"' in reply["body"] or f"ERROR value({field})" in reply["body"]
    alive(web)


def test_a_fault_sending_one_reply_closes_that_connection_not_the_daemon(web):
    """A reply that cannot be framed (here: 4 MB of '<' echoed in tparams, 16 MB once escaped)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(web.socket))
        sock.sendall(frame(call(("func", "whoami"), ("sok", "ok"), ("junk", "<" * (4 << 20)), ("out", "xml"))))
        try:
            reply = protocol.read_frame(sock)
        except (OSError, protocol.ProtocolError):
            reply = None
        assert reply is None or reply["error"] is None    # closed, or (once replies stream) answered
    alive(web)


# -- 2. text that is not Unicode scalar values --------------------------------------


def test_a_lone_surrogate_is_refused_before_it_is_stored(web):
    reply = ask(web, call(("func", "account.setfilter"), ("name", "\ud800"), ("out", "json"), ("lang", "ru")))
    error = json.loads(reply["body"])["doc"]["error"]
    assert reply["error"] == "value" and error["$object"] == "name"
    assert error["msg"]["$"] == "Поле 'Наименование' не является корректным текстом Unicode"
    assert web.stored("SELECT count(*) FROM list_filter") == [(0,)]
    assert web.mgrctl("-m", "billmgr", "account.filter").returncode == 0
    assert web.mgrctl("-m", "billmgr", "account").returncode == 0
    alive(web)


def test_a_nul_is_refused_before_it_is_stored_on_either_store(web):
    """PostgreSQL's text cannot hold a NUL, nor can XML show one: no call takes it, whatever the store."""
    for lang, message in (("en", "The field 'Email' holds a NUL character, which no text may hold"),
                          ("ru", "Поле 'Email' содержит символ NUL, недопустимый в тексте")):
        reply = ask(web, call(("func", "account.edit"), ("email", "nul\x00@example.com"), ("sok", "ok"),
                              ("out", "json"), ("lang", lang)))
        error = json.loads(reply["body"])["doc"]["error"]
        assert reply["error"] == "value" and error["$object"] == "email"
        assert error["msg"]["$"] == message
    filtered = ask(web, call(("func", "account"), ("filter", "on"), ("email", "a\x00"), ("out", "text")))
    assert filtered["error"] == "value" and filtered["body"].startswith("ERROR value(email): ")
    assert web.stored("SELECT count(*) FROM account WHERE email LIKE 'nul%'") == [(0,)]
    alive(web)


def test_a_surrogate_in_a_parameter_name_is_refused_by_name(web):
    reply = ask(web, call(("func", "whoami"), ("\ud800x", "1"), ("out", "text")))
    assert reply["error"] == "value" and reply["body"].startswith("ERROR value(\ufffdx): ")


def test_every_function_refuses_a_surrogate_and_the_daemon_lives(daemon):
    """Each function gets a surrogate in parameters it would echo (tparams, elid, its own fields)."""
    functions = sorted(Registry.load().callable())
    replies = ask(daemon, *[call(("func", f), ("elid", "1\ud800"), ("name", "\udfff"), ("sok", "ok"),
                                 ("out", out)) for f in functions for out in ("xml", "json", "text")])
    assert [r["error"] for r in replies] == ["value"] * len(replies)
    assert all("value(elid)" in r["body"] or "1\ufffd" in r["body"] for r in replies)   # text, or xml/json
    alive(daemon)


def test_http_refuses_surrogates_too(web):
    response, body = web.request("/billmgr", "POST", body=b'{"func":"whoami","note":"\\ud800","out":"JSONdata"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200 and response.getheader("X-Billmgr-Error") == "value"
    assert json.loads(body)["error"]["object"] == "note"
    response, body = web.request("/billmgr?func=whoami&note=%ED%A0%80")
    assert response.status == 400 and b"UTF-8" in body


def test_text_stored_before_the_fix_renders_with_replacement_characters(tmp_path):
    d = Web(tmp_path).start().populate()
    try:
        user = me(d)
        for who in (user, "admin"):
            d.stored("INSERT INTO list_filter (user, func, params) VALUES (?, 'account', ?)",
                     who, '[["name", "\\ud800"]]')
        for out in FORMATS:
            shown = d.mgrctl("-m", "billmgr", "-o", out, "account.filter")
            assert shown.returncode == 0 and "\ufffd" in shown.stdout, (out, shown.stderr)
            listed = d.mgrctl("-m", "billmgr", "-o", out, "account")
            assert listed.returncode == 0, (out, listed.stderr)
            response, body = d.request(f"/billmgr?authinfo={ADMIN}&func=account.filter&out={out}")
            assert response.status == 200 and "\ufffd" in body.decode(), out
        alive(d)
    finally:
        d.stop()


# -- 3. control operations answer typed errors ----------------------------------------


def test_control_operations_answer_typed_errors_in_the_callers_format_and_language(web):
    described = ask(web, {"op": "describe", "func": [1], "out": "text", "lang": "ru"})
    assert described["error"] == "value" and described["body"].startswith("ERROR value(func): Неверное значение")
    unknown = ask(web, {"op": "dance", "out": "json"})
    assert json.loads(unknown["body"])["doc"]["error"]["$object"] == "op"
    for shift in ("soon", 1e300, True):
        reply = ask(web, {"op": "clock", "shift": shift, "out": "bjson"})
        assert reply["error"] == "value" and json.loads(reply["body"])["error"]["object"] == "shift", shift
    for shift in (b"NaN", b"-Infinity", b"1" * 400):
        assert ask(web, b'{"op":"clock","shift":%s}' % shift)["error"] == "value", shift
    assert ask(web, {"op": "clock", "shift": 60})["error"] is None
    alive(web)


def test_mgrctl_info_errors_follow_the_output_format(web):
    text = web.mgrctl("-m", "billmgr", "-i", "no.such", "lang=ru")
    assert text.returncode == 1 and text.stdout == ""
    assert text.stderr == "ERROR func(no.such): Неизвестная функция 'no.such'\n"
    xml = web.mgrctl("-o", "xml", "-m", "billmgr", "-i", "no.such")
    assert xml.returncode == 1 and xml.stderr == ""
    assert etree.fromstring(xml.stdout.encode()).find("error").get("type") == "func"


# -- 4. mgrctl's own arguments --------------------------------------------------------


@pytest.mark.parametrize("args, env", [
    ([b"-m", b"billmgr", b"account", b"p_num=\xff"], {}),
    ([b"-m", b"billmgr", b"\xfe\xff"], {}),
    ([b"-m", b"billmgr", b"account.edit", b"-e", b"note=$BAD"], {b"BAD": b"\xff"}),
    ([b"-m", b"billmgr", b"account", b"=1"], {}),
])
def test_a_bad_argument_is_a_one_line_usage_error(web, args, env):
    environ = {**{k.encode(): v.encode() for k, v in web.env.items()}, **env}
    result = subprocess.run([MGRCTL.encode(), *args], env=environ, capture_output=True, timeout=60)
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.startswith(b"mgrctl: ") and result.stderr.count(b"\n") == 1, result.stderr


# -- 5. the wire as real callers use it ---------------------------------------------


def test_paramlist_answers_one_element_per_setting_named_after_it(web):
    doc = etree.fromstring(web.mgrctl("-m", "billmgr", "-o", "xml", "paramlist").stdout.encode())
    elems = doc.findall("elem")
    assert elems and all(len(e) == 1 for e in elems)
    settings = {e[0].tag: e[0].text for e in elems}
    assert settings["path_db"] == str(web.db) and settings["LogLevel"] == "info"
    assert settings["HttpListen"] == f"127.0.0.1:{web.port}" and settings["TestClock"] == "on"
    assert doc.findtext("p_elems") == str(len(elems))


@pytest.mark.parametrize("out", ["xml", "json", "sjson", "JSONdata", "bjson", "text"])
def test_paramlist_elid_gives_that_one_setting_in_every_format(web, out):
    body = web.mgrctl("-m", "billmgr", "-o", out, "paramlist", "elid=LogLevel").stdout
    expected = {
        "xml": lambda: etree.fromstring(body.encode()).findall("elem")[0][0].tag == "LogLevel"
        and len(etree.fromstring(body.encode()).findall("elem")) == 1
        and "<elem><LogLevel>info</LogLevel></elem>" in body,
        "json": lambda: json.loads(body)["doc"]["elem"] == {"LogLevel": {"$": "info"}},
        "sjson": lambda: json.loads(body)["doc"]["elem"] == [{"LogLevel": {"$": "info"}}],
        "JSONdata": lambda: json.loads(body)["elem"] == [{"LogLevel": "info"}],
        "bjson": lambda: json.loads(body)["elem"] == [{"LogLevel": "info"}],
        "text": lambda: body == "LogLevel=info\n",
    }
    assert expected[out](), body


def test_paramlist_names_paths_as_billmgr_conf_writes_them(web):
    for elid in ("path db", "path_db"):
        rows = web.call("paramlist", f"elid={elid}", out="JSONdata")["elem"]
        assert rows == [{"path_db": str(web.db)}]
    unknown = web.mgrctl("-m", "billmgr", "paramlist", "elid=NoSuchSetting")
    assert unknown.returncode == 1 and unknown.stderr.startswith("ERROR missed(setting)")


def test_bjson_shapes(web):
    listed = web.call("account", out="bjson")
    assert isinstance(listed["elem"], list) and all(isinstance(v, str) for v in listed["elem"][0].values())
    form = web.call("account.edit", f"elid={web.alice}", out="bjson")
    assert form["model"]["email"] == "alice@example.com" and "email" not in form
    error = web.call("account.edit", "sok=ok", out="bjson")
    assert error["error"]["type"] == "empty" and "doc" not in error
    created = web.call("account.edit", "email=bjson@example.com", "sok=ok", out="bjson")
    assert created["ok"] is True and created["model"]["id"].isdigit()
    assert created["tparams"]["email"] == "bjson@example.com"


@pytest.mark.parametrize("out", ["xml", "devel", "json", "sjson", "JSONdata", "bjson"])
@pytest.mark.parametrize("order", [
    lambda out: ["-m", "billmgr", "-o", out, "account.edit", "sok=ok"],
    lambda out: ["-o", out, "-m", "billmgr", "account.edit", "sok=ok"],
    lambda out: ["account.edit", "-m", "billmgr", "-o", out, "sok=ok"],
    lambda out: ["-m", "billmgr", "account.edit", "sok=ok", f"out={out}"],
])
def test_error_documents_go_to_stdout_in_every_document_format(web, out, order):
    result = web.mgrctl(*order(out))
    assert result.returncode == 1 and result.stderr == ""
    if out in ("xml", "devel"):
        assert etree.fromstring(result.stdout.encode()).find("error").get("type") == "empty"
    else:
        assert '"empty"' in result.stdout and json.loads(result.stdout)


def test_a_text_error_stays_on_stderr(web):
    result = web.mgrctl("account.edit", "-m", "billmgr", "sok=ok")
    assert result.returncode == 1 and result.stdout == "" and result.stderr.startswith("ERROR empty(email)")


def test_sok_yes_confirms_like_sok_ok(web):
    created = web.mgrctl("-m", "billmgr", "-o", "xml", "account.edit", "email=yes@example.com", "sok=yes")
    doc = etree.fromstring(created.stdout.encode())
    assert doc.find("ok") is not None and doc.findtext("id").isdigit()
    assert doc.findtext("tparams/sok") == "yes"
    listed = web.call("account", "filter=on", "email=yes@example.com", out="JSONdata")
    assert [row["id"] for row in listed["elem"]] == [doc.findtext("id")]


def test_every_confirmed_success_carries_ok_and_tparams(tmp_path):
    d = plugged(Daemon(tmp_path).start(), "confirm", """
        <mgrdata>
          <metadata name="confirm.edit" type="form" level="admin">
            <form><field name="value"><input type="text" name="value"/></field></form>
          </metadata>
          <handler name="confirm" type="cgi"><func name="confirm.edit"/></handler>
        </mgrdata>""", {"confirm": "echo '<doc><id>7</id></doc>'\n"})
    try:
        doc = etree.fromstring(d.mgrctl("-m", "billmgr", "-o", "xml", "confirm.edit", "value=v", "sok=ok")
                               .stdout.encode())
        assert doc.find("ok") is not None and doc.findtext("id") == "7"
        assert doc.findtext("tparams/value") == "v" and doc.findtext("tparams/elid") is None
        shown = etree.fromstring(d.mgrctl("-m", "billmgr", "-o", "xml", "confirm.edit").stdout.encode())
        assert shown.find("ok") is None and shown.find("tparams") is None
    finally:
        d.stop()


def test_http_accepts_a_json_body_of_parameters(web):
    body = json.dumps({"func": "account", "authinfo": ADMIN, "out": "JSONdata", "p_cnt": 1, "p_num": "1",
                       "filter": "on", "email": "alice@example.com"})
    response, data = web.request("/billmgr", "POST", body=body.encode(),
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    listed = json.loads(data)
    assert response.status == 200 and listed["p_cnt"] == "1"
    assert [row["email"] for row in listed["elem"]] == ["alice@example.com"]
    body = (b'{"func": "account.edit", "authinfo": "%s", "email": "json@example.com", "sok": "ok", "out": "bjson",'
            b' "nocalcstat": true, "verify_email": false, "note": 10.50, "addon_26": [10, "20"], "name": null}'
            % ADMIN.encode())
    response, data = web.request("/billmgr", "POST", body=body, headers={"Content-Type": "application/json"})
    created = json.loads(data)
    assert response.status == 200 and created["ok"] is True, created
    assert created["tparams"]["addon_26"] == ["10", "20"] and created["tparams"]["name"] == ""
    form = web.call("account.edit", f"elid={created['model']['id']}", out="JSONdata")
    assert form["nocalcstat"] == "on" and form["note"] == "10.50"


@pytest.mark.parametrize("body, reason", [
    (b"{", "bad JSON body"), (b"[1]", "JSON object"), (b'{"func": {"a": 1}}', "string, number"),
    (b'{"p_cnt": NaN}', "not a number"), (b"\xff", "bad JSON body"), (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}",
                                                                        "bad JSON body"),
])
def test_a_malformed_json_body_is_400_with_a_reason(web, body, reason):
    response, data = web.request("/billmgr", "POST", body=body, headers={"Content-Type": "application/json"})
    assert response.status == 400 and reason in data.decode()


def test_values_survive_the_trip_byte_for_byte(web):
    note = '  <doc><a x="1">é\n"q" \'s\'\t&amp;</a></doc>\n  '
    created = web.mgrctl("-m", "billmgr", "account.edit", "email=exact@example.com", f"note={note}",
                         "name=  Spaced Name  ", "sok=ok")
    new_id = created.stdout.split("id=")[1].split()[0]
    xml = etree.fromstring(web.mgrctl("-m", "billmgr", "-o", "xml", "account.edit", f"elid={new_id}").stdout.encode())
    assert xml.findtext("note") == note and xml.findtext("name") == "Spaced Name"   # one-line text is trimmed
    assert web.call("account.edit", f"elid={new_id}", out="json")["note"]["$"] == note
    assert web.call("account.edit", f"elid={new_id}", out="JSONdata")["note"] == note
    echoed = etree.fromstring(web.mgrctl("-m", "billmgr", "-o", "xml", "account.edit", f"elid={new_id}",
                                         f"note={note}", "sok=ok").stdout.encode())
    assert echoed.findtext("tparams/note") == note


# -- 6. the package test runs only where asked -----------------------------------------


def test_the_package_install_test_runs_only_when_asked():
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BILLMGR_TEST_PACKAGES")}
    env["PATH"] = "/nonexistent"    # should the gate fail, the test skips for want of dpkg rather than install
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                             str(ROOT / "tests" / "test_packaging.py")], env=env, capture_output=True,
                            text=True, timeout=120, cwd=ROOT)
    assert "skipped" in result.stdout and "passed" not in result.stdout, result.stdout
    assert "BILLMGR_TEST_PACKAGES=1" in result.stdout
    assert "BILLMGR_TEST_PACKAGES=1" in (ROOT / ".ci" / "run").read_text()
    assert "BILLMGR_TEST_PACKAGES=1" in (ROOT / "README.md").read_text()
