"""The registry: every callable function and every message, from XML metadata."""

from . import loader
from .loader import RegistryError, core_xml_dir
from .spec import Column, Field, FunctionSpec, Handler

LANGS = ("en", "ru")
COMMON = "common"  # the messages group shared by every function


class Registry:
    """An immutable snapshot; a reload builds a new one and swaps it in whole."""

    def __init__(self, functions, messages, files, parts=None, modules=None):
        self.functions = functions
        self.messages = messages
        self.files = files
        self.parts = parts or {}   # forms shown by another function (see loader.load)
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
        return self.functions.get(name)

    def private_fields(self, name):
        """Names of the secret fields of ``name`` and its parts: never logged, echoed or shown back."""
        own = self.functions[name].fields if name in self.functions else ()
        return self.memo(("private", name), lambda: frozenset(
            [f.name for f in own if f.private] + [f.name for part, spec in self.parts.items()
                                                  if part.startswith(name + ".") for f in spec.fields if f.private]))

    def message(self, lang, group, key, default=None):
        """Text of ``key`` for function ``group``: its own, then common, then English."""
        for language in (lang, "en") if lang != "en" else ("en",):
            tables = self.messages.get(language, {})
            for table in (tables.get(group), tables.get(COMMON)):
                if table and key in table:
                    return table[key]
        return key if default is None else default

    def function_messages(self, lang, name):
        """Every message a user interface needs to draw ``name``."""
        merged = dict(self.messages.get("en", {}).get(name, {}))
        merged.update(self.messages.get(lang, {}).get(name, {}))
        return merged

    def describe(self, lang, name=None):
        """Plain-text help from the metadata, for ``mgrctl -i [FUNC]``."""
        if name is None:
            return "\n".join(f"{spec.name}\t{spec.kind}\t{self.message(lang, spec.name, 'title', '')}".rstrip()
                             for spec in sorted(self.functions.values(), key=lambda s: s.name))
        spec = self.functions[name]
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


__all__ = ["Registry", "RegistryError", "FunctionSpec", "Field", "Column", "Handler",
           "LANGS", "core_xml_dir"]
