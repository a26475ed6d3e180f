"""billmgr.conf parsing."""

import pytest

from billmgr import config


def test_defaults_live_under_one_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    c = config.Config.make()
    assert c.data == str(tmp_path / "billmgr")
    assert c.db == str(tmp_path / "billmgr" / "billmgr.db")
    assert c.socket == str(tmp_path / "billmgr" / "billmgr.sock")
    assert c.xml == str(tmp_path / "billmgr" / "etc" / "xml")


def test_every_kind_of_line(tmp_path):
    source = str(tmp_path / "billmgr.conf")
    c = config.parse("""
        # comment
        path data /var/lib/billmgr   # trailing comment
        path socket run/billmgr.sock
        Option RestrictAuthinfo
        RestrictAuthinfoRange 127.0.0.1, 10.0.0.0/8
        HttpListen 127.0.0.1:1500
        HttpListen [::1]:1501
        TrustedProxy 127.0.0.1
        SmtpServer localhost:25
        MailFrom billing@example.com
        LocalAdmin deploy
        LogLevel DEBUG
    """, source)
    assert c.data == "/var/lib/billmgr" and c.db == "/var/lib/billmgr/billmgr.db"
    assert c.socket == str(tmp_path / "run" / "billmgr.sock")
    assert c.restrict_authinfo is True
    assert [str(n) for n in c.restrict_authinfo_range] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert c.http_listen == (("127.0.0.1", 1500), ("::1", 1501))
    assert c.smtp_server == ("localhost", 25) and c.mail_from == "billing@example.com"
    assert c.local_admins == ("deploy",) and c.log_level == "debug"
    settings = dict(c.settings())
    assert settings["HttpListen"] == "127.0.0.1:1500, [::1]:1501" and settings["SmtpServer"] == "localhost:25"
    assert settings["RestrictAuthinfoRange"] == "127.0.0.1/32, 10.0.0.0/8" and settings["RestrictAuthinfo"] == "on"


@pytest.mark.parametrize("text, complaint", [
    ("Bogus 1", "unknown setting 'Bogus'"),
    ("path nowhere /x", "unknown path 'nowhere'"),
    ("Option Fly", "unknown option 'Fly'"),
    ("HttpListen 1500", "expected ADDRESS:PORT"),
    ("HttpListen host:99999", "expected ADDRESS:PORT"),
    ("RestrictAuthinfoRange 300.0.0.0/8", "not a network list"),
    ("LogLevel loud", "expected one of"),
    ("MailFrom", "needs a value"),
])
def test_bad_lines_are_named(text, complaint):
    with pytest.raises(config.ConfigError) as caught:
        config.parse(f"# first\n{text}\n", "/etc/billmgr/billmgr.conf")
    assert str(caught.value).startswith("/etc/billmgr/billmgr.conf:2: ")
    assert complaint in str(caught.value)


def test_search_order(monkeypatch, tmp_path):
    explicit, from_env = tmp_path / "a.conf", tmp_path / "b.conf"
    explicit.write_text("path data /a\n")
    from_env.write_text("path data /b\n")
    monkeypatch.setenv("BILLMGR_CONF", str(from_env))
    assert config.load(str(explicit)).data == "/a"
    assert config.load().data == "/b"
    monkeypatch.setenv("BILLMGR_CONF", str(tmp_path / "missing.conf"))
    with pytest.raises(config.ConfigError, match="not found"):
        config.load()
