"""out=xml and out=devel, streamed as escaped text."""

import re
from functools import lru_cache
from itertools import chain

from ..doc import Cell, Node

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(value):
    """Text safe inside an element or a double-quoted attribute.

    Characters XML cannot carry at all are replaced by ``_clean`` over many
    values at once, not here, so each value costs four replaces.
    """
    if type(value) is int:
        return str(value)
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _element(name, value):
    if type(value) is Node:
        return f"<{name}>{''.join(_element(k, v) for k, v in value.children)}</{name}>"
    if type(value) is Cell:
        attrs = "".join(f' {k}="{escape(v)}"' for k, v in value.attrs)
        return f"<{name}{attrs}>{escape(value.text)}</{name}>"
    return f"<{name}>{escape(value)}</{name}>"


_SEP = "\x00"   # joins cells; _clean has removed it from every value


def _clean(text):
    """``text`` without the characters XML forbids.

    ``isprintable`` answers at C speed for ordinary text; only text with
    newlines, tabs or stranger characters pays for the regular expression.
    """
    if text.isprintable() or not _INVALID.search(text):
        return text
    return _INVALID.sub("\ufffd", text)


class _Shown(dict):
    """Escaped code -> element; a code without a label is shown as it is."""

    __slots__ = ("name",)

    def __missing__(self, code):
        return f"<{self.name}>{code}</{self.name}>"


@lru_cache(maxsize=1024)
def _coded(name, labels):
    """The elements of a coded column, rendered once per set of labels."""
    shown = _Shown((escape(code), _element(name, label) if label != "" else "") for code, label in labels)
    shown.name = name
    return shown


def rows(doc, batch):
    """A batch of list rows, the hot path of every list call.

    All cells are escaped together -- joined by NUL, cleaned, escaped with
    four C-level replaces, split again -- and the rows are one ``str.format``
    of a repeated row template.  Coded columns take their rendered labels; an
    empty plain cell is dropped afterwards with one replace per column.
    """
    columns = doc.columns
    cells = list(chain.from_iterable(batch))
    try:
        flat = "".join(cells)          # C speed when every cell is already text, as from sql_list
    except TypeError:
        cells = ["" if v is None else str(v) for v in cells]
        flat = "".join(cells)
    if _clean(flat) is not flat:
        cells = [_clean(c) for c in cells]
    escaped = escape(_SEP.join(cells)).split(_SEP)
    has_empty = "" in escaped
    width = len(columns)
    slots = []
    for i, name in enumerate(columns):
        labels = doc.labels.get(name)
        if labels is None:
            slots.append(f"<{name}>{{}}</{name}>")
            continue
        shown = _coded(name, tuple(labels.items()))
        escaped[i::width] = map(shown.__getitem__, escaped[i::width])
        slots.append("{}")
    text = ("<elem>" + "".join(slots) + "</elem>") * len(batch)
    text = text.format(*escaped)
    if has_empty:
        for name in columns:
            text = text.replace(f"<{name}></{name}>", "")
    return text


def _head(doc):
    """The document's opening and what comes before any rows: an error, ok."""
    head = [f'<?xml version="1.0" encoding="UTF-8"?>\n<doc func="{escape(doc.func)}" lang="{doc.lang}">']
    if doc.error:
        e = doc.error
        head.append(f'<error type="{escape(e.type)}" object="{escape(e.object)}" lang="{doc.lang}">'
                    f'<param name="object">{escape(e.object)}</param>'
                    f'<param name="value">{escape(e.value)}</param>'
                    f"<msg>{escape(e.msg)}</msg></error>")
    if doc.ok:
        head.append(f'<ok type="url">{escape(doc.redirect)}</ok>' if doc.redirect else "<ok/>")
    return _clean("".join(head))


def _after_rows(doc):
    """What follows the rows: fields, choice lists, the echoed parameters."""
    parts = [_element(name, value) for name, value in doc.fields]
    for name, choices in doc.slists:
        parts.append(f'<slist name="{escape(name)}">')
        parts.extend(f'<val key="{escape(key)}">{escape(label)}</val>' for key, label in choices)
        parts.append("</slist>")
    if doc.tparams:
        parts.append("<tparams>")
        parts.extend(_element(name, value) for name, value in doc.tparams)
        parts.append("</tparams>")
    return _clean("".join(parts))


def frame(doc, view=None):
    return _head(doc), f"{_after_rows(doc)}</doc>\n"


def frame_devel(doc, view=None):
    """The xml document plus what a user interface needs: metadata and messages."""
    extra = ""
    if view is not None:
        messages = "".join(f'<msg name="{escape(k)}">{escape(v)}</msg>' for k, v in view.messages.items())
        extra = f"{view.metadata_xml}<messages>{messages}</messages>"
    return _head(doc), f"{_after_rows(doc)}{extra}</doc>\n"
