"""Processing modules through the real daemon: the example module examples/processing/vdsfile installed
as a provider would, its setup, the running operations it carries out, retries on the test clock,
and every callback's state move."""

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import BILLMGRD, Daemon, eventually

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "processing"


def install(d, name="vdsfile", xml=None, executable=None):
    """A module as a provider installs it: the XML in ``path xml``, the executable in ``path processing``."""
    d.plugin_xml.mkdir(parents=True, exist_ok=True)
    processing = d.root / "processing"
    processing.mkdir(exist_ok=True)
    if xml is None:
        shutil.copy(EXAMPLE / f"billmgr_mod_{name}.xml", d.plugin_xml)
    else:
        (d.plugin_xml / f"billmgr_mod_{name}.xml").write_text(xml)
    target = processing / name
    if executable is None:
        shutil.copy(EXAMPLE / name, target)
    else:
        target.write_text(executable)
    target.chmod(target.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("processing"), settings="Option TestClock\n")
    install(d)
    d.servers = d.root / "servers"
    d.servers.mkdir()
    d.start()
    yield d
    d.stop()


def clock(d, *args):
    """``billmgrd clock ARGS``: the daemon's clock moved; what it now says."""
    result = subprocess.run([BILLMGRD, "clock", *args, "--config", str(d.conf)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def module(d):
    """A processing module of the example, set up with its params; its id."""
    return d.create("processing.edit", "name=Files", "module=vdsfile", f"serverdir={d.servers}",
                    "password=Secret-api-1")


def service(d, module_id, status=5, operation="open", params=""):
    """An item of a vds tariff on ``module_id`` in ``status``, with a pending ``operation``: as an order
    (the services code) leaves them.  (item id, operation id)."""
    account, subaccount = d.new_client(f"c{len(d.stored('SELECT id FROM account'))}@example.com")
    [(vds,)] = d.stored("SELECT id FROM itemtype WHERE intname = 'vds'")
    tariff = d.create("pricelist.edit", "itemtype=vds", "name=VDS", f"processingmodule={module_id}",
                      "monthly643=100")
    [(item,)] = d.stored("INSERT INTO item (account, subaccount, pricelist, itemtype, status, createdate, "
                         "processingmodule) VALUES (?, ?, ?, ?, ?, '2026-01-01', ?) RETURNING id",
                         account, subaccount, tariff, vds, status, str(module_id))
    operation_id = None
    if operation:
        [(operation_id,)] = d.stored("INSERT INTO runningoperation (item, processingmodule, operation, params, "
                                     "createdate) VALUES (?, ?, ?, ?, '2026-01-01 00:00:00') RETURNING id",
                                     item, str(module_id), operation, params)
    return item, operation_id


def xml(d, func, *params):
    """The XML reply of a call, as PHP modules read it."""
    return d.mgrctl("-m", "billmgr", "-o", "xml", func, *params).stdout


def status(d, item):
    return d.stored("SELECT status FROM item WHERE id = ?", item)[0][0]


def pending(d, item):
    return d.stored("SELECT operation, trycount, manual FROM runningoperation WHERE item = ?", item)


def test_module_loads_and_its_setup_keeps_crypted_params_hidden(panel):
    listed = {row["name"]: row for row in panel.rows("processing")}
    elid = module(panel)
    row = next(r for r in panel.rows("processing") if r["id"] == str(elid))
    assert (row["module"], row["state"]) == ("vdsfile", "Ready") and listed.keys() <= {"Files"}
    view = panel.form("processing.edit", f"elid={elid}")
    assert view["serverdir"] == str(panel.servers) and view["password"] == "***"
    [(stored,)] = panel.stored("SELECT value FROM processingmodule_param WHERE name = 'password' AND "
                               "processingmodule = ?", elid)
    assert stored != "Secret-api-1" and "Secret" not in stored
    assert "Secret-api-1" not in panel.log.read_text()
    panel.ok("processing.edit", f"elid={elid}", "password=***", "name=Files 2", "sok=ok")   # *** keeps it
    assert panel.stored("SELECT value FROM processingmodule_param WHERE name = 'password' AND "
                        "processingmodule = ?", elid)[0][0] == stored
    panel.ok("processing.check", f"elid={elid}")
    assert oct((panel.root / "secret.key").stat().st_mode & 0o777) == "0o600"


def test_processing_edit_refuses_bad_setups(panel):
    assert panel.error("processing.edit", "name=X", "module=nosuch", "sok=ok")[0] == "value"
    assert panel.error("processing.edit", "name=X", "module=vdsfile", "sok=ok")[0] == "empty"   # serverdir
    assert panel.error("processing.edit", "module=vdsfile", f"serverdir={panel.servers}", "sok=ok")[0] == "empty"
    assert panel.error("processing.edit", "elid=99999")[0] == "missed"
    assert panel.error("pricelist.edit", "itemtype=vds", "name=X", "processingmodule=99999", "sok=ok")[0] == "missed"
    broken = panel.create("processing.edit", "name=Broken", "module=vdsfile", "serverdir=/nonexistent")
    kind, message = panel.error("processing.check", f"elid={broken}")
    assert kind == "plugin" and "/nonexistent" in message
    elid = module(panel)
    service(panel, elid, status=2, operation=None)
    assert panel.error("processing.delete", f"elid={elid}")[0] == "value"
    panel.ok("processing.delete", f"elid={broken}")
    assert not panel.stored("SELECT 1 FROM processingmodule WHERE id = ?", broken)


def test_an_operation_succeeds_through_the_callback(panel):
    item, _ = service(panel, module(panel))
    eventually(lambda: status(panel, item) == 2, what="the module did not open the service")
    assert pending(panel, item) == []
    assert json.loads((panel.servers / f"{item}.json").read_text())["state"] == "running"
    [(opened,)] = panel.stored("SELECT opendate FROM item WHERE id = ?", item)
    assert opened and len(opened) == 10
    [(value, crypted)] = panel.stored("SELECT value, crypted FROM item_param WHERE item = ? AND name = 'rootpassword'",
                                      item)
    assert crypted == 1 and value != f"root-{item}"


def test_every_command_moves_the_service(panel):
    elid = module(panel)
    item, _ = service(panel, elid)
    eventually(lambda: status(panel, item) == 2)
    for operation, after, state in (("suspend", 3, "stopped"), ("resume", 2, "running")):
        panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, createdate) "
                     "VALUES (?, ?, ?, '2026-01-01 00:00:00')", item, str(elid), operation)
        eventually(lambda: status(panel, item) == after and not pending(panel, item), what=operation)
        assert json.loads((panel.servers / f"{item}.json").read_text())["state"] == state
    panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, params, createdate) "
                 "VALUES (?, ?, 'setparam', '{\"param\": \"ram\", \"value\": \"2048\"}', '2026-01-01 00:00:00')",
                 item, str(elid))
    eventually(lambda: not pending(panel, item))
    assert json.loads((panel.servers / f"{item}.json").read_text())["params"] == {"ram": "2048"}
    assert status(panel, item) == 2
    panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, createdate) "
                 "VALUES (?, ?, 'prolong', '2026-01-01 00:00:00')", item, str(elid))   # not a feature: done
    eventually(lambda: not pending(panel, item))
    panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, createdate) "
                 "VALUES (?, ?, 'close', '2026-01-01 00:00:00')", item, str(elid))
    eventually(lambda: status(panel, item) == 4)
    assert not (panel.servers / f"{item}.json").exists()
    assert panel.stored("SELECT deletedate IS NOT NULL FROM item WHERE id = ?", item) == [(1,)]


