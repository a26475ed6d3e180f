"""Numbers and lengths a caller cannot get past: every id, page figure and
int field is ASCII digits within a 64-bit column, every text field has a
maximum length, and breaking either is a ``value`` error naming the
parameter -- never ``internal``, never a traceback in the log."""

import pytest
from conftest import Daemon

from billmgr.errors import MgrError
from billmgr.params import Params
from billmgr.registry import Registry, RegistryError

SUPERSCRIPT_TWO = "\u00b2"          # str.isdigit() says yes, int() says no
ARABIC_THREE = "\u0663"              # int() reads it as 3
TOO_BIG = str(2**63)                 # one past what a 64-bit column holds
HUGE = "9" * 5000                    # past Python's int() digit limit

REGISTRY = Registry.load()


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("limits")).start()
    d.client = d.new_account("limits@example.com", "passwd=Limits-pass1")
    d.group = d.mgrctl("-m", "billmgr", "accountgroup.edit", "name=L", "sok=ok").stdout.split("id=")[1].strip()
    yield d
    d.stop()


def refused(d, func, *params):
    """The error line of a call that must fail, after checking it logged no traceback."""
    seen = d.log.stat().st_size
    result = d.mgrctl("-m", "billmgr", func, *params)
    assert result.returncode == 1, result.stdout
    with open(d.log) as log:
        log.seek(seen)
        assert "Traceback" not in log.read()
    return result.stderr


NEW = ["email=new@example.com", "sok=ok"]


