"""Staff as BILLmanager has them: employees in departments that grant functions,
logins limited to networks, and ``user`` as the list of clients' logins --
through mgrctl and HTTP, the way real callers use them."""

import json

import pytest
from lxml import etree
from test_http import Web

PASSWORD = "Staff-pass1"
CLIENT_PASSWORD = "Cl1ent-secret"


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def created(result):
    return int(ok(result).stdout.split("id=")[1].split()[0])


def mgr(d, *args):
    return d.mgrctl("-m", "billmgr", *args)


def new_employee(d, name, *params):
    return created(mgr(d, "employee.edit", f"name={name}", f"passwd={PASSWORD}", f"confirm={PASSWORD}",
                       *params, "sok=ok"))


def refused(result, error):
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """An HTTP panel (trusting 127.0.0.1 as a proxy) with a full admin, a sales
    department granting account and account.edit, its one member and two clients."""
    d = Web(tmp_path_factory.mktemp("office"), settings="TrustedProxy 127.0.0.1\n").start()
    d.admin = new_employee(d, "admin", "realname=Chief Admin", "email=chief@example.com")
    d.sales = created(mgr(d, "department.edit", "name=Sales", "name_ru=Продажи", "functions=account, account.edit",
                          "sok=ok"))
    d.seller = new_employee(d, "seller", f"department={d.sales}", "realname=Sam Seller", "position=Sales",
                            "phone=+7 900 000-00-00", "email=sam@example.com")
    d.alice = d.new_account("alice@example.com", f"passwd={CLIENT_PASSWORD}", "name=Alice")
    d.bob = d.new_account("bob@example.com", f"passwd={CLIENT_PASSWORD}", "name=Bob")
    d.alice_login = int(d.call("user", f"plid={d.alice}", out="JSONdata")["elem"][0]["id"])
    yield d
    d.stop()


def as_seller(*params):
    return (*params, f"authinfo=seller:{PASSWORD}")


# -- departments decide what an employee may call ------------------------------------------------------------


def test_an_employee_calls_only_what_its_departments_grant_through_mgrctl(office):
    clients = office.call("account", *as_seller(), out="JSONdata")["elem"]
    assert {c["email"] for c in clients} >= {"alice@example.com", "bob@example.com"}
    made = created(mgr(office, "account.edit", "email=by-seller@example.com", "sok=ok", *as_seller()))
    assert office.call("account.edit", f"elid={made}", out="JSONdata")["email"] == "by-seller@example.com"
    for func in ("paramlist", "employee.edit", "department.edit", "user", "whoami"):
        refused(mgr(office, func, *as_seller()), f"access({func})")
    refused(mgr(office, "whoami", "su=admin", *as_seller()), "access(su)")   # no way round the departments


def test_an_employee_calls_only_what_its_departments_grant_over_http(office):
    doc = office.json(func="auth", username="seller", password=PASSWORD)
    sid = doc["auth"]["$id"]
    assert doc["auth"]["$level"] == "admin"
    assert office.json(func="account", auth=sid)["p_elems"]["$"] != "0"
    for func in ("paramlist", "employee", "employee.edit"):
        error = office.json(func=func, auth=sid)["error"]
        assert (error["$type"], error["$object"]) == ("access", func)
    ru = office.json(func="paramlist", auth=sid, lang="ru")["error"]["msg"]["$"]
    assert ru == "Недостаточно прав для вызова 'paramlist'"
    assert office.json(func="paramlist", authinfo=f"admin:{PASSWORD}")["elem"]   # full access