def test_each_callback_moves_the_item_and_clears_its_operation(panel):
    item, _ = service(panel, "", status=5, operation=None)
    addon = panel.stored("INSERT INTO item (account, subaccount, pricelist, itemtype, parent, status, createdate) "
                         "SELECT account, subaccount, pricelist, itemtype, id, 5, createdate FROM item WHERE id = ? "
                         "RETURNING id", item)[0][0]
    moves = [("service.postopen", "open", 2), ("service.postsuspend", "suspend", 3),
             ("service.postresume", "resume", 2), ("service.postsetparam", "setparam", 2),
             ("service.postprolong", "prolong", 2), ("service.postclose", "close", 4)]
    for func, operation, after in moves:
        panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, manual, createdate) "
                     "VALUES (?, '', ?, 1, '2026-01-01 00:00:00')", item, operation)
        reply = xml(panel, func, f"elid={item}", "sok=ok")
        assert "<ok/>" in reply and f"<elid>{item}</elid>" in reply, reply
        assert status(panel, item) == after and status(panel, addon) == after, func
        assert pending(panel, item) == [], func
    [(opened, suspended, deleted)] = panel.stored("SELECT opendate, suspenddate, deletedate FROM item WHERE id = ?",
                                                  item)
    assert opened and suspended is None and deleted
    assert panel.error("service.postopen", "elid=999999", "sok=ok")[0] == "missed"


