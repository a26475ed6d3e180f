"""Loading XML metadata files into a Registry.

Core declarations come from the package's xml directory, then plugins'
``billmgr_mod_*.xml`` from the configured plugin directory.  The parser
resolves no entities and reaches no network.  Any fault raises
RegistryError naming the file and line, so a reload can keep the old registry.
"""

import importlib
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from ..plugins import external
from ..validation import integer
from .spec import MAXLENGTH, MAXLENGTH_DEFAULT, Column, Field, FunctionSpec, Handler

KINDS = ("list", "form", "action")
TYPE = "{type}"    # a product type's intname in a family's name (registry.Families)
LEVELS = ("admin", "user", "public")
HANDLER_TYPES = ("python", "cgi", "xml")
FIELD_TYPES = ("text", "password", "checkbox", "select", "textarea", "hidden")
CHECKS = ("int", "email", "url", "date", "datetime", "ip", "money", "phone")


class RegistryError(Exception):
    """A metadata file cannot be loaded; the message names file and line."""


class Module(NamedTuple):
    """A plugin declared as a module (``<plugin name="N"><group>G</group></plugin>``): a processing
    module, a payment method...  What it can do is asked of its executable, not of the registry."""
    name: str
    group: str
    source: str


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def core_xml_dir():
    """The core declarations: inside the installed package, or the checkout's xml/."""
    packaged = Path(__file__).resolve().parent.parent / "xml"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "xml"


def metadata_files(plugin_dir):
    core = sorted(core_xml_dir().glob("billmgr*.xml"), key=lambda p: (p.name != "billmgr.xml", p.name))
    plugins = sorted(Path(plugin_dir).glob("billmgr_mod_*.xml")) if plugin_dir else []
    return [(path, False) for path in core] + [(path, True) for path in plugins]


def _fail(path, node, message):
    line = getattr(node, "sourceline", None) or "?"
    raise RegistryError(f"{path}:{line}: {message}")


def _yes(node, attr):
    return node.get(attr, "no").lower() in ("yes", "on", "true")


def _field(path, node):
    """A form or filter field from ``<field name=..><input|select|textarea/></field>``."""
    control = next((c for c in node if c.tag in ("input", "select", "textarea")), None)
    if control is None:
        _fail(path, node, f"field {node.get('name')!r} has no input, select or textarea")
    name = control.get("name") or node.get("name")
    ftype = control.get("type", "text") if control.tag == "input" else control.tag
    if ftype not in FIELD_TYPES:
        _fail(path, control, f"unknown field type {ftype!r}")
    check = control.get("check")
    if check and check not in CHECKS:
        _fail(path, control, f"unknown check {check!r} (known: {', '.join(CHECKS)})")
    maxlength = control.get("maxlength")
    if maxlength is None:
        maxlength = MAXLENGTH.get(ftype, MAXLENGTH_DEFAULT)
    else:
        maxlength = integer(maxlength)
        if not maxlength:
            _fail(path, control, "maxlength must be a whole number of characters, at least 1")
    return Field(name=name, type=ftype, required=_yes(control, "required"), check=check,
                 readonly=_yes(control, "readonly"), maxlength=maxlength,
                 choices=tuple(v.get("key") for v in control.iter("val")), private=_yes(control, "private"))


def _function(path, node, is_plugin):
    name = node.get("name")
    kind = node.get("type", "form")
    if not name:
        _fail(path, node, "metadata without a name")
    if kind not in KINDS:
        _fail(path, node, f"function {name}: unknown type {kind!r}")
    levels = frozenset(node.get("level", "admin").split())
    if not levels or not levels <= set(LEVELS):
        _fail(path, node, f"function {name}: level must be among {', '.join(LEVELS)}")
    columns = tuple(Column(c.get("name"), c.get("type", "data"), c.get("sort"))
                    for c in node.iterfind("coldata/col"))
    fields = tuple(_field(path, f) for f in node.iterfind("form//field"))
    filters = tuple(_field(path, f) for f in node.iterfind("filter//field"))
    return FunctionSpec(name=name, kind=kind, levels=levels, source=str(path),
                        key=node.get("key", "id"), keyname=node.get("keyname", "name"),
                        columns=columns, fields=fields, filters=filters,
                        metadata_xml=etree.tostring(node, encoding="unicode"),
                        override=is_plugin and _yes(node, "override"), worker=_yes(node, "worker"),
                        own_writes=node.get("transaction") == "own")


def _bind(path, node, module_name, function_name):
    """The callable behind a python handler: ``function_name`` in ``module_name``."""
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a plugin's import can fail in any way
        _fail(path, node, f"handler module {module_name!r} cannot be imported: {exc}")
    python_name = function_name.replace(TYPE, "service").replace(".", "_")   # {type}.edit -> service_edit
    call = getattr(module, python_name, None)
    if not callable(call):
        _fail(path, node, f"handler {module_name!r} has no function {python_name!r}")
    return call


