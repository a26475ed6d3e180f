"""Processing modules: the executables that do a service's outside work, and what each says it does.

A module is a plugin XML declaring ``<plugin name="PM"><group>processing_module</group></plugin>``
plus the executable ``PM`` in the processing directory.  At start and at every reload billmgr runs
``PM --command features`` once; what it prints (item types, connection params, commands) is kept
in the snapshot.  A module whose executable is missing or whose ``features`` fails is kept with
the reason, logged with its file, and never run.

Every run gets the module's connection params, crypted ones in clear, on stdin as
``<doc><processingmodule id="ID"><NAME>VALUE</NAME>...</processingmodule></doc>`` (a pipe: never in
argv, the environment or a file), and the basic environment with ``BILLMGR_CONF`` so its
``mgrctl`` reaches this daemon.
"""

import logging
import os
from dataclasses import dataclass

from lxml import etree

from .. import crypted
from ..plugins import environment, external, process
from ..plugins.document import parser

log = logging.getLogger("billmgr.modules")

GROUP = "processing_module"
FEATURES_TIMEOUT = 30.0      # seconds ``features`` and ``check_connection`` may take
COMMAND_TIMEOUT = 600.0      # seconds a service command (open, suspend...) may take
MAX_OUTPUT = 1024 * 1024     # bytes a module may print


class ModuleError(Exception):
    """A module run failed; the message says how, for staff (errorxml, logs)."""


@dataclass(frozen=True)
class Module:
    """One installed processing module: what ``features`` said, or why it is not used."""
    name: str
    source: str                      # its XML file
    path: str = ""                   # its executable
    itemtypes: tuple = ()
    params: tuple = ()               # (name, crypted) of its connection params
    commands: frozenset = frozenset()
    problem: str = ""                # why it is not used; '' when it is

    def does(self, command):
        return not self.problem and command in self.commands


def load(registry, config):
    """{name: Module} of every processing module the registry declares, each asked its features."""
    found = {}
    for plugin in registry.modules.values():
        if plugin.group != GROUP:
            continue
        module = Module(plugin.name, plugin.source)
        try:
            module = _features(module, external.locate(config.processing, plugin.name), config)
        except (ValueError, ModuleError) as exc:
            module = Module(plugin.name, plugin.source, problem=str(exc))
            log.error("processing module %s (%s) is not used: %s", plugin.name, plugin.source, exc)
        found[plugin.name] = module
    return found


def _features(module, path, config):
    root = parse(run(path, config, ["--command", "features"], b"", FEATURES_TIMEOUT))
    commands = frozenset(f.get("name") for f in root.iterfind("features/feature") if f.get("name"))
    if not commands:
        raise ModuleError("features declares no command")
    return Module(module.name, module.source, path,
                  itemtypes=tuple(t.get("name") for t in root.iterfind("itemtypes/itemtype") if t.get("name")),
                  params=tuple((p.get("name"), p.get("crypted", "").lower() in ("yes", "on"))
                               for p in root.iterfind("params/param") if p.get("name")),
                  commands=commands)


def stored_params(db, module_id):
    """[(name, value, crypted)] of processing module ``module_id``'s params, crypted ones encrypted."""
    return db.execute("SELECT name, value, crypted FROM processingmodule_param WHERE processingmodule = ? "
                      "ORDER BY name", (module_id,)).fetchall()


def clear_params(db, config, module_id):
    """{name: clear value} of processing module ``module_id``'s params: for its stdin, never for a reply."""
    return {name: crypted.decrypt(config, value) if secret else value
            for name, value, secret in stored_params(db, module_id)}


def connection_doc(module_id, params):
    """What every run reads on stdin: the connection ``params`` {name: clear value}."""
    doc = etree.Element("doc")
    node = etree.SubElement(doc, "processingmodule", id=str(module_id))
    for name, value in params.items():
        try:
            etree.SubElement(node, name).text = value
        except ValueError:           # not an XML name: not a param a module can have declared
            continue
    return etree.tostring(doc, encoding="utf-8", xml_declaration=True)


def run(path, config, args, stdin, timeout=COMMAND_TIMEOUT):
    """What the module printed; ModuleError when it could not run, failed, or printed an error document."""
    name = os.path.basename(path)
    try:
        status, out, err = process.run([path, *args], environment.base(config), os.path.dirname(path), stdin,
                                       timeout, MAX_OUTPUT)
    except OSError as exc:
        raise ModuleError(f"{name} cannot be started: {exc.strerror or exc}") from None
    except process.Timeout:
        raise ModuleError(f"{name} did not finish within {timeout:g} seconds") from None
    except process.TooLarge:
        raise ModuleError(f"{name} printed more than {MAX_OUTPUT} bytes") from None
    said = err.decode(errors="replace").strip()[-500:]
    problem = _error_text(out)
    if problem:
        raise ModuleError(problem)
    if status != 0:
        how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
        raise ModuleError(f"{name} {how}" + (f": {said}" if said else ""))
    return out


def _error_text(out):
    """The message of an error document the module printed, or ''."""
    if b"<error" not in out:
        return ""
    try:
        root = etree.fromstring(out.strip(), parser())
    except etree.XMLSyntaxError:
        return ""
    error = root.find("error")
    if error is None:
        return ""
    text = " ".join("".join(error.itertext()).split())
    return f"{error.get('type') or 'error'}: {text}" if text else error.get("type") or "error"


def parse(out):
    """The root of the document a module printed; ModuleError when it is not one."""
    try:
        root = etree.fromstring(out.strip() or b"<none/>", parser())
    except etree.XMLSyntaxError as exc:
        raise ModuleError(f"not an XML document: {exc}") from None
    if root.tag != "doc":
        raise ModuleError(f"printed <{root.tag}>, not a <doc>")
    return root