def test_setstatus_setexpiredate_saveparam_and_rollback(panel):
    item, _ = service(panel, "", status=2, operation=None)
    panel.ok("service.setstatus", f"elid={item}", "service_status=5")
    panel.ok("service.setexpiredate", f"elid={item}", "expiredate=2027-03-31")
    assert panel.stored("SELECT status, service_status, expiredate FROM item WHERE id = ?", item) == [
        (2, 5, "2027-03-31")]
    assert panel.error("service.setexpiredate", f"elid={item}", "expiredate=soon")[0] == "value"
    reply = xml(panel, "service.saveparam", f"elid={item}", "name=secret", "value=Hidden-1", "crypted=on")
    assert "<ok/>" in reply and "Hidden-1" not in reply
    [(value, crypted)] = panel.stored("SELECT value, crypted FROM item_param WHERE item = ?", item)
    assert crypted == 1 and "Hidden" not in value
    panel.ok("service.saveparam", f"elid={item}", "name=secret")
    assert panel.stored("SELECT count(*) FROM item_param WHERE item = ?", item) == [(0,)]
    assert panel.error("service.changepricelist.rollback", f"elid={item}")[0] == "value"
    [(old,)] = panel.stored("SELECT pricelist FROM item WHERE id = ?", item)
    new = panel.create("pricelist.edit", "itemtype=vds", "name=Bigger", "monthly643=200")
    panel.stored("UPDATE item SET pricelist = ? WHERE id = ?", new, item)
    panel.stored("INSERT INTO runningoperation (item, processingmodule, operation, params, manual, createdate) "
                 "VALUES (?, '', 'changepricelist', ?, 1, '2026-01-01 00:00:00')", item, json.dumps({"pricelist": old}))
    panel.ok("service.changepricelist.rollback", f"elid={item}")
    assert panel.stored("SELECT pricelist FROM item WHERE id = ?", item) == [(old,)] and pending(panel, item) == []


def test_a_service_without_a_usable_module_is_manual_at_once_with_a_task(panel):
    item, operation = service(panel, "")
    eventually(lambda: pending(panel, item) == [("open", 1, 1)])
    [task] = panel.rows("task", "filter=on", f"item={item}")
    assert (task["type"], task["runningoperation"], task["status"]) == ("open", str(operation), "Open")
    [(errorxml,)] = panel.stored("SELECT errorxml FROM runningoperation WHERE id = ?", operation)
    assert "no processing module" in errorxml
    panel.ok("service.postopen", f"elid={item}", "sok=ok")      # done by hand: the task closes
    assert panel.rows("task", "filter=on", f"item={item}")[0]["status"] == "Closed"


def test_a_failing_module_is_retried_with_back_off_then_manual_and_rerun(panel):
    elid = module(panel)
    (panel.servers / "FAIL").write_text("")
    try:
        item, operation = service(panel, elid)
        [(errorxml, next_try)] = eventually(lambda: panel.stored(
            "SELECT errorxml, next_try FROM runningoperation WHERE id = ? AND errorxml <> ''", operation))
        assert "hypervisor does not answer" in errorxml and status(panel, item) == 5
        assert clock(panel, "30s") < next_try          # not yet due: still one try
        assert pending(panel, item) == [("open", 1, 0)]
        for tries in range(2, 11):
            clock(panel, "7h")                            # past the longest back-off
            eventually(lambda: pending(panel, item)[0][1] == tries, what=f"try {tries}")
        eventually(lambda: pending(panel, item) == [("open", 10, 1)])
        [task] = panel.rows("task", "filter=on", f"item={item}")
        assert (task["type"], task["status"]) == ("open", "Open")
        form = panel.form("runningoperation.edit", f"elid={operation}")
        assert form["manual"] == "on" and "hypervisor" in form["errorxml"]
        clock(panel, "7h")
        assert pending(panel, item) == [("open", 10, 1)]  # manual: never retried by itself
    finally:
        (panel.servers / "FAIL").unlink()
    panel.ok("runningoperation.start", f"elid={operation}")
    eventually(lambda: status(panel, item) == 2, what="the manual re-run did not open the service")
    assert pending(panel, item) == []
    assert panel.rows("task", "filter=on", f"item={item}")[0]["status"] == "Closed"