def _script(path, node, addon_dir):
    """The executable behind a cgi or xml handler, checked to be inside the addon directory."""
    try:
        executable = external.locate(addon_dir, node.get("name"))
    except ValueError as exc:
        _fail(path, node, str(exc))
    timeout = node.get("timeout", str(external.DEFAULT_TIMEOUT))
    try:
        seconds = float(timeout)
    except ValueError:
        seconds = 0
    if not 0 < seconds <= external.MAX_TIMEOUT:
        _fail(path, node, f"handler {node.get('name')!r}: timeout must be seconds up to {external.MAX_TIMEOUT:g}")
    return external.Script(node.get("name"), executable, node.get("type"), seconds)


def _handlers(path, root, is_plugin, addon_dir):
    """(node, stage, function name, Handler) for every ``<func>`` and ``<event>`` of every ``<handler>``.

    The stage is ``action`` for ``<func>``, ``before`` for ``<event>`` and
    ``after`` for ``<event after="yes">``.  A python handler's event is its
    module's ``before_F`` or ``after_F`` (dots in F become underscores).
    """
    for node in root.iterfind("handler"):
        name, htype = node.get("name"), node.get("type")
        if htype not in HANDLER_TYPES:
            _fail(path, node, f"handler {name!r}: unknown type {htype!r} (known: {', '.join(HANDLER_TYPES)})")
        script = _script(path, node, addon_dir) if htype != "python" else None
        for target in node:
            if target.tag not in ("func", "event"):
                continue
            function = target.get("name", "")
            stage = "action" if target.tag == "func" else "after" if _yes(target, "after") else "before"
            if script:
                call = getattr(script, stage)
            else:
                call = _bind(path, target, name, function if stage == "action" else f"{stage}_{function}")
            yield target, stage, function, Handler(name=name, type=htype, source=str(path), call=call,
                                                   plugin=is_plugin)


def _attach(path, node, stage, spec, handler):
    """Give ``spec`` its handler or one more event; a second handler only by override."""
    if stage != "action":
        setattr(spec, stage, getattr(spec, stage) + (handler,))
        spec.worker = True   # event handlers may block or call back: never on the event loop
    elif spec.handler is not None and handler.source != spec.source:
        _fail(path, node, f"function {spec.name} already has a handler in {spec.handler.source}; run beside it "
                          f"with <event name=\"{spec.name}\"/>, or declare it with override=\"yes\" to replace it")
    else:
        spec.handler = handler


def _messages(root):
    """{lang: {function: {key: text}}} from ``<lang><messages><msg/></messages></lang>``."""
    result = {}
    for lang in root.iterfind("lang"):
        for group in lang.iterfind("messages"):
            table = result.setdefault(lang.get("name"), {}).setdefault(group.get("name"), {})
            for msg in group.iterfind("msg"):
                table[msg.get("name")] = (msg.text or "").strip()
    return result


def _owner(name, functions):
    """The declared function whose name ``name`` extends (``paymethod.edit`` of ``paymethod.edit.qiwi``)."""
    parts = name.split(".")
    return next((owner for owner in (".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))
                 if owner in functions), None)


def load(plugin_dir=None, addon_dir=None):
    """(functions, messages, files, parts, modules) from the core and plugin metadata.

    cgi and xml handlers are executables in ``addon_dir``.  A form with no
    handler whose name extends a function's (a payment module's
    ``paymethod.edit.<name>``) is a part of that function, shown by it and
    never called by itself.
    """
    functions, messages, files, modules = {}, {}, [], {}
    pending_handlers = []
    for path, is_plugin in metadata_files(plugin_dir):
        try:
            root = etree.parse(str(path), _parser()).getroot()
        except etree.XMLSyntaxError as exc:
            raise RegistryError(f"{path}:{exc.lineno}: {exc.msg}") from None
        except OSError as exc:
            raise RegistryError(f"{path}: {exc}") from None
        if root.tag != "mgrdata":
            _fail(path, root, f"root element must be <mgrdata>, not <{root.tag}>")
        files.append(str(path))
        for node in root.iterfind("plugin"):
            group = (node.findtext("group") or "").strip()
            if node.get("name") and group:
                modules[node.get("name")] = Module(node.get("name"), group, str(path))
        for node in root.iterfind("metadata"):
            spec = _function(path, node, is_plugin)
            previous = functions.get(spec.name)
            if previous and not spec.override:
                _fail(path, node, f"function {spec.name} is already declared in {previous.source}"
                      + (" (declare override=\"yes\" to replace it)" if is_plugin else ""))
            functions[spec.name] = spec
        for lang, groups in _messages(root).items():
            for group, table in groups.items():
                messages.setdefault(lang, {}).setdefault(group, {}).update(table)
        pending_handlers.extend((path, *bound) for bound in _handlers(path, root, is_plugin, addon_dir))
    for path, node, stage, name, handler in pending_handlers:
        if name not in functions:
            _fail(path, node, f"handler {handler.name!r} names undeclared function {name!r}")
        _attach(path, node, stage, functions[name], handler)
    parts = {name: spec for name, spec in functions.items()
             if spec.handler is None and spec.kind == "form" and _owner(name, functions)}
    for name in parts:
        del functions[name]
    missing = sorted(name for name, spec in functions.items() if spec.handler is None)
    if missing:
        raise RegistryError(f"functions without a handler: {', '.join(missing)}")
    return functions, messages, files, parts, modules
