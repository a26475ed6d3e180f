"""Loading XML metadata: core declarations, plugins, and faults named by file and line."""

import pytest

from billmgr.registry import Registry, RegistryError


def plugin(tmp_path, name, text):
    (tmp_path / f"billmgr_mod_{name}.xml").write_text(text)


def test_core_functions_are_declared_and_bound():
    registry = Registry.load()
    account = registry.get("account")
    assert account.kind == "list" and account.levels == {"admin"}
    assert account.column("name").sort == "alpha"
    edit = registry.get("account.edit")
    email = next(f for f in edit.fields if f.name == "email")
    assert email.required and email.check == "email"
    assert edit.handler.type == "python" and edit.handler.call.__name__ == "account_edit"
    assert registry.message("ru", "account.edit", "email") == "Email"
    assert registry.message("ru", "account", "msg_error_empty").startswith("Поле")


def test_messages_fall_back_to_english_then_to_the_key():
    registry = Registry.load()
    assert registry.message("en", "account", "no_such_key") == "no_such_key"
    assert registry.message("ru", "account", "no_such_key", "") == ""


def test_plugin_function_is_merged(tmp_path, monkeypatch):
    (tmp_path / "hello_plugin.py").write_text("def hello(req):\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin(tmp_path, "hello", """<mgrdata>
      <metadata name="hello" type="form" level="admin user">
        <form><field name="who"><input type="text" name="who" required="yes"/></field></form>
      </metadata>
      <handler name="hello_plugin" type="python"><func name="hello"/></handler>
      <lang name="en"><messages name="hello"><msg name="who">Who</msg></messages></lang>
      <lang name="ru"><messages name="hello"><msg name="who">Кто</msg></messages></lang>
    </mgrdata>""")
    registry = Registry.load(tmp_path)
    hello = registry.get("hello")
    assert hello.levels == {"admin", "user"} and hello.fields[0].required
    assert registry.message("ru", "hello", "who") == "Кто"
    assert "hello\tform" in registry.describe("en")
    assert "account" in registry.functions


@pytest.mark.parametrize("text, complaint", [
    ("<mgrdata><metadata name='account' type='list'/></mgrdata>", "already declared"),
    ("<mgrdata><metadata name='x' type='wizard'/></mgrdata>", "unknown type 'wizard'"),
    ("<mgrdata><metadata name='x' level='root'/></mgrdata>", "level must be among"),
    ("<mgrdata><metadata name='x'><form><field name='a'><input type='radio' name='a'/></field></form>"
     "</metadata></mgrdata>", "unknown field type 'radio'"),
    ("<mgrdata><metadata name='x'><form><field name='a'><input name='a' check='luhn'/></field></form>"
     "</metadata></mgrdata>", "unknown check 'luhn'"),
    ("<mgrdata><metadata name='x'/></mgrdata>", "functions without a handler: x"),
    ("<mgrdata><handler name='billmgr.functions.system' type='python'><func name='nope'/></handler></mgrdata>",
     "has no function 'nope'"),
    ("<mgrdata><metadata name='x'/><handler name='no.such.module' type='python'><func name='x'/></handler>"
     "</mgrdata>", "cannot be imported"),
    ("<mgrdata><metadata name='x'/><handler name='a' type='perl'><func name='x'/></handler></mgrdata>",
     "unknown type 'perl'"),
    ("<other/>", "root element must be <mgrdata>"),
    ("<mgrdata>\n<metadata>", ":2: "),
])
def test_faults_name_file_and_line(tmp_path, text, complaint):
    plugin(tmp_path, "bad", text)
    with pytest.raises(RegistryError) as caught:
        Registry.load(tmp_path)
    assert complaint in str(caught.value)
    if "handler" not in complaint and "without" not in complaint:
        assert "billmgr_mod_bad.xml" in str(caught.value)


def test_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    plugin(tmp_path, "xxe", f"""<?xml version="1.0"?>
      <!DOCTYPE mgrdata [<!ENTITY leak SYSTEM "file://{secret}">]>
      <mgrdata><lang name="en"><messages name="x"><msg name="m">&leak;</msg></messages></lang></mgrdata>""")
    registry = Registry.load(tmp_path)
    assert "TOPSECRET" not in str(registry.messages)


def test_plugin_may_override_only_when_it_says_so(tmp_path):
    plugin(tmp_path, "over", """<mgrdata>
      <metadata name="whoami" type="form" level="admin user" override="yes"/>
      <handler name="billmgr.functions.system" type="python"><func name="whoami"/></handler>
    </mgrdata>""")
    registry = Registry.load(tmp_path)
    assert str(tmp_path) in registry.get("whoami").source