def test_runningoperation_functions_as_modules_call_them(panel):
    item, operation = service(panel, "")
    eventually(lambda: pending(panel, item) == [("open", 1, 1)])
    panel.ok("runningoperation.edit", f"elid={operation}", "errorxml=<doc><error><msg>disk full</msg></error></doc>",
             "manual=off", "sok=ok")
    rows = panel.rows("runningoperation", "filter=on", f"item={item}")
    assert rows[0]["manual"] == "Automatic" and "disk full" in rows[0]["errorxml"]
    panel.ok("runningoperation.setmanual", f"elid={operation}")
    assert pending(panel, item)[0][2] == 1
    assert len(panel.rows("task", "filter=on", f"item={item}")) == 1       # still the one task
    assert panel.form("task.gettype", "operation=open")["task_type"] == "open"
    created = panel.create("task.edit", f"item={item}", "type=checkdisk", "params=disk=sda")
    panel.ok("task.edit", f"elid={created}", "status=2", "note=replaced", "sok=ok")
    assert panel.form("task.edit", f"elid={created}")["status"] == "2"
    panel.ok("runningoperation.delete", f"elid={operation}")
    assert pending(panel, item) == [] and status(panel, item) == 5
    assert panel.error("runningoperation.edit", f"elid={operation}")[0] == "missed"


def test_a_broken_module_is_reported_with_its_file_and_not_used(tmp_path):
    d = Daemon(tmp_path)
    install(d)
    install(d, "brokenvds", xml='<mgrdata><plugin name="brokenvds"><group>processing_module</group></plugin>'
                                '</mgrdata>', executable="#!/bin/sh\necho '<doc><error><msg>no licence</msg>"
                                                          "</error></doc>'\nexit 1\n")
    install(d, "absentvds", xml='<mgrdata><plugin name="absentvds"><group>processing_module</group></plugin>'
                                '</mgrdata>', executable="")
    (d.root / "processing" / "absentvds").unlink()
    d.start()
    try:
        log = d.log.read_text()
        assert "processing module brokenvds" in log and "billmgr_mod_brokenvds.xml" in log and "no licence" in log
        assert "processing module absentvds" in log
        assert d.error("processing.edit", "name=X", "module=brokenvds", "sok=ok")[0] == "value"
        d.stored("INSERT INTO processingmodule (name, module, createdate) VALUES ('Old', 'brokenvds', '2026-01-01'), "
                 "('Gone', 'uninstalled', '2026-01-01')")
        states = {row["name"]["$"]: row["state"] for row in d.call("processing", out="sjson")["elem"]}
        assert "no licence" in states["Old"]["$"] and states["Old"]["$orig"] == "broken"
        assert states["Gone"] == {"$": "Not installed", "$orig": "broken"}
        assert d.create("processing.edit", "name=Y", "module=vdsfile", f"serverdir={tmp_path}")
        (d.root / "processing" / "brokenvds").write_text(f"#!/bin/sh\nexec {EXAMPLE / 'vdsfile'} \"$@\"\n")
        subprocess.run([BILLMGRD, "reload", "--config", str(d.conf)], check=True, capture_output=True, timeout=60)
        assert d.create("processing.edit", "name=Z", "module=brokenvds", f"serverdir={tmp_path}")
    finally:
        d.stop()


def test_the_clock_command(panel, tmp_path):
    before = clock(panel, "0s")
    after = clock(panel, "1d")
    assert after > before
    assert clock(panel, "2h30m") > after
    far = clock(panel, "2099-01-01")
    assert far.startswith("2099-01-01")
    result = subprocess.run([BILLMGRD, "clock", "2000-01-01", "--config", str(panel.conf)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "back" in result.stderr
    plain = Daemon(tmp_path).start()
    try:
        result = subprocess.run([BILLMGRD, "clock", "1d", "--config", str(plain.conf)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode != 0 and "TestClock" in result.stderr
    finally:
        plain.stop()
