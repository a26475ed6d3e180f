"""Plugins through the real daemon and mgrctl: the handler contract, events
and transactions, callbacks, faults, and reloads."""

import json
import os
import pwd
import subprocess
import textwrap
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from conftest import MGRCTL, Daemon

from billmgr.errors import MgrError
from billmgr.store import Store

DOCS = Path(__file__).parents[1] / "docs" / "plugins.md"


def install(daemon, name, xml, scripts=None):
    """Write billmgr_mod_NAME.xml and executable scripts into the addon directory; reload."""
    addon = daemon.root / "addon"
    addon.mkdir(exist_ok=True)
    for script, text in (scripts or {}).items():
        path = addon / script
        text = textwrap.dedent(text).lstrip()
        path.write_text(text if text.startswith("#!") else "#!/bin/sh\n" + text)
        path.chmod(0o755)
    daemon.plugin_xml.mkdir(parents=True, exist_ok=True)
    (daemon.plugin_xml / f"billmgr_mod_{name}.xml").write_text(textwrap.dedent(xml).lstrip())
    return daemon.mgrctl("-m", "billmgr", "-R")


def plugged(daemon, name, xml, scripts=None):
    reload = install(daemon, name, xml, scripts)
    assert reload.returncode == 0, reload.stderr
    return daemon


def mgr(daemon, *args):
    return daemon.mgrctl("-m", "billmgr", *args)


