"""Clients: account, account.edit and account.delete per the seeds."""

import pytest

ALL_FIELDS = {
    "email": "full@example.com", "verify_email": "on", "project": "1", "country": "643",
    "state": "77", "realname": "Ivan Petrov", "name": "Petrov LLC",
    "settingurl": "https://panel.example.com/settings", "valid_phone": "+7 495 123-45-67",
    "try_phone": "+7 916 000-00-00", "label": "vip", "selfview": "ns1.example.com",
    "products_page": "2", "registration_date": "2026-01-02 03:04:05",
    "registration_ip": "192.0.2.7", "attitude": "3", "nocalcstat": "on", "note": "multi\nline",
}


def form(daemon, elid):
    doc = daemon.call("account.edit", f"elid={elid}")
    return {k: v["$"] for k, v in doc.items() if isinstance(v, dict) and "$" in v}


def test_create_with_every_documented_parameter(daemon):
    new_id = daemon.new_account(ALL_FIELDS["email"],
                                *(f"{k}={v}" for k, v in ALL_FIELDS.items() if k != "email"),
                                "passwd=s3cret-pass", "confirm=s3cret-pass", "notify=on", "recovery=on")
    shown = form(daemon, new_id)
    assert shown["elid"] == str(new_id)
    for name, value in ALL_FIELDS.items():
        assert shown[name] == value, name
    user = daemon.stored("SELECT name, level, passwd FROM user WHERE account = ?", new_id)[0]
    outbox = daemon.stored("SELECT kind, payload FROM outbox")
    assert user[0] == "full@example.com" and user[1] == "user"
    assert user[2].startswith("scrypt$") and "s3cret" not in user[2]
    assert outbox[0][0] == "mail" and "func=recovery.change" in outbox[0][1]


def test_view_offers_choices(daemon):
    new_id = daemon.new_account("choices@example.com")
    doc = daemon.call("account.edit", f"elid={new_id}", out="sjson")
    slists = {s["$name"]: s["val"] for s in doc["slist"]}
    assert {"$key": "1", "$": "Default provider"} in slists["project"]
    assert {"$key": "643", "$": "Russian Federation"} in slists["country"]
    ru = daemon.call("account.edit", f"elid={new_id}", "lang=ru", out="sjson")
    assert {"$key": "643", "$": "Российская Федерация"} in {s["$name"]: s["val"] for s in ru["slist"]}["country"]


def test_form_without_elid_or_sok_changes_nothing(daemon):
    doc = daemon.call("account.edit", "email=nobody@example.com")
    assert "email" in doc and "ok" not in doc
    assert "nobody@example.com" not in daemon.mgrctl("-m", "billmgr", "account").stdout


def test_modify_changes_only_what_is_given(daemon):
    new_id = daemon.new_account("modify@example.com", "name=Before", "label=keep")
    result = daemon.mgrctl("-m", "billmgr", "account.edit", f"elid={new_id}", "name=After",
                           "email=renamed@example.com", "nocalcstat=on", "sok=ok")
    assert result.returncode == 0 and result.stdout == "OK\n"
    shown = form(daemon, new_id)
    assert (shown["name"], shown["email"], shown["label"], shown["nocalcstat"]) == \
        ("After", "renamed@example.com", "keep", "on")
    assert daemon.stored("SELECT name FROM user WHERE account = ?", new_id) == [("renamed@example.com",)]


@pytest.mark.parametrize("param, value, error", [
    ("email", "not-an-email", "value(email)"),
    ("country", "999", "value(country)"),
    ("project", "42", "missed(project)"),
    ("employee", "7", "missed(employee)"),
    ("registration_ip", "300.1.1.1", "value(registration_ip)"),
    ("registration_date", "yesterday", "value(registration_date)"),
    ("settingurl", "ftp:/x", "value(settingurl)"),
    ("verify_email", "maybe", "value(verify_email)"),
    ("products_page", "-1", "value(products_page)"),
    ("name", "x" * 300, "value(name)"),
])
def test_bad_values_are_refused_and_nothing_is_written(shared_daemon, param, value, error):
    before = shared_daemon.mgrctl("-m", "billmgr", "account").stdout
    email = [] if param == "email" else ["email=bad@example.com"]
    result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", *email, f"{param}={value}", "sok=ok")
    assert result.returncode == 1
    assert result.stderr.startswith(f"ERROR {error}"), result.stderr
    assert shared_daemon.mgrctl("-m", "billmgr", "account").stdout == before


def test_password_confirmation_must_match(shared_daemon):
    result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", "email=confirm@example.com",
                                  "passwd=one-password", "confirm=another", "sok=ok")
    assert result.returncode == 1 and "do not match" in result.stderr