def test_a_grant_takes_effect_on_the_next_call_and_leaves_with_the_department(office):
    extra = created(mgr(office, "department.edit", "name=Audit", f"employee={office.seller}",
                        "functions=paramlist,account.history", "sok=ok"))
    assert office.call("paramlist", *as_seller(), out="JSONdata")["elem"]
    form = office.call("department.edit", f"elid={extra}", out="JSONdata")
    assert (form["employee"], form["functions"]) == (str(office.seller), "account.history, paramlist")
    assert sorted(office.call("employee.edit", f"elid={office.seller}", out="JSONdata")["department"]
                  .split(", ")) == sorted([str(office.sales), str(extra)])
    ok(mgr(office, "department.delete", f"elid={extra}", "sok=ok"))
    refused(mgr(office, "paramlist", *as_seller()), "access(paramlist)")
    assert office.call("employee.edit", f"elid={office.seller}", out="JSONdata")["department"] == str(office.sales)


def test_departments_grant_staff_functions_of_the_registry_plugins_included(office):
    refused(mgr(office, "department.edit", "name=Bad", "functions=account, no.such.func", "sok=ok"),
            "value(functions)")
    refused(mgr(office, "department.edit", "name=Bad", "functions=register", "sok=ok"), "value(functions)")
    assert "Bad" not in {row["name"] for row in office.call("department", out="JSONdata")["elem"]}
    addon = office.root / "addon"
    addon.mkdir(exist_ok=True)
    script = addon / "hello"
    script.write_text("#!/bin/sh\necho '<doc><greeting>hello</greeting></doc>'\n")
    script.chmod(0o755)
    office.plugin_xml.mkdir(parents=True, exist_ok=True)
    (office.plugin_xml / "billmgr_mod_hello.xml").write_text(
        '<mgrdata><metadata name="hello" type="form" level="admin"/>'
        '<handler name="hello" type="cgi"><func name="hello"/></handler></mgrdata>')
    ok(mgr(office, "-R"))
    choices = office.call("department.edit", out="json")["slist"]
    offered = {v["$key"] for s in choices if s["$name"] == "functions" for v in s["val"]}
    assert {"hello", "account", "employee.edit"} <= offered and "register" not in offered
    plugin = created(mgr(office, "department.edit", "name=Greeters", f"employee={office.seller}", "functions=hello",
                         "sok=ok"))
    assert office.call("hello", *as_seller(), out="JSONdata")["greeting"] == "hello"
    ok(mgr(office, "department.delete", f"elid={plugin}", "sok=ok"))
    refused(mgr(office, "hello", *as_seller()), "access(hello)")


def test_department_list_and_names_in_both_languages(office):
    rows = office.call("department", out="JSONdata")["elem"]
    sales = next(r for r in rows if r["id"] == str(office.sales))
    assert (sales["name"], sales["employees"], sales["functions"]) == ("Sales", "1", "2")
    ru = office.call("department", "lang=ru", out="JSONdata")["elem"]
    assert next(r for r in ru if r["id"] == str(office.sales))["name"] == "Продажи"
    refused(mgr(office, "department.edit", "name=sales", "sok=ok"), "exists(name)")
    refused(mgr(office, "department.edit", "name=Ghosts", "employee=99999", "sok=ok"), "missed(employee)")
    refused(mgr(office, "department.edit", "name=Clients", f"employee={office.alice_login}", "sok=ok"),
            "missed(employee)")


# -- employees ----------------------------------------------------------------------------------------------


def test_employee_list_filters_sorts_and_pages(office):
    rows = office.call("employee", out="JSONdata")["elem"]
    admin = next(r for r in rows if r["name"] == "admin")
    seller = next(r for r in rows if r["name"] == "seller")
    assert (admin["realname"], admin["email"], admin["status"]) == ("Chief Admin", "chief@example.com",
                                                                    "full access")
    assert (seller["department"], seller.get("status", "")) == ("Sales", "")
    assert "alice@example.com" not in {r["name"] for r in rows}   # clients' logins are not staff
    only = office.call("employee", "filter=on", f"department={office.sales}", out="JSONdata")["elem"]
    assert [r["name"] for r in only] == ["seller"]
    assert [r["name"] for r in office.call("employee", "filter=on", "name=sell*", out="JSONdata")["elem"]] \
        == ["seller"]
    assert office.call("employee", "filter=on", "name=sell", out="JSONdata").get("elem", []) == []
    assert [r["name"] for r in office.call("employee", "filter=on", "email=CHIEF@example.com",
                                           out="JSONdata")["elem"]] == ["admin"]
    ordered = [r["name"] for r in office.call("employee", "p_sort=name", "p_order=desc", out="JSONdata")["elem"]]
    assert ordered == sorted(ordered, reverse=True)
    page = office.call("employee", "p_sort=id", "p_cnt=1", "p_num=2", out="JSONdata")
    assert len(page["elem"]) == 1 and page["elem"][0]["name"] == "seller" and int(page["p_elems"]) >= 2
    ru = office.call("employee", "lang=ru", out="JSONdata")["elem"]
    assert next(r for r in ru if r["name"] == "seller")["department"] == "Продажи"


