"""The registry: every callable function and every message, from XML metadata."""

import dataclasses
import re

from . import loader
from .loader import TYPE, RegistryError, core_xml_dir
from .spec import Column, Field, FunctionSpec, Handler

LANGS = ("en", "ru")
COMMON = "common"  # the messages group shared by every function


TYPE_NAME = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"    # a product type's intname (itemtype.edit keeps to it)


class Families:
    """Functions declared once for every product type: ``{type}.edit`` answers ``vds.edit``,
    ``dedic.edit`` and a type an admin adds tomorrow, with no reload.  Whether the type exists
    is the handler's question (the registry has no database)."""

    def __init__(self, names):
        self.patterns = [(re.compile(re.escape(name).replace(re.escape(TYPE), f"({TYPE_NAME})")), name)
                         for name in names if TYPE in name]

    def match(self, name):
        """(family name, product type) that ``name`` is a member of, or None."""
        for pattern, family in self.patterns:
            found = pattern.fullmatch(name)
            if found:
                return family, found.group(1)
        return None


class Registry:
    """An immutable snapshot; a reload builds a new one and swaps it in whole."""

    def __init__(self, functions, messages, files, parts=None, modules=None):
        self.functions = functions
        self.messages = messages
        self.files = files
        self.parts = parts or {}   # forms shown by another function (see loader.load)
        self.families = Families(functions)
        self.modules = modules or {}   # plugin name -> Module: the plugins that are modules (loader.Module)
        self._memo = {}

    def memo(self, key, make):
        """A value derived from this snapshot (labels, choices), computed once.

        A reload builds a new Registry, so nothing cached here outlives the
        messages it came from.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = make()
            return value

    @classmethod
    def load(cls, plugin_dir=None, addon_dir=None):
        return cls(*loader.load(plugin_dir, addon_dir))

    def get(self, name):
        """The function called ``name``: declared by that name, or a member of a family (``vds.edit``)."""
        if TYPE in name:
            return None       # a family is called through its members only
        spec = self.functions.get(name)
        if spec is None:
            member = self.families.match(name)
            if member:
                spec = dataclasses.replace(self.functions[member[0]], name=name, family=member[0],
                                           itemtype=member[1])
        return spec

    def private_fields(self, name):
        """Names of the secret fields of ``name`` and its parts: never logged, echoed or shown back."""
        spec = self.get(name)
        if spec is None:
            return frozenset()
        declared = spec.family or name     # a family's members share its fields
        return self.memo(("private", declared), lambda: frozenset(
            [f.name for f in spec.fields if f.private] + [f.name for part, form in self.parts.items()
                                                          if part.startswith(declared + ".")
                                                          for f in form.fields if f.private]))

    def message(self, lang, group, key, default=None):
        """Text of ``key`` for function ``group``: its own, then common, then English."""
        for language in (lang, "en") if lang != "en" else ("en",):
            tables = self.messages.get(language, {})
            for table in (tables.get(group), tables.get(COMMON)):
                if table and key in table:
                    return table[key]
        return key if default is None else default

    def function_messages(self, lang, group):
        """Every message a user interface needs to draw the function of messages ``group`` (FunctionSpec.group)."""
        merged = dict(self.messages.get("en", {}).get(group, {}))
        merged.update(self.messages.get(lang, {}).get(group, {}))
        return merged

    def callable(self, sample="vds"):
        """{name: spec} of every function a caller can call, a family by its member for product type ``sample``."""
        names = (name.replace(TYPE, sample) for name in self.functions)
        return {name: self.get(name) for name in names}

    def describe(self, lang, name=None):
        """Plain-text help from the metadata, for ``mgrctl -i [FUNC]``."""
        if name is None:
            return "\n".join(f"{spec.name}\t{spec.kind}\t{self.message(lang, spec.name, 'title', '')}".rstrip()
                             for spec in sorted(self.functions.values(), key=lambda s: s.name))
        spec = self.get(name)
        lines = [f"{spec.name} ({spec.kind}; level: {', '.join(sorted(spec.levels))})"]
        title = self.message(lang, name, "title", "")
        if title:
            lines.append(title)
        if spec.kind == "list":
            lines.append(self.message(lang, COMMON, "columns") + ":")
            lines += [f"  {c.name}\t{self.message(lang, name, c.name, '')}" for c in spec.columns]
        for heading, fields in (("parameters", spec.fields), ("filter", spec.filters)):
            if not fields:
                continue
            lines.append(self.message(lang, COMMON, heading) + ":")
            for f in fields:
                traits = [f.check or f.type]
                if f.required:
                    traits.append(self.message(lang, COMMON, "required"))
                label = self.message(lang, name, f.name, "")
                hint = self.message(lang, name, f"hint_{f.name}", "")
                lines.append(f"  {f.name}\t{', '.join(traits)}\t{label}" + (f" -- {hint}" if hint else ""))
        for heading, handlers in (("events_before", spec.before), ("events_after", spec.after)):
            if handlers:
                lines.append(self.message(lang, COMMON, heading) + ":")
                lines += [f"  {h.name}\t{h.type}\t{h.source}" for h in handlers]
        return "\n".join(lines)


__all__ = ["TYPE_NAME", "Registry", "RegistryError", "FunctionSpec", "Field", "Column", "Handler",
           "LANGS", "core_xml_dir"]
