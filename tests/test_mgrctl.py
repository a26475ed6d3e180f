"""mgrctl against a real daemon: the calls scripts make, every format, exit codes."""

import json
import os
import subprocess
import sys

from conftest import MGRCTL
from lxml import etree


def test_create_then_list_as_text(shared_daemon):
    created = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "email=alice@example.com",
                                   "name=Alice", "sok=ok")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert lines[0] == "OK" and lines[1].startswith("id=")
    new_id = lines[1].split("=")[1]
    listed = shared_daemon.mgrctl("-m", "billmgr", "account")
    line = next(row for row in listed.stdout.splitlines() if "email=alice@example.com" in row)
    assert line.startswith(f"id={new_id} name=Alice email=alice@example.com project=Default provider")
    assert "account_status=Active" in line


def test_formats_show_the_same_data(shared_daemon):
    shared_daemon.new_account("formats@example.com", "name=Formats")
    xml = etree.fromstring(shared_daemon.mgrctl("-m", "billmgr", "-o", "xml", "account").stdout.encode())
    assert xml.tag == "doc" and xml.get("func") == "account" and xml.get("lang") == "en"
    xml_row = next(e for e in xml.iter("elem") if e.findtext("email") == "formats@example.com")
    assert xml_row.find("account_status").get("orig") == "2"
    as_json = shared_daemon.call("account", out="json")
    rows = as_json["elem"] if isinstance(as_json["elem"], list) else [as_json["elem"]]
    json_row = next(r for r in rows if r["email"]["$"] == "formats@example.com")
    assert json_row["id"]["$"] == xml_row.findtext("id")
    assert json_row["account_status"] == {"$orig": "2", "$": "Active"}
    assert as_json["p_elems"]["$"] == xml.findtext("p_elems")
    sjson = shared_daemon.call("account", out="sjson")
    assert isinstance(sjson["elem"], list)
    data = shared_daemon.call("account", out="JSONdata")
    data_row = next(r for r in data["elem"] if r["email"] == "formats@example.com")
    assert data_row["name"] == "Formats" and data_row["id"] == xml_row.findtext("id")
    bjson = shared_daemon.call("account", out="bjson")
    assert bjson["func"] == "account" and "doc" not in bjson
    assert any(r["email"] == "formats@example.com" for r in bjson["elem"])


def test_single_row_json_is_object_but_sjson_array(daemon):
    daemon.new_account("one@example.com")
    assert isinstance(daemon.call("account", out="json")["elem"], dict)
    assert isinstance(daemon.call("account", out="sjson")["elem"], list)


def test_out_parameter_works_like_dash_o(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "whoami", "out=json")
    assert json.loads(result.stdout)["doc"]["level"]["$"] == "admin"


def test_devel_carries_metadata_and_messages(shared_daemon):
    doc = etree.fromstring(shared_daemon.mgrctl("-m", "billmgr", "-o", "devel", "account").stdout.encode())
    assert doc.find("metadata").get("name") == "account"
    assert doc.find("messages/msg[@name='email']").text == "Email"


def test_print_is_an_html_table(shared_daemon):
    html = shared_daemon.mgrctl("-m", "billmgr", "-o", "print", "account", "lang=ru").stdout
    assert html.startswith("<!DOCTYPE html>") and "<th>Наименование</th>" in html


def test_empty_email_is_an_error_with_exit_1(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "sok=ok")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR empty(email): ")


def test_unknown_function(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "no.such")
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR func(no.such)")


def test_error_documents_in_every_format(shared_daemon):
    xml = shared_daemon.mgrctl("-m", "billmgr", "-o", "xml", "account.edit", "sok=ok")
    assert xml.returncode == 1
    error = etree.fromstring(xml.stdout.encode()).find("error")
    assert error.get("type") == "empty" and error.get("object") == "email"
    assert error.find("param[@name='object']").text == "email"
    assert "Email" in error.findtext("msg")
    as_json = json.loads(shared_daemon.mgrctl("-m", "billmgr", "-o", "json", "account.edit", "sok=ok").stdout)
    assert as_json["doc"]["error"]["$type"] == "empty" and as_json["doc"]["error"]["$object"] == "email"
    bjson = json.loads(shared_daemon.mgrctl("-m", "billmgr", "-o", "bjson", "account.edit", "sok=ok").stdout)
    assert bjson["error"]["type"] == "empty"
    data = json.loads(shared_daemon.mgrctl("-m", "billmgr", "-o", "JSONdata", "account.edit", "sok=ok").stdout)
    assert data["error"]["object"] == "email"


def test_russian_messages(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "sok=ok", "lang=ru")
    assert "обязательно" in result.stderr
    unknown = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "sok=ok", "lang=xx")
    assert "is required" in unknown.stderr


def test_repeated_parameters_are_kept_in_order(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "-o", "xml", "account.edit",
                                  "email=repeat@example.com", "sok=ok", "addon_26=10", "addon_26=20")
    tparams = etree.fromstring(result.stdout.encode()).find("tparams")
    assert [e.text for e in tparams.iter("addon_26")] == ["10", "20"]


