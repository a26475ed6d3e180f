"""out=xml and out=devel, streamed as escaped text."""

import re

from ..doc import Cell

_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def escape(value):
    text = str(value)
    if _INVALID.search(text):
        text = _INVALID.sub("\ufffd", text)
    return text.translate(_ESCAPES)


def _element(name, value):
    if isinstance(value, Cell):
        attrs = "".join(f' {k}="{escape(v)}"' for k, v in value.attrs)
        return f"<{name}{attrs}>{escape(value.text)}</{name}>"
    return f"<{name}>{escape(value)}</{name}>"


def _body(doc):
    parts = []
    if doc.error:
        e = doc.error
        parts.append(f'<error type="{escape(e.type)}" object="{escape(e.object)}" lang="{doc.lang}">'
                     f'<param name="object">{escape(e.object)}</param>'
                     f'<param name="value">{escape(e.value)}</param>'
                     f"<msg>{escape(e.msg)}</msg></error>")
    if doc.ok:
        parts.append("<ok/>")
    if doc.rows is not None:
        columns = doc.columns
        for row in doc.rows:
            parts.append("<elem>")
            parts.extend(_element(name, value) for name, value in zip(columns, row)
                         if value is not None and value != "")
            parts.append("</elem>")
    parts.extend(_element(name, value) for name, value in doc.fields)
    for name, choices in doc.slists:
        parts.append(f'<slist name="{escape(name)}">')
        parts.extend(f'<val key="{escape(key)}">{escape(label)}</val>' for key, label in choices)
        parts.append("</slist>")
    if doc.tparams:
        parts.append("<tparams>")
        parts.extend(_element(name, value) for name, value in doc.tparams)
        parts.append("</tparams>")
    return "".join(parts)


def _open(doc):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<doc func="{escape(doc.func)}" lang="{doc.lang}">'


def render(doc, view=None):
    return f"{_open(doc)}{_body(doc)}</doc>\n"


def render_devel(doc, view=None):
    """The xml document plus what a user interface needs: metadata and messages."""
    extra = ""
    if view is not None:
        messages = "".join(f'<msg name="{escape(k)}">{escape(v)}</msg>' for k, v in view.messages.items())
        extra = f"{view.metadata_xml}<messages>{messages}</messages>"
    return f"{_open(doc)}{_body(doc)}{extra}</doc>\n"
