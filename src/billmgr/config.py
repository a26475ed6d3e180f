"""billmgr.conf parsing into an immutable Config value.

The file holds one setting per line: ``Name value``, ``Option Name`` for a
flag, ``path name value`` for a path; ``#`` starts a comment.  Relative paths
are taken from the file's directory.  Standard library only: mgrctl reads the
configuration on every call to find the socket.
"""

import os
from collections import namedtuple

SYSTEM_CONFIG = "/etc/billmgr/billmgr.conf"

PATHS = ("data", "db", "socket", "log", "pid", "xml", "addon", "processing", "paymethods", "cgi", "certificate",
         "key")
OPTIONS = {"RestrictAuthinfo": "restrict_authinfo", "TestClock": "test_clock",
           "RequireConditionsAgree": "require_conditions_agree", "DeleteManualSuspend": "delete_manual_suspend"}
LOG_LEVELS = ("debug", "info", "warning", "error")

# paths that default to a place inside the data directory
_INSIDE_DATA = {"db": "billmgr.db", "socket": "billmgr.sock", "log": "billmgr.log",
                "pid": "billmgrd.pid", "xml": "etc/xml", "addon": "addon",
                "processing": "processing", "paymethods": "paymethods", "cgi": "cgi"}

_FIELDS = ("source",) + PATHS + (
    "http_listen", "restrict_authinfo", "restrict_authinfo_range", "trusted_proxy",
    "smtp_server", "mail_from", "local_admins", "log_level", "test_clock", "require_conditions_agree",
    "sms_gateway", "public_url", "http_timeout", "writer_wait", "outbox_retention",
    "prolong_before_days", "nightly_time", "delete_manual_suspend",
    "db_host", "db_port", "db_name", "db_user", "db_password")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and line."""


def default_data_dir():
    """Where an unconfigured install keeps everything: no root, no set-up."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "billmgr")


class Config(namedtuple("Config", _FIELDS)):
    """The immutable settings of one billmgr; paths are absolute strings.

    A namedtuple rather than a dataclass: mgrctl builds one on every call and
    must not pay for importing dataclasses and inspect.
    """

    __slots__ = ()

    @classmethod
    def make(cls, source=None, **values):
        data = values.pop("data", None) or default_data_dir()
        for name, relative in _INSIDE_DATA.items():
            values.setdefault(name, os.path.join(data, relative))
        settings = dict(http_listen=(), restrict_authinfo=False, restrict_authinfo_range=(),
                        trusted_proxy=(), smtp_server=None, mail_from=None, local_admins=(),
                        log_level="info", test_clock=False, require_conditions_agree=False,
                        sms_gateway=None, public_url="https://localhost:1500/billmgr", http_timeout=30,
                        writer_wait=10, outbox_retention=30, prolong_before_days=3, nightly_time=(3, 0),
                        delete_manual_suspend=False, db_host=None, db_port=None, db_name=None,
                        db_user=None, db_password=None)
        settings.update(values)
        settings.setdefault("certificate", None)
        settings.setdefault("key", None)
        if bool(settings["certificate"]) != bool(settings["key"]):
            raise ConfigError(f"{source or '<config>'}: HTTPS needs both 'path certificate' and 'path key'")
        return cls(source=source, data=data, **settings)

    @property
    def postgresql(self):
        """Whether the DB* settings name a PostgreSQL database (else the SQLite file ``path db``)."""
        return bool(self.db_name or self.db_host)

    def settings(self):
        """(name, value) of every setting in force, named as billmgr.conf writes it.

        ``path NAME`` is named ``path_NAME`` (paramlist makes each name an XML
        element, which cannot hold a space); an ``Option`` is ``on`` or
        ``off``; a repeated setting's values are joined by ``", "``; a
        setting with no value is "".
        """
        for name in PATHS:
            yield f"path_{name}", getattr(self, name) or ""
        for name, (attr, convert, repeatable) in SETTINGS.items():
            value = getattr(self, attr)
            values = value if repeatable or convert is _network_list else () if value is None else (value,)
            shown = _SHOWN.get(convert, str)
            yield name, ", ".join(shown(v) for v in values)
        for name, attr in OPTIONS.items():
            yield name, "on" if getattr(self, attr) else "off"


def _address(host_port):
    host, port = host_port
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _network_list(text):
    import ipaddress

    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"not a network list: {exc}") from None