def test_secrets_are_not_echoed(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "-o", "xml", "account.edit",
                                  "email=secret@example.com", "passwd=hunter22", "sok=ok")
    assert "hunter22" not in result.stdout
    assert "hunter22" not in shared_daemon.log.read_text()


def test_parameter_from_environment(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "sok=ok", "-e", "email=$NEW_EMAIL",
                                  env={"NEW_EMAIL": "fromenv@example.com"})
    assert result.returncode == 0, result.stderr
    assert "fromenv@example.com" in shared_daemon.mgrctl("-m", "billmgr", "account").stdout
    missing = shared_daemon.mgrctl("-m", "billmgr", "whoami", "-e", "x=$NOT_SET_ANYWHERE")
    assert missing.returncode == 2 and "NOT_SET_ANYWHERE" in missing.stderr


def test_info_lists_and_describes_functions(shared_daemon):
    listing = shared_daemon.mgrctl("-m", "billmgr", "-i")
    assert listing.returncode == 0
    names = {line.split("\t")[0] for line in listing.stdout.splitlines()}
    assert {"account", "account.edit", "account.delete", "paramlist", "whoami"} <= names
    described = shared_daemon.mgrctl("-m", "billmgr", "-i", "account.edit", "lang=ru")
    email = next(row for row in described.stdout.splitlines() if row.strip().startswith("email"))
    assert "обязательный" in email and "Email" in email
    unknown = shared_daemon.mgrctl("-m", "billmgr", "-i", "no.such")
    assert unknown.returncode == 1


def test_usage_errors_exit_2(shared_daemon):
    for args in (["-m", "ispmgr", "whoami"], ["-m", "billmgr"], ["-m", "billmgr", "-x"],
                 ["-m", "billmgr", "whoami", "stray"], ["-o"]):
        result = shared_daemon.mgrctl(*args)
        assert result.returncode == 2, args
        assert result.stderr.startswith("mgrctl: ")
    assert shared_daemon.mgrctl("--help").stdout.startswith("usage: mgrctl")


def test_suspend_and_resume(daemon):
    assert daemon.mgrctl("-m", "billmgr", "-l").returncode == 0
    refused = daemon.mgrctl("-m", "billmgr", "whoami")
    assert refused.returncode == 1 and "suspended" in refused.stderr
    assert daemon.mgrctl("-m", "billmgr", "-u").returncode == 0
    assert daemon.mgrctl("-m", "billmgr", "whoami").returncode == 0


def test_reload_alone_and_before_a_call(shared_daemon):
    alone = shared_daemon.mgrctl("-m", "billmgr", "-R")
    assert alone.returncode == 0 and "reloaded" in alone.stdout
    with_call = shared_daemon.mgrctl("-m", "billmgr", "-R", "whoami")
    assert with_call.returncode == 0 and with_call.stdout.startswith("name=")


def test_unreachable_daemon_says_where_it_looked(tmp_path):
    conf = tmp_path / "billmgr.conf"
    conf.write_text(f"path data {tmp_path}\n")
    result = subprocess.run([MGRCTL, "-m", "billmgr", "whoami"], capture_output=True, text=True,
                            env=dict(os.environ, BILLMGR_CONF=str(conf)))
    assert result.returncode == 3
    assert str(tmp_path / "billmgr.sock") in result.stderr and "billmgrd start" in result.stderr


def test_bad_configuration_is_reported(tmp_path):
    conf = tmp_path / "billmgr.conf"
    conf.write_text("Bogus 1\n")
    result = subprocess.run([MGRCTL, "-m", "billmgr", "whoami"], capture_output=True, text=True,
                            env=dict(os.environ, BILLMGR_CONF=str(conf)))
    assert result.returncode == 2 and f"{conf}:1" in result.stderr


def test_mgrctl_imports_nothing_heavy(shared_daemon):
    probe = ("import sys; sys.argv = ['mgrctl', '-m', 'billmgr', 'whoami']\n"
             "from billmgr.client import mgrctl\n"
             "code = mgrctl.main()\n"
             "heavy = {'lxml', 'sqlite3', 'sqlite_utils', 'psutil', 'click', 'dataclasses', 'pathlib'}\n"
             "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}), code)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=shared_daemon.env)
    assert result.stdout.splitlines()[-1] == "[] 0", result.stderr


def test_su_acts_as_a_client(daemon):
    account_id = daemon.new_account("client@example.com")
    me = daemon.call("whoami", "su=client@example.com", out="JSONdata")
    assert me == {"name": "client@example.com", "level": "user", "account": str(account_id)}
    refused = daemon.mgrctl("-m", "billmgr", "account", "su=client@example.com")
    assert refused.returncode == 1 and refused.stderr.startswith("ERROR access(account)")
    unknown = daemon.mgrctl("-m", "billmgr", "whoami", "su=nobody@example.com")
    assert unknown.returncode == 1 and unknown.stderr.startswith("ERROR missed(user)")