def test_employee_form_shows_every_documented_field(office):
    form = office.call("employee.edit", f"elid={office.seller}", out="JSONdata")
    assert {k: form[k] for k in ("name", "realname", "position", "email", "phone", "department",
                                 "default_access_allow", "all_ip_access", "ip_access")} == {
        "name": "seller", "realname": "Sam Seller", "position": "Sales", "email": "sam@example.com",
        "phone": "+7 900 000-00-00", "department": str(office.sales), "default_access_allow": "off",
        "all_ip_access": "on", "ip_access": ""}
    assert "passwd" not in form
    blank = etree.fromstring(ok(mgr(office, "-o", "xml", "employee.edit")).stdout.encode())
    assert blank.find(f"slist[@name='department']/val[@key='{office.sales}']").text == "Sales"
    refused(mgr(office, "employee.edit", f"elid={office.alice_login}"), "missed(employee)")


def test_bootstrap_script_sets_the_first_admins_password(office):
    """Panel set-up scripts call employee.edit elid=1 passwd confirm sok=ok."""
    assert office.admin == 1
    ok(mgr(office, "employee.edit", "elid=1", "passwd=Brand-new-2", "confirm=Brand-new-2", "sok=ok"))
    assert office.call("whoami", "authinfo=admin:Brand-new-2", out="JSONdata")["name"] == "admin"
    refused(mgr(office, "whoami", f"authinfo=admin:{PASSWORD}"), "auth(login)")
    ok(mgr(office, "employee.edit", "elid=1", f"passwd={PASSWORD}", f"confirm={PASSWORD}", "sok=ok"))


def test_suspended_employees_cannot_log_in_and_their_sessions_stop(office):
    temp = new_employee(office, "temp")
    sid = office.json(func="auth", username="temp", password=PASSWORD)["auth"]["$id"]
    ok(mgr(office, "employee.suspend", f"elid={temp}"))
    assert office.call("employee", "filter=on", "name=temp", out="JSONdata")["elem"][0]["status"] == \
        "suspended, full access"
    assert office.json(func="whoami", auth=sid)["error"]["$object"] == "session"
    refused(mgr(office, "whoami", f"authinfo=temp:{PASSWORD}"), "auth(login)")
    ok(mgr(office, "employee.resume", f"elid={temp}"))
    assert office.call("whoami", f"authinfo=temp:{PASSWORD}", out="JSONdata")["name"] == "temp"
    refused(mgr(office, "employee.suspend", f"elid={temp}", f"authinfo=temp:{PASSWORD}"), "value(elid)")
    refused(mgr(office, "employee.delete", f"elid={temp}", f"authinfo=temp:{PASSWORD}"), "value(elid)")
    refused(mgr(office, "employee.edit", f"elid={temp}", "default_access_allow=off", "sok=ok",
                f"authinfo=temp:{PASSWORD}"), "value(default_access_allow)")


