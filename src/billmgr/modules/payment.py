"""Payment modules: ``billmgr_mod_pm<name>.xml`` plus the executable ``pm<name>``.

A module is declared in the plugin XML directory with
``<plugin name="pm<name>"><group>payment_method</group></plugin>`` (its
``paymethod.edit.<name>`` form is loaded by the registry like any part) and
lives as ``pm<name>`` in ``path paymethods``.  At start and at each reload
billmgr asks every module ``--command config`` once and keeps its answer --
the features it declares and its params (``payment_script``...) -- in the
snapshot, so no request runs it again.  A module whose config fails is kept
with its file and the reason: it is logged, listed by ``paymethod.module``,
and never offered.

The other commands (``pmtune``, ``pmvalidate``, ``crvalidate``, ``crset``)
are run only when the module declares them: a result document on stdin,
one on stdout, with the limits of plugin handlers.  An error document is
the module's own answer and reaches the caller as it is; any other failure
is a ``plugin`` error naming the module.
"""

import logging
import os
import re
from pathlib import Path

from lxml import etree

from .. import protocol, render
from ..errors import MgrError
from ..plugins import environment, process

log = logging.getLogger("billmgr.paymodule")

GROUP = "payment_method"
NAME = re.compile(r"pm[A-Za-z0-9_-]{1,62}")
TIMEOUT = 30.0                 # seconds a command may take
MAX_OUTPUT = 1024 * 1024       # bytes a command may print
ON = ("on", "yes", "true", "1")


class CommandError(Exception):
    """A command could not be run or answered badly: ``str()`` says why in plain words (for the log and
    paymethod.module); message key, value and detail make the ``plugin`` error a caller sees."""

    def __init__(self, reason, message, value="", detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.message, self.value, self.detail = message, value, detail


class PaymentModule:
    """One module as its config answered: its features, its params, or why it cannot be used."""

    __slots__ = ("name", "source", "executable", "features", "params", "problem")

    def __init__(self, name, source, executable, features=frozenset(), params=(), problem=""):
        self.name = name                # pm<name>
        self.source = source            # its billmgr_mod_*.xml
        self.executable = executable
        self.features = frozenset(features)
        self.params = tuple(params)     # (name, value) from config's <param>
        self.problem = problem          # "" when the module works

    def param(self, name, default=""):
        return dict(self.params).get(name, default)

    def has(self, feature):
        return feature in self.features


class PaymentModules:
    """The modules of one snapshot; ``get`` finds only working ones."""

    def __init__(self, modules=()):
        self.all = tuple(modules)
        self._working = {m.name: m for m in self.all if not m.problem}

    def get(self, name):
        return self._working.get(name)

    def names(self):
        return sorted(self._working)


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def declared(xml_dir):
    """(module name, file) of every payment module declared in ``xml_dir``."""
    for path in sorted(Path(xml_dir).glob("billmgr_mod_*.xml")) if xml_dir else ():
        try:
            root = etree.parse(str(path), _parser()).getroot()
        except (etree.XMLSyntaxError, OSError):
            continue        # the registry refuses such a file with its reason
        for plugin in root.iterfind("plugin"):
            if (plugin.findtext("group") or "").strip() == GROUP:
                yield plugin.get("name") or "", str(path)


def load(config):
    """Every declared module, configured; problems are logged, not raised: one bad module hides only itself."""
    modules = []
    for name, source in declared(config.xml):
        module = configure(config, name, source)
        if module.problem:
            log.error("payment module %s (%s) is not offered: %s", name, source, module.problem)
        modules.append(module)
    return PaymentModules(modules)


def configure(config, name, source):
    """The module ``name`` with what ``--command config`` said, or with its problem."""
    executable = os.path.join(config.paymethods, name) if NAME.fullmatch(name) else ""
    if not executable:
        return PaymentModule(name, source, "", problem=f"module name {name!r} must be pm followed by letters, "
                                                        "digits, '_' or '-'")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        return PaymentModule(name, source, executable, problem=f"{executable} is not an executable file")
    module = PaymentModule(name, source, executable)
    try:
        root = run(config, module, "config")
    except CommandError as exc:
        return PaymentModule(name, source, executable, problem=str(exc))
    except MgrError as exc:
        return PaymentModule(name, source, executable, problem=f"config answered an error: {exc}")
    feature, param = root.find("feature"), root.find("param")
    features = [f.tag for f in (feature if feature is not None else ()) if isinstance(f.tag, str)
                and (f.text or "").strip().lower() in ON]
    params = [(p.tag, (p.text or "").strip()) for p in (param if param is not None else ()) if isinstance(p.tag, str)]
    return PaymentModule(name, source, executable, features, params)


def run(config, module, command, stdin=b"", args=()):
    """The document ``module`` prints for ``command`` (an lxml element rooted at ``doc``).

    Raises the module's own error document as its MgrError, and CommandError
    when the run itself fails.
    """
    try:
        status, out, err = process.run([module.executable, "--command", command, *args], environment.base(config),
                                       os.path.dirname(module.executable), stdin, TIMEOUT, MAX_OUTPUT)
    except OSError as exc:
        raise CommandError("cannot be started", "msg_error_plugin_start", detail=exc.strerror or str(exc)) from None
    except process.Timeout:
        raise CommandError(f"no answer within {TIMEOUT:g} s", "msg_error_plugin_timeout", f"{TIMEOUT:g}") from None
    except process.TooLarge:
        raise CommandError(f"printed more than {MAX_OUTPUT} bytes", "msg_error_plugin_size", str(MAX_OUTPUT)) from None
    if err.strip():
        log.info("payment module %s --command %s said on stderr: %r", module.name, command,
                 err.decode(errors="replace").strip()[-1000:])
    root = _document(out)
    error = root.find("error") if root is not None else None
    if error is not None:
        msg = (error.findtext("msg") or "").strip()
        params = {p.get("name"): "".join(p.itertext()) for p in error.iterfind("param")}
        raise MgrError(error.get("type") or "plugin", error.get("object") or params.get("object") or module.name,
                       params.get("value", ""), text=msg or f"{module.name} --command {command} refused")
    if status != 0:
        raise CommandError(f"--command {command} failed with exit status {status}", "msg_error_plugin_exit",
                           str(status))
    if root is None:
        raise CommandError(f"--command {command} printed no result document", "msg_error_plugin_document")
    return root


def _document(out):
    """The printed ``<doc>``, or None when the output is not one."""
    try:
        root = etree.fromstring(out, _parser()) if out.strip() else None
    except etree.XMLSyntaxError:
        return None
    return root if root is not None and root.tag == "doc" else None


def command(req, module, name, stdin=b"", args=()):
    """``run`` for a request: a failed run is a ``plugin`` error naming the module, logged with its reason."""
    try:
        return run(req.config, module, name, stdin, args)
    except CommandError as exc:
        log.warning("payment module %s --command %s failed: %s", module.name, name, exc)
        raise MgrError("plugin", module.name, exc.value, exc.message, exc.detail) from None


def stdin(doc, func, lang):
    """``doc`` as the XML a module reads on stdin: what ``func`` would answer in ``lang``."""
    doc.func, doc.lang = func, lang
    return protocol.utf8(render.render(doc, "xml")[1])