def running(pid):
    """Whether ``pid`` is a live process (not gone, not a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def accounts(daemon):
    return [row[0] for row in daemon.stored("SELECT email FROM account ORDER BY id")]


# -- the contract -------------------------------------------------------------

ENV_SHOW = """
    #!/usr/bin/env python3
    import os
    from xml.sax.saxutils import escape
    print("<doc>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in sorted(os.environ.items())) + "</doc>")
"""


def test_environment_of_a_cgi_handler(tmp_path):
    d = Daemon(tmp_path, env={"BILLMGR_TEST_SECRET": "daemon only"}).start()
    try:
        plugged(d, "env", """
            <mgrdata>
              <metadata name="env.show" type="form" level="admin"/>
              <handler name="envshow" type="cgi"><func name="env.show"/></handler>
            </mgrdata>""", {"envshow": ENV_SHOW})
        env = d.call("env.show", "elid=1", "elid=2", "note=a&b <c>", "lang=ru", out="JSONdata")
    finally:
        d.stop()
    assert env["PARAM_func"] == "env.show" and env["PARAM_lang"] == "ru"
    assert env["PARAM_elid"] == "1, 2" and env["PARAM_note"] == "a&b <c>"
    assert env["AUTH_USER"] == pwd.getpwuid(os.geteuid()).pw_name and env["AUTH_LEVEL"] == "admin"
    assert env["EVENT_TYPE"] == "action" and env["REQUEST_METHOD"] == "GET"
    assert parse_qsl(env["QUERY_STRING"]) == [("func", "env.show"), ("elid", "1"), ("elid", "2"),
                                              ("note", "a&b <c>"), ("lang", "ru"), ("out", "JSONdata")]
    assert env["BILLMGR_CONF"] == str(d.conf)
    assert "BILLMGR_TEST_SECRET" not in env
    guide = DOCS.read_text()
    for name in ("PARAM_func", "PARAM_lang", "AUTH_USER", "AUTH_LEVEL", "EVENT_TYPE", "QUERY_STRING",
                 "REQUEST_METHOD", "BILLMGR_CONF", "PATH"):
        assert name in env and f"`{name}`" in guide, name


def test_xml_handler_reads_the_document_and_cgi_headers_are_skipped(daemon):
    plugged(daemon, "io", """
        <mgrdata>
          <metadata name="io.xml" type="form" level="admin"/>
          <metadata name="io.cgi" type="action" level="admin"/>
          <handler name="ioxml" type="xml"><func name="io.xml"/></handler>
          <handler name="iocgi" type="cgi"><func name="io.cgi"/></handler>
        </mgrdata>""", {
        "ioxml": """
            input=$(tr -d '\\n' | sed 's/</[/g')
            printf '<doc><input>%s</input><event>%s</event></doc>' "$input" "$EVENT_TYPE"
        """,
        "iocgi": "printf 'Content-Type: text/xml\\r\\nStatus: 200\\r\\n\\r\\n<doc><ok/></doc>\\n'"})
    shown = daemon.call("io.xml", "lang=ru", out="JSONdata")
    assert shown == {"input": '[?xml version="1.0" encoding="UTF-8"?>[doc func="io.xml" lang="ru">[/doc>',
                     "event": "action"}
    assert mgr(daemon, "io.cgi").stdout == "OK\n"


def test_metadata_checks_run_before_any_plugin_code(daemon):
    marker = daemon.root / "ran"
    plugged(daemon, "form", """
        <mgrdata>
          <metadata name="form.edit" type="form" level="admin">
            <form><field name="count"><input type="text" name="count" required="yes" check="int"/></field></form>
          </metadata>
          <handler name="formedit" type="cgi"><func name="form.edit"/></handler>
        </mgrdata>""", {"formedit": f"touch {marker}; echo '<doc><ok/><count>'$PARAM_count'</count></doc>'"})
    assert "ERROR empty(count)" in mgr(daemon, "form.edit", "sok=ok").stderr
    assert "ERROR value(count)" in mgr(daemon, "form.edit", "count=many", "sok=ok").stderr
    assert not marker.exists()
    assert mgr(daemon, "form.edit", "count=7", "sok=ok").stdout == "OK\ncount=7\n"


# -- events and transactions -------------------------------------------------

def test_before_event_refuses_a_core_call_and_nothing_is_written(daemon):
    elid = daemon.new_account("keep@example.com")
    plugged(daemon, "keep", """
        <mgrdata>
          <handler name="keepguard" type="xml"><event name="account.delete"/></handler>
          <lang name="en"><messages name="account.delete">
            <msg name="msg_error_exists">Client '__value__' still has services</msg>
          </messages></lang>
        </mgrdata>""", {"keepguard": """
            grep -q '<doc func="account.delete" lang="en"></doc>' || exit 7
            echo "<doc><error type='exists' object='account'><param name='value'>$PARAM_elid</param></error></doc>"
        """})
    refused = mgr(daemon, "account.delete", f"elid={elid}", "sok=ok")
    assert refused.returncode == 1 and refused.stderr == f"ERROR exists(account): Client '{elid}' still has services\n"
    assert accounts(daemon) == ["keep@example.com"]


def test_before_event_runs_before_the_transaction_opens(daemon):
    """It may write through mgrctl: the request holds no writer yet."""
    elid = daemon.new_account("leaving@example.com")
    plugged(daemon, "audit", """
        <mgrdata>
          <handler name="audit" type="cgi"><event name="account.delete"/></handler>
        </mgrdata>""", {"audit": """
            mgrctl -m billmgr account.edit email="deleted-$PARAM_elid@audit.test" sok=ok >/dev/null || exit 1
            echo '<doc/>'
        """})
    started = time.monotonic()
    assert mgr(daemon, "account.delete", f"elid={elid}", "sok=ok").returncode == 0
    assert time.monotonic() - started < 5
    assert accounts(daemon) == [f"deleted-{elid}@audit.test"]


AFTER_CREATE = """
    <mgrdata>
      <handler name="aftercreate" type="cgi"><event name="account.edit" after="yes"/></handler>
    </mgrdata>
"""


def test_after_event_runs_after_commit_and_replaces_the_reply(daemon):
    """It sees the committed client through mgrctl, and its document is the reply."""
    plugged(daemon, "after", AFTER_CREATE, {"aftercreate": """
        seen=$(mgrctl -m billmgr -o text account filter=on email="$PARAM_email" | grep -c "email=$PARAM_email")
        echo "<doc><ok/><seen>$seen</seen><event>$EVENT_TYPE</event></doc>"
    """})
    created = mgr(daemon, "account.edit", "email=fresh@example.com", "sok=ok")
    assert created.stdout == "OK\nseen=1\nevent=after\n"
    assert json.loads(mgr(daemon, "-o", "json", "account.edit", "email=x@example.com", "sok=ok").stdout)["doc"][
        "tparams"]["email"] == {"$": "x@example.com"}


def test_a_failing_external_after_event_leaves_the_success_and_a_task_for_staff(daemon):
    """The change is committed before it runs: the reply says so, and staff see what failed."""
    plugged(daemon, "after", AFTER_CREATE, {"aftercreate": "echo 'broken' >&2; exit 1"})
    created = mgr(daemon, "account.edit", "email=stays@example.com", "passwd=Secret-pass1", "sok=ok")
    assert created.returncode == 0 and created.stdout.startswith("OK\nid=")
    assert accounts(daemon) == ["stays@example.com"]
    log = daemon.log.read_text()
    assert "broken" in log
    assert ("ERROR billmgr.plugin: after-event aftercreate of account.edit failed after its change was committed "
            "(task 1): Plugin 'aftercreate' failed with exit status 1") in log
    task = daemon.call("outbox", out="JSONdata")["elem"][0]
    assert (task["kind"], task["target"], task["state"], task["reason"]) == (
        "event", "aftercreate after account.edit", "Failed", "Plugin 'aftercreate' failed with exit status 1")
    [(payload,)] = daemon.stored("SELECT payload FROM outbox WHERE id = 1")
    payload = json.loads(payload)
    assert ["passwd", "***"] in payload["params"] and ["email", "stays@example.com"] in payload["params"]


def test_a_failing_external_after_event_of_a_read_is_its_error(daemon):
    """Nothing was written, so the caller hears that the reply is not what the plugin makes it."""
    daemon.new_account("read@example.com")
    plugged(daemon, "afterlist", """
        <mgrdata>
          <handler name="afterlist" type="xml"><event name="account" after="yes"/></handler>
        </mgrdata>""", {"afterlist": "exit 2"})
    failed = mgr(daemon, "account")
    assert failed.returncode == 1
    assert failed.stderr == "ERROR plugin(afterlist): Plugin 'afterlist' failed with exit status 2\n"
    assert daemon.call("outbox", out="JSONdata").get("elem", []) == []


def test_after_event_adds_a_field_to_a_core_list(daemon):
    daemon.new_account("a@example.com")
    daemon.new_account("b@example.org")
    plugged(daemon, "tld", """
        <mgrdata>
          <handler name="tld" type="xml"><event name="account" after="yes"/></handler>
        </mgrdata>""", {"tld": r"sed 's|\(<email>[^<]*\.\([a-z]*\)</email>\)|\1<tld>\2</tld>|g'"})
    rows = daemon.call("account", out="JSONdata")["elem"]
    assert [(r["email"], r["tld"]) for r in rows] == [("a@example.com", "com"), ("b@example.org", "org")]
    status = daemon.call("account", out="json")["elem"][0]["account_status"]
    assert status == {"$orig": "2", "$": "Active"}    # attributes survive the round trip


PYTHON_PLUGIN = """
    from billmgr.doc import Doc
    from billmgr.errors import MgrError

    def note_add(req):
        req.db.execute("INSERT INTO project (name) VALUES (?)", (req.params.get("name"),))
        if req.params.get("name") == "refuse":
            raise MgrError("value", "name", "refuse")
        return Doc.success(projects=req.db.execute("SELECT count(*) FROM project").fetchone()[0])

    def before_note_add(req):
        if req.params.get("name") == "early":
            raise MgrError("value", "name", "early")

    def after_note_add(req, doc):
        doc.fields.append(("seen", str(req.db.execute("SELECT count(*) FROM project").fetchone()[0])))
        req.db.execute("UPDATE project SET status = 3 WHERE name = ?", (req.params.get("name"),))
        if req.params.get("name") == "late":
            raise MgrError("value", "name", "late")
        return doc
"""


def test_python_handlers_and_events(tmp_path):
    """A python function and its after-events share the request's transaction: all or nothing."""
    (tmp_path / "noteplugin.py").write_text(textwrap.dedent(PYTHON_PLUGIN))
    d = Daemon(tmp_path, env={"PYTHONPATH": str(tmp_path)}).start()
    try:
        plugged(d, "note", """
            <mgrdata>
              <metadata name="note.add" type="form" level="admin"/>
              <handler name="noteplugin" type="python">
                <func name="note.add"/><event name="note.add"/><event name="note.add" after="yes"/>
              </handler>
            </mgrdata>""")
        assert mgr(d, "note.add", "name=first", "sok=ok").stdout == "OK\nprojects=2\nseen=2\n"
        assert mgr(d, "note.add", "name=refuse", "sok=ok").returncode == 1
        assert mgr(d, "note.add", "name=early", "sok=ok").returncode == 1
        late = mgr(d, "note.add", "name=late", "sok=ok")
        assert late.returncode == 1 and late.stderr.startswith("ERROR value(name)")
        assert d.stored("SELECT name, status FROM project ORDER BY id") == [("Default provider", 2), ("first", 3)]
    finally:
        d.stop()


def test_a_write_waiting_on_a_held_writer_fails_instead_of_hanging(tmp_path):
    """What a python handler meets if it calls back through mgrctl to write."""
    store = Store(tmp_path / "billmgr.db", writer_wait=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold():
        with store.transaction(write=True):
            holding.set()
            release.wait(10)
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        holding.wait(10)
        started = time.monotonic()
        with pytest.raises(MgrError) as refused:
            with store.transaction(write=True):
                pass
        assert refused.value.type == "busy" and time.monotonic() - started < 5
    finally:
        release.set()
        holder.join()
        store.close()


# -- faults ------------------------------------------------------------------

FAULTS = {
    "exit": ("echo 'oops' >&2; exit 3", "Plugin 'exit' failed with exit status 3"),
    "signal": ("kill -SEGV $$", "Plugin 'signal' was killed by SIGSEGV"),
    "badxml": ("echo '<doc><unclosed>'", "Plugin 'badxml' did not print a result document: invalid XML"),
    "notdoc": ("echo '<html/>'", "Plugin 'notdoc' did not print a result document: the root element is <html>"),
    "huge": ("head -c 5000000 /dev/zero | tr '\\0' x", "Plugin 'huge' printed more than 4194304 bytes"),
    "silent": ("true", "Plugin 'silent' printed nothing"),
    "typeless": ("echo '<doc><error><msg>Out of paper</msg></error></doc>'", "Out of paper"),
}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("faulty")).start()
    functions = "".join(f'<metadata name="fault.{name}" type="action" level="admin"/>'
                        f'<handler name="{name}" type="cgi"><func name="fault.{name}"/></handler>' for name in FAULTS)
    plugged(d, "faulty", f"<mgrdata>{functions}</mgrdata>", {name: script for name, (script, _) in FAULTS.items()})
    yield d
    d.stop()


@pytest.mark.parametrize("name", FAULTS)
def test_a_faulty_handler_is_a_plugin_error_naming_it(faulty, name):
    result = mgr(faulty, f"fault.{name}")
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR plugin({name}): {FAULTS[name][1]}")
    assert mgr(faulty, "whoami").returncode == 0


def test_plugin_errors_speak_russian(faulty):
    assert mgr(faulty, "fault.exit", "lang=ru").stderr == "ERROR plugin(exit): Плагин 'exit' завершился с кодом 3\n"
    assert "oops" in faulty.log.read_text()


def test_a_handler_that_cannot_start(faulty):
    script = faulty.root / "addon" / "exit"
    script.chmod(0o644)
    try:
        assert mgr(faulty, "fault.exit").stderr == \
            "ERROR plugin(exit): Plugin 'exit' cannot be started: Permission denied\n"
    finally:
        script.chmod(0o755)


def test_a_hanging_handler_times_out_and_others_are_served(daemon):
    pidfile = daemon.root / "sleeper.pid"
    plugged(daemon, "hang", """
        <mgrdata>
          <metadata name="hang" type="action" level="admin"/>
          <handler name="hang" type="cgi" timeout="2.5"><func name="hang"/></handler>
        </mgrdata>""", {"hang": f"sleep 60 & echo $! > {pidfile}; wait"})
    started = time.monotonic()
    hanging = subprocess.Popen([MGRCTL, "-m", "billmgr", "hang"], env=daemon.env, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    assert mgr(daemon, "whoami").returncode == 0
    assert daemon.new_account("meanwhile@example.com") > 0
    assert hanging.poll() is None       # the others were served while it hung
    assert hanging.communicate(timeout=30)[1] == "ERROR plugin(hang): Plugin 'hang' did not answer within 2.5 s\n"
    assert time.monotonic() - started < 10
    assert not running(int(pidfile.read_text()))    # its whole process group was killed


def test_a_background_child_does_not_hold_the_reply(daemon):
    plugged(daemon, "bg", """
        <mgrdata>
          <metadata name="bg" type="action" level="admin"/>
          <handler name="bg" type="cgi" timeout="20"><func name="bg"/></handler>
        </mgrdata>""", {"bg": "sleep 30 & echo '<doc><ok/></doc>'"})
    started = time.monotonic()
    assert mgr(daemon, "bg").stdout == "OK\n"
    assert time.monotonic() - started < 5


# -- loading and reloading ---------------------------------------------------

GOOD = """
    <mgrdata>
      <metadata name="good" type="action" level="admin"/>
      <handler name="good" type="cgi"><func name="good"/></handler>
    </mgrdata>
"""


@pytest.mark.parametrize("text, complaint", [
    ("<mgrdata>\n<metadata name='x'>\n</mgrdata>", ":3: "),
    ("<mgrdata>\n<handler name='good' type='cgi'>\n<event name='nosuch'/></handler></mgrdata>",
     ":3: handler 'good' names undeclared function 'nosuch'"),
    ("<mgrdata>\n<handler name='missing' type='cgi'><func name='good'/></handler></mgrdata>",
     ":2: handler 'missing': "),
    ("<mgrdata>\n<handler name='good' type='cgi' timeout='forever'/></mgrdata>", ":2: handler 'good': timeout"),
    ("<mgrdata>\n<handler name='good' type='cgi'>\n<func name='account'/></handler></mgrdata>",
     ":3: function account already has a handler in"),
    ("<mgrdata>\n\n<handler name='../evil' type='cgi'><func name='good'/></handler></mgrdata>",
     ":3: handler name '../evil' must be a file name"),
    ("<mgrdata>\n<handler name='/bin/sh' type='xml'><event name='account'/></handler></mgrdata>",
     ":2: handler name '/bin/sh' must be a file name"),
    ("<mgrdata>\n<handler name='..' type='cgi'><func name='good'/></handler></mgrdata>", ":2: handler name '..'"),
])
def test_a_broken_plugin_file_keeps_the_previous_registry(daemon, text, complaint):
    evil = daemon.root / "evil"
    evil.write_text(f"#!/bin/sh\ntouch {daemon.root / 'escaped'}\necho '<doc/>'\n")
    evil.chmod(0o755)
    plugged(daemon, "good", GOOD, {"good": "echo '<doc><ok/></doc>'"})
    reload = install(daemon, "bad", text)
    assert reload.returncode == 1 and f"billmgr_mod_bad.xml{complaint}" in reload.stderr
    assert mgr(daemon, "good").stdout == "OK\n" and mgr(daemon, "account").returncode == 0
    assert not (daemon.root / "escaped").exists()


def test_a_request_in_flight_finishes_on_its_registry(daemon):
    plugged(daemon, "slow", """
        <mgrdata>
          <metadata name="slow" type="action" level="admin"/>
          <handler name="slow" type="cgi"><func name="slow"/></handler>
        </mgrdata>""", {"slow": "sleep 1; echo '<doc><ok/></doc>'"})
    call = subprocess.Popen([MGRCTL, "-m", "billmgr", "slow"], env=daemon.env, stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    (daemon.plugin_xml / "billmgr_mod_slow.xml").unlink()
    assert mgr(daemon, "-R").returncode == 0
    assert call.communicate(timeout=30)[0] == "OK\n"
    assert "func(slow)" in mgr(daemon, "slow").stderr


def test_describe_shows_plugin_functions_and_events(daemon):
    plugged(daemon, "good", GOOD.replace("</mgrdata>", """
          <handler name="good" type="cgi"><event name="account.edit" after="yes"/></handler>
          <lang name="en"><messages name="good"><msg name="title">A good function</msg></messages></lang>
        </mgrdata>"""), {"good": "echo '<doc><ok/></doc>'"})
    listing = mgr(daemon, "-i").stdout.splitlines()
    assert "good\taction\tA good function" in listing and "account\tlist\tClients" in listing
    described = mgr(daemon, "-i", "account.edit").stdout
    assert f"Run after it (events):\n  good\tcgi\t{daemon.plugin_xml / 'billmgr_mod_good.xml'}" in described