def test_deleting_an_employee_ends_its_sessions_and_frees_its_clients(office):
    gone = new_employee(office, "gone")
    sid = office.json(func="auth", username="gone", password=PASSWORD)["auth"]["$id"]
    client = office.new_account("looked-after@example.com", f"employee={gone}")
    ok(mgr(office, "employee.delete", f"elid={gone}, {office.alice_login}", "sok=ok"))   # a client login is no employee
    assert office.json(func="whoami", auth=sid)["error"]["$type"] == "auth"
    assert office.call("account.edit", f"elid={client}", out="JSONdata")["employee"] == ""
    assert "alice@example.com" in {u["name"] for u in office.call("user", out="JSONdata")["elem"]}
    refused(mgr(office, "account.edit", f"elid={client}", f"employee={office.alice_login}", "sok=ok"),
            "missed(employee)")
    ok(mgr(office, "account.edit", f"elid={client}", f"employee={office.seller}", "sok=ok"))


def test_employee_edit_checks_what_it_stores(office):
    refused(mgr(office, "employee.edit", "name=x1", "passwd=Staff-pass1", "confirm=Staff-pass1",
                "department=404", "sok=ok"), "missed(department)")
    refused(mgr(office, "employee.edit", "name=x1", "passwd=Staff-pass1", "confirm=Staff-pass1",
                "ip_access=10.0.0.0/33", "sok=ok"), "value(ip_access)")
    refused(mgr(office, "employee.edit", "name=x1", "passwd=Staff-pass1", "confirm=Staff-pass1",
                "all_ip_access=off", "sok=ok"), "empty(ip_access)")
    refused(mgr(office, "employee.edit", "name=x1", "passwd=Staff-pass1", "confirm=Staff-pass1",
                "phone=call me", "sok=ok"), "value(phone)")
    ru = mgr(office, "employee.edit", "name=x1", "passwd=Staff-pass1", "confirm=Staff-pass1",
             "all_ip_access=off", "sok=ok", "lang=ru")
    assert "Разрешённые адреса" in ru.stderr
    assert "x1" not in {r["name"] for r in office.call("employee", out="JSONdata")["elem"]}


# -- where an employee may log in from -----------------------------------------------------------------------


def test_ip_access_refuses_logins_from_other_networks(office):
    far = new_employee(office, "far", "ip_access=10.0.0.0/8\n192.0.2.7")
    form = office.call("employee.edit", f"elid={far}", out="JSONdata")
    assert (form["all_ip_access"], form["ip_access"]) == ("off", "10.0.0.0/8, 192.0.2.7/32")
    error = office.json(func="auth", username="far", password=PASSWORD)["error"]      # from 127.0.0.1
    assert (error["$type"], error["$object"]) == ("auth", "ip_access")
    assert "127.0.0.1" in error["msg"]["$"]
    assert office.json(func="whoami", authinfo=f"far:{PASSWORD}")["error"]["$object"] == "ip_access"
    refused(mgr(office, "whoami", f"authinfo=far:{PASSWORD}"), "auth(ip_access)")   # mgrctl is local
    ru = office.json(func="whoami", authinfo=f"far:{PASSWORD}", lang="ru")["error"]["msg"]["$"]
    assert ru == "Вход под этим логином с адреса 127.0.0.1 запрещён"
    _, body = office.request(f"/billmgr?func=auth&username=far&password={PASSWORD}&out=json",
                             headers={"X-Forwarded-For": "10.20.30.40"})
    sid = json.loads(body)["doc"]["auth"]["$id"]
    _, body = office.request(f"/billmgr?func=whoami&auth={sid}&out=JSONdata", headers={"X-Forwarded-For": "10.9.9.9"})
    assert json.loads(body)["name"] == "far"
    assert office.json(func="whoami", auth=sid)["error"]["$object"] == "ip_access"   # the session, elsewhere
    ok(mgr(office, "employee.edit", f"elid={far}", "all_ip_access=on", "sok=ok"))
    assert office.json(func="whoami", auth=sid)["name"]["$"] == "far"
    assert office.call("whoami", f"authinfo=far:{PASSWORD}", out="JSONdata")["name"] == "far"