@pytest.mark.parametrize("func, params, error", [
    ("account", [f"p_num={SUPERSCRIPT_TWO}", "p_cnt=10"], "value(p_num)"),
    ("account", [f"p_cnt={HUGE}"], "value(p_cnt)"),
    ("account", [f"p_cnt={ARABIC_THREE}"], "value(p_cnt)"),
    ("account", [f"p_cnt={TOO_BIG}"], "value(p_cnt)"),
    ("account", ["p_cnt=-5"], "value(p_cnt)"),
    *[("account.edit", [*NEW, f"{field}={SUPERSCRIPT_TWO}"], f"value({field})")
      for field in ("project", "country", "state", "attitude", "employee", "products_page")],
    ("account.edit", [*NEW, f"attitude={TOO_BIG}"], "value(attitude)"),
    ("account.edit", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("account.edit", [f"elid={HUGE}", "name=x", "sok=ok"], "value(elid)"),
    ("account.delete", [f"elid=1, {SUPERSCRIPT_TWO}"], "value(elid)"),
    ("account.su", [f"elid={ARABIC_THREE}"], "value(elid)"),
    ("account.history", [f"elid={TOO_BIG}"], "value(elid)"),
    ("account.join", [f"elid={SUPERSCRIPT_TWO}", "account=1"], "value(elid)"),
    ("account.join", ["elid=1", f"account={SUPERSCRIPT_TWO}"], "value(account)"),
    ("user", [f"plid={SUPERSCRIPT_TWO}"], "value(plid)"),
    ("user.edit", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("user.delete", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("ticket.edit", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("ticket.write.account", [f"elid={SUPERSCRIPT_TWO}", "subject=s", "message=m"], "value(elid)"),
    ("project.edit", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("project.delete", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("account.project", [f"plid={SUPERSCRIPT_TWO}"], "value(plid)"),
    ("accountgroup.edit", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("accountgroup.delete", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
    ("accountgroup.condition", [f"plid={SUPERSCRIPT_TWO}"], "value(plid)"),
    ("account.group", [f"plid={SUPERSCRIPT_TWO}"], "value(plid)"),
    ("account.group.edit", ["plid=1", f"accountgroup={SUPERSCRIPT_TWO}", "sok=ok"], "value(accountgroup)"),
    ("register", ["email=r@example.com", "passwd=Good-pass1", f"state={SUPERSCRIPT_TWO}", "sok=ok"],
     "value(state)"),
    ("register", ["email=r@example.com", "passwd=Good-pass1", f"country={SUPERSCRIPT_TWO}", "sok=ok"],
     "value(country)"),
    ("register", ["email=r@example.com", "passwd=Good-pass1", f"offer_{SUPERSCRIPT_TWO}=on", "sok=ok"],
     "missed(offer)"),
])
def test_numbers_that_are_not_whole_ascii_numbers_are_refused(d, func, params, error):
    assert refused(d, func, *params).startswith(f"ERROR {error}")


@pytest.mark.parametrize("func, params, error", [
    ("accountgroup.condition.edit", ["elid={SUPERSCRIPT_TWO}", "field=email", "value=x", "sok=ok"], "value(elid)"),
    ("account.group.resume", [f"elid=1, {SUPERSCRIPT_TWO}"], "value(elid)"),
    ("account.project.resume", [f"elid={SUPERSCRIPT_TWO}"], "value(elid)"),
])
def test_ids_inside_an_existing_parent(d, func, params, error):
    parent = d.group if func.startswith("accountgroup") else d.client
    params = [p.format(SUPERSCRIPT_TWO=SUPERSCRIPT_TWO) for p in params]
    assert refused(d, func, f"plid={parent}", *params).startswith(f"ERROR {error}")


def test_good_numbers_still_work(d):
    assert d.call("account", "p_cnt=0001", "p_num=1", out="JSONdata")["p_cnt"] == "1"
    page = d.mgrctl("-m", "billmgr", "account.delete", "elid=999999, 9223372036854775807")
    assert page.returncode == 0, page.stderr


def test_a_client_login_cannot_smuggle_an_id_either(d):
    result = d.mgrctl("-m", "billmgr", "user.delete", f"elid={SUPERSCRIPT_TWO}",
                      "authinfo=limits@example.com:Limits-pass1")
    assert result.returncode == 1 and result.stderr.startswith("ERROR value(elid)")


# -- lengths -----------------------------------------------------------------

LONG = "A" * 60_000


@pytest.mark.parametrize("func", ["account", "user", "project", "ticket", "accountgroup"])
def test_a_filter_value_past_its_length_is_refused(d, func):
    field = next(f for f in REGISTRY.get(func).filters if f.type == "text")
    error = refused(d, func, "filter=on", f"{field.name}={LONG}")
    assert error.startswith(f"ERROR value({field.name})") and "too long" in error
    at_limit = d.call(func, "filter=on", f"{field.name}={'A' * field.maxlength}", out="JSONdata")
    assert at_limit["p_elems"] == "0"


def test_a_form_field_past_its_length_is_refused_and_nothing_written(d):
    before = d.call("account", out="JSONdata")["p_elems"]
    assert "too long" in refused(d, "account.edit", *NEW, f"note={'n' * 65_537}")
    assert "too long" in refused(d, "account.edit", *NEW, f"state={'1' * 1025}")
    assert d.call("account", out="JSONdata")["p_elems"] == before


@pytest.mark.parametrize("func", sorted(n for n, s in REGISTRY.callable().items() if s.kind == "list" and s.filters))
def test_every_declared_filter_is_applied(d, func):
    """A filter the metadata declares has SQL behind it: filtering by it answers, and narrows."""
    as_client = ["su=limits@example.com"] if REGISTRY.get(func).levels == {"user"} else []   # a client's own list
    for field in REGISTRY.get(func).filters:
        value = field.choices[0] if field.choices else "987654321" if field.check == "int" else \
            "#no such text"[:field.maxlength]
        reply = d.call(func, "filter=on", f"{field.name}={value}", *as_client, out="JSONdata")
        assert "error" not in reply, (field.name, reply)
        if not field.choices:
            assert reply["p_elems"] == "0"


def test_every_field_has_a_maximum_length():
    fields = [f for spec in REGISTRY.functions.values() for f in spec.fields + spec.filters]
    assert all(f.maxlength >= 1 for f in fields)
    account_filter = {f.name: f.maxlength for f in REGISTRY.get("account").filters}
    assert account_filter["name"] == 1024
    note = next(f for f in REGISTRY.get("account.edit").fields if f.name == "note")
    assert note.maxlength == 65_536   # declared


def test_default_maximum_length_by_type(tmp_path, monkeypatch):
    (tmp_path / "lengths_plugin.py").write_text("def x_edit(req):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    controls = {"text": "<input type='text' name='text'/>", "password": "<input type='password' name='password'/>",
                "hidden": "<input type='hidden' name='hidden'/>", "select": "<select name='select'/>",
                "textarea": "<textarea name='textarea'/>", "own": "<input name='own' maxlength='7'/>"}
    (tmp_path / "billmgr_mod_x.xml").write_text(
        "<mgrdata><metadata name='x.edit'><form>"
        + "".join(f"<field name='{name}'>{control}</field>" for name, control in controls.items())
        + "</form></metadata><handler name='lengths_plugin' type='python'><func name='x.edit'/></handler></mgrdata>")
    fields = {f.name: f.maxlength for f in Registry.load(tmp_path).get("x.edit").fields}
    assert fields == {"text": 1024, "password": 1024, "hidden": 1024, "select": 1024, "textarea": 65_536, "own": 7}


@pytest.mark.parametrize("value", ["0", "-1", "ten", SUPERSCRIPT_TWO])
def test_a_maxlength_that_is_no_positive_number_is_refused(tmp_path, value):
    (tmp_path / "billmgr_mod_x.xml").write_text(
        f"<mgrdata><metadata name='x'><form><field name='a'><input name='a' maxlength='{value}'/></field>"
        "</form></metadata></mgrdata>")
    with pytest.raises(RegistryError, match="maxlength must be a whole number"):
        Registry.load(tmp_path)


@pytest.mark.parametrize("given", ["1,x", f"1, {SUPERSCRIPT_TWO}", f"{TOO_BIG}", "-1"])
def test_group_ids_are_whole_numbers(given):
    with pytest.raises(MgrError) as refused:
        Params([("elid", given)]).ids()
    assert (refused.value.type, refused.value.object) == ("value", "elid")
