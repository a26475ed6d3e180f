"""The request pipeline in-process, for callers the local socket cannot produce yet."""

import json

import pytest

from billmgr import errors
from billmgr.auth import Caller
from billmgr.clock import Clock
from billmgr.config import Config
from billmgr.dispatch import Dispatcher
from billmgr.registry import Registry
from billmgr.store import Store

ADMIN = Caller("root", "admin", superuser=True)
CLIENT = Caller("client@example.com", "user", account=1)


@pytest.fixture
def dispatcher(tmp_path, monkeypatch):
    (tmp_path / "faulty_plugin.py").write_text(
        "from billmgr.errors import MgrError\n"
        "def crash(req):\n    raise ZeroDivisionError('boom')\n"
        "def refuse(req):\n    raise MgrError('plugin', 'pmexample', '', detail='exit status 3')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "billmgr_mod_faulty.xml").write_text("""<mgrdata>
      <metadata name="crash" type="action" level="admin"/>
      <metadata name="refuse" type="action" level="admin"/>
      <handler name="faulty_plugin" type="python"><func name="crash"/><func name="refuse"/></handler>
    </mgrdata>""")
    store = Store(tmp_path / "billmgr.db")
    yield Dispatcher(Registry.load(tmp_path), store, Config.make(data=str(tmp_path)), Clock())
    store.close()


def call(dispatcher, caller, *pairs, lang="en"):
    identify = (lambda: caller) if isinstance(caller, Caller) else caller
    reply = dispatcher.handle([*pairs, ("out", "bjson"), ("lang", lang)], identify)
    return reply, json.loads(reply.body)


def test_a_client_may_not_call_an_admin_function(dispatcher):
    reply, doc = call(dispatcher, CLIENT, ("func", "account"))
    assert reply.error == "access" and doc["error"]["object"] == "account"
    _, ru = call(dispatcher, CLIENT, ("func", "account"), lang="ru")
    assert ru["error"]["msg"] == "Недостаточно прав для вызова 'account'"
    reply, doc = call(dispatcher, CLIENT, ("func", "whoami"))
    assert reply.error is None and doc["model"]["account"] == "1"


def test_an_unidentified_caller_gets_auth(dispatcher):
    def refuse():
        raise errors.auth()
    reply, doc = call(dispatcher, refuse, ("func", "whoami"))
    assert reply.error == "auth" and "Authorization failed" in doc["error"]["msg"]


def test_an_unexpected_fault_is_internal_and_logged(dispatcher, caplog):
    reply, doc = call(dispatcher, ADMIN, ("func", "crash"))
    assert reply.error == "internal" and "boom" not in reply.body
    assert "ZeroDivisionError" in caplog.text


def test_plugin_errors_name_the_plugin(dispatcher):
    reply, doc = call(dispatcher, ADMIN, ("func", "refuse"))
    assert reply.error == "plugin"
    assert doc["error"]["msg"] == "Plugin 'pmexample' failed: exit status 3"
    _, ru = call(dispatcher, ADMIN, ("func", "refuse"), lang="ru")
    assert ru["error"]["msg"].startswith("Ошибка в плагине 'pmexample'")


def test_every_error_type_has_a_message_in_every_language():
    registry = Registry.load()
    for lang in ("en", "ru"):
        for kind in errors.TYPES:
            assert registry.message(lang, "common", f"msg_error_{kind}", ""), (lang, kind)


def test_a_reload_swaps_configuration_and_registry_in_one_snapshot(dispatcher):
    old = dispatcher.snapshot
    dispatcher.snapshot = old.next(old.config._replace(log_level="debug"), Registry.load())
    assert dispatcher.snapshot.version == old.version + 1
    assert call(dispatcher, ADMIN, ("func", "crash"))[0].error == "func"
    # a request that took the old snapshot at its start keeps it to its end
    reply = dispatcher.handle([("func", "crash"), ("out", "bjson")], lambda: ADMIN, old)
    assert reply.error == "internal"
    dispatcher.snapshot = old
    assert call(dispatcher, ADMIN, ("func", "crash"))[0].error == "internal"