def _listen_address(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected ADDRESS:PORT, got {text!r}")
    return (host.strip("[]") or "0.0.0.0", int(port))


def _seconds(text):
    if not text.isdigit() or not 0 < int(text) <= 3600:
        raise ValueError("expected whole seconds, 1 to 3600")
    return int(text)


def _port(text):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError("expected a TCP port, 1 to 65535")
    return int(text)


def _days(text):
    if not text.isdigit() or not 0 < int(text) <= 3650:
        raise ValueError("expected whole days, 1 to 3650")
    return int(text)


def _days_ahead(text):
    if not text.isdigit() or not int(text) <= 60:
        raise ValueError("expected whole days, 0 to 60")
    return int(text)


def _time_of_day(text):
    """(hour, minute), or None for ``off``."""
    if text == "off":
        return None
    hour, _, minute = text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2):
        raise ValueError("expected a time of day, HH:MM")
    return int(hour), int(minute)


_SHOWN = {_listen_address: _address,
          _time_of_day: lambda hour_minute: "{:02}:{:02}".format(*hour_minute) if hour_minute else "off"}


def _plain_name(text):
    if "/" in text or text.startswith("."):
        raise ValueError("expected the name of an executable in the addon directory")
    return text


def _url(text):
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text.rstrip("?")


def _log_level(text):
    if text.lower() not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return text.lower()


# setting name -> (Config field, parser, repeatable)
SETTINGS = {
    "HttpListen": ("http_listen", _listen_address, True),
    "RestrictAuthinfoRange": ("restrict_authinfo_range", _network_list, False),
    "TrustedProxy": ("trusted_proxy", _network_list, False),
    "SmtpServer": ("smtp_server", _listen_address, False),
    "MailFrom": ("mail_from", str, False),
    "LocalAdmin": ("local_admins", str, True),
    "LogLevel": ("log_level", _log_level, False),
    "SmsGateway": ("sms_gateway", _plain_name, False),
    "HttpTimeout": ("http_timeout", _seconds, False),
    "WriterWait": ("writer_wait", _seconds, False),
    "PublicUrl": ("public_url", _url, False),
    "OutboxRetention": ("outbox_retention", _days, False),
    "ProlongBeforeDays": ("prolong_before_days", _days_ahead, False),
    "NightlyTime": ("nightly_time", _time_of_day, False),
    # BILLmanager's names for its database; DBHost may be a directory of a Unix socket
    "DBHost": ("db_host", str, False),
    "DBPort": ("db_port", _port, False),
    "DBName": ("db_name", str, False),
    "DBUser": ("db_user", str, False),
    "DBPassword": ("db_password", str, False),
}


def parse(text, source=None):
    """A Config from the text of a billmgr.conf file."""
    base = os.path.dirname(source) if source else os.getcwd()
    values = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source or '<config>'}:{lineno}"
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        if name == "path":
            key, _, value = rest.partition(" ")
            if key not in PATHS or not value.strip():
                raise ConfigError(f"{where}: unknown path {key!r} (known: {', '.join(PATHS)})")
            values[key] = os.path.normpath(os.path.join(base, os.path.expanduser(value.strip())))
        elif name == "Option":
            if rest not in OPTIONS:
                raise ConfigError(f"{where}: unknown option {rest!r}")
            values[OPTIONS[rest]] = True
        elif name in SETTINGS:
            attr, convert, repeatable = SETTINGS[name]
            if not rest:
                raise ConfigError(f"{where}: {name} needs a value")
            try:
                value = convert(rest)
            except ValueError as exc:
                raise ConfigError(f"{where}: bad value for {name}: {exc}") from None
            if repeatable:
                values[attr] = values.get(attr, ()) + (value,)
            else:
                values[attr] = value
        else:
            raise ConfigError(f"{where}: unknown setting {name!r}")
    return Config.make(source, **values)


def find(explicit=None):
    """The configuration file to use: --config, $BILLMGR_CONF, the system one, or none."""
    for candidate in (explicit, os.environ.get("BILLMGR_CONF")):
        if candidate:
            if not os.path.isfile(candidate):
                raise ConfigError(f"{candidate}: configuration file not found")
            return os.path.abspath(candidate)
    return SYSTEM_CONFIG if os.path.isfile(SYSTEM_CONFIG) else None


def load(explicit=None):
    path = find(explicit)
    if path is None:
        return Config.make()
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse(text, path)