def test_email_is_unique_ignoring_case(daemon):
    daemon.new_account("Unique@Example.com")
    result = daemon.mgrctl("-m", "billmgr", "account.edit", "email=unique@example.COM", "sok=ok")
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR exists(email)") and "already exists" in result.stderr
    other = daemon.new_account("other@example.com")
    clash = daemon.mgrctl("-m", "billmgr", "account.edit", f"elid={other}", "email=unique@example.com", "sok=ok")
    assert clash.returncode == 1 and "exists(email)" in clash.stderr


def test_a_failed_request_leaves_no_trace(daemon):
    # a staff login that will clash with the new client's
    daemon.stored("INSERT INTO user (name, level) VALUES ('clash@example.com', 'admin')")
    result = daemon.mgrctl("-m", "billmgr", "account.edit", "email=clash@example.com", "sok=ok")
    assert result.returncode == 1 and "exists(email)" in result.stderr
    assert daemon.stored("SELECT count(*) FROM account") == [(0,)]


def test_missing_account(shared_daemon):
    for args in (["elid=99999"], ["elid=99999", "name=x", "sok=ok"]):
        result = shared_daemon.mgrctl("-m", "billmgr", "account.edit", *args)
        assert result.returncode == 1 and result.stderr.startswith("ERROR missed(account)")


def test_delete_one_many_and_absent(daemon):
    ids = [daemon.new_account(f"del{i}@example.com") for i in range(5)]
    assert daemon.mgrctl("-m", "billmgr", "account.delete", f"elid={ids[0]}").returncode == 0
    assert daemon.mgrctl("-m", "billmgr", "account.delete", f"elid={ids[1]}, {ids[2]}").returncode == 0
    assert daemon.mgrctl("-m", "billmgr", "account.delete", f"elid={ids[3]},99999", "sok=ok").returncode == 0
    remaining = daemon.call("account", out="JSONdata")["elem"]
    assert [int(r["id"]) for r in remaining] == [ids[4]]
    assert daemon.stored("SELECT count(*) FROM user") == [(1,)]
    bad = daemon.mgrctl("-m", "billmgr", "account.delete", "elid=abc")
    assert bad.returncode == 1 and "value(elid)" in bad.stderr


def test_paging_sorting_and_filtering(daemon):
    for i, name in enumerate(["delta", "Alpha", "charlie", "bravo", "echo"]):
        daemon.new_account(f"{name.lower()}@example.org" if i % 2 else f"{name.lower()}@example.com",
                           f"name={name}")
    page = daemon.call("account", "p_cnt=2", "p_num=2", "p_sort=name", out="JSONdata")
    assert [r["name"] for r in page["elem"]] == ["charlie", "delta"]
    assert (page["p_elems"], page["p_num"], page["p_cnt"]) == ("5", "2", "2")
    desc = daemon.call("account", "p_sort=id", "p_order=desc", out="JSONdata")
    assert [r["name"] for r in desc["elem"]][0] == "echo"
    by_email = daemon.call("account", "filter=on", "email=example.org", out="JSONdata")
    assert sorted(r["name"] for r in by_email["elem"]) == ["Alpha", "bravo"]
    by_name = daemon.call("account", "filter=on", "name=HARL", out="JSONdata")
    assert [r["name"] for r in by_name["elem"]] == ["charlie"]
    wildcard = daemon.call("account", "filter=on", "name=%", out="JSONdata")
    assert wildcard["elem"] == []
    active = daemon.call("account", "filter=on", "status=2", out="JSONdata")
    assert active["p_elems"] == "5"
    ignored = daemon.call("account", "name=HARL", out="JSONdata")   # no filter=on
    assert ignored["p_elems"] == "5"


@pytest.mark.parametrize("params, error", [
    (["p_sort=balance"], "value(p_sort)"),
    (["p_sort=id; DROP TABLE account"], "value(p_sort)"),
    (["p_sort=id", "p_order=sideways"], "value(p_order)"),
    (["p_num=0"], "value(p_num)"),
    (["p_cnt=x"], "value(p_cnt)"),
    (["filter=on", "status=9"], "value(status)"),
])
def test_bad_list_parameters(shared_daemon, params, error):
    result = shared_daemon.mgrctl("-m", "billmgr", "account", *params)
    assert result.returncode == 1 and result.stderr.startswith(f"ERROR {error}"), result.stderr


def test_properties_column(daemon):
    daemon.new_account("props@example.com", "verify_email=on", "nocalcstat=on")
    row = daemon.call("account", out="JSONdata")["elem"][0]
    assert row["status"] == "Email verified, Excluded from statistics"


def test_paramlist_and_whoami(shared_daemon):
    params = dict(next(iter(row.items())) for row in shared_daemon.call("paramlist", out="JSONdata")["elem"])
    assert params["path_db"] == str(shared_daemon.db) and params["path_socket"] == str(shared_daemon.socket)
    assert params["RestrictAuthinfo"] == "off"
    me = shared_daemon.call("whoami", out="JSONdata")
    assert me["level"] == "admin"