def test_ip_access_does_not_touch_client_logins(office):
    assert office.json(func="whoami", authinfo=f"alice@example.com:{CLIENT_PASSWORD}")["name"]["$"] == \
        "alice@example.com"


# -- user: the clients' logins -----------------------------------------------------------------------------------


def test_user_filtered_by_email_finds_the_one_client_login_with_its_account(office):
    found = office.call("user", "filter=on", "email=bob@example.com", out="JSONdata")["elem"]
    assert [(u["name"], u["account_id"], u["account"]) for u in found] == [("bob@example.com", str(office.bob),
                                                                            "Bob")]
    _, body = office.get(func="user", filter="on", email="BOB@example.com", authinfo=f"admin:{PASSWORD}", out="xml")
    assert "<account_id>%d</account_id>" % office.bob in body and body.count("<elem>") == 1
    assert office.call("user", "filter=on", "email=example.com", out="JSONdata").get("elem", []) == []
    assert len(office.call("user", "filter=on", "email=*@example.com", out="JSONdata")["elem"]) >= 2
    by_account = office.call("user", "filter=on", f"account_id={office.alice}", out="JSONdata")["elem"]
    assert {u["account_id"] for u in by_account} == {str(office.alice)}
    names = {u["name"] for u in office.call("user", out="JSONdata")["elem"]}
    assert not names & {"admin", "seller"}


def test_a_client_sees_only_its_own_logins(office):
    mine = json.loads(office.get(func="user", authinfo=f"alice@example.com:{CLIENT_PASSWORD}",
                                 out="JSONdata")[1])["elem"]
    assert {(u["name"], u["account_id"]) for u in mine} == {("alice@example.com", str(office.alice))}
    filtered = office.call("user", "filter=on", "email=bob@example.com",
                           f"authinfo=alice@example.com:{CLIENT_PASSWORD}", out="JSONdata")
    assert filtered.get("elem", []) == []


def test_staff_manage_a_clients_logins_by_naming_the_client(office):
    refused(mgr(office, "user.edit", "name=orphan", "passwd=Orphan-pass1", "sok=ok"), "empty(plid)")
    helper = created(mgr(office, "user.edit", f"plid={office.bob}", "name=bob-helper", "passwd=Helper-pass1",
                         "sok=ok"))
    form = office.call("user.edit", f"elid={helper}", out="JSONdata")
    assert (form["name"], form["plid"]) == ("bob-helper", str(office.bob))
    assert office.call("whoami", "authinfo=bob-helper:Helper-pass1", out="JSONdata")["account"] == str(office.bob)
    refused(mgr(office, "user.edit", f"elid={office.seller}"), "missed(user)")       # an employee is no client login
    ok(mgr(office, "user.delete", f"elid={office.seller}"))
    assert office.call("employee.edit", f"elid={office.seller}", out="JSONdata")["name"] == "seller"
    ok(mgr(office, "user.delete", f"elid={helper}"))
    assert office.stored("SELECT count(*) FROM user WHERE name = 'bob-helper'") == [(0,)]


def test_keys_su_and_history_work_for_employees_as_for_clients(office):
    key = office.call("session.newkey", "username=seller", out="JSONdata")["key"]
    sid = office.json(func="auth", username="seller", key=key)["auth"]["$id"]
    assert office.json(func="paramlist", auth=sid)["error"]["$type"] == "access"   # its departments still apply
    client = created(mgr(office, "account.edit", "email=keyed@example.com", "sok=ok", f"auth={sid}"))
    entries = office.call("account.history", f"elid={client}", out="JSONdata")["elem"]
    assert entries[0]["user"] == "seller"
    as_seller_by_su = office.mgrctl("-m", "billmgr", "paramlist", "su=seller")
    assert as_seller_by_su.stderr.startswith("ERROR access(paramlist)")
    assert office.call("whoami", "su=alice@example.com", f"authinfo=admin:{PASSWORD}", out="JSONdata")["account"] \
        == str(office.alice)
