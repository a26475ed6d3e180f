"""out=json, sjson, JSONdata and bjson.

json/sjson mirror the XML document: text under "$", attributes under
"$name", repeated children as arrays (sjson: list rows always an array).
JSONdata carries data only with plain values; bjson is the whole document
without the doc wrapper, with plain values: a list's rows under "elem", any
other document's fields under "model", an error under a top-level "error",
and a success as ``"ok": true``.

List rows, the hot path, are encoded like the XML ones: all cells in one
``json.dumps`` call, split apart again and poured into a repeated row
template (see ``_rows_json``); the rest of a document is small and goes
through ``json.dumps`` as objects, with a mark where the rows go, so the
frame around the rows is encoded once however many batches stream in.
"""

import json
from functools import lru_cache
from itertools import chain

from ..doc import Cell, Node

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode   # one encoder, made once


class _Raw(str):
    """JSON text already encoded, to be placed as it is."""


def _object(parts):
    return "{" + ",".join(f"{_compact(k)}:{v if isinstance(v, _Raw) else _compact(v)}" for k, v in parts) + "}"


def _node(value):
    if isinstance(value, Node):
        return _group(value.children, _node)
    if isinstance(value, Cell):
        node = {f"${k}": v for k, v in value.attrs}
        node["$"] = value.text
        return node
    return {"$": str(value)}


def _plain(value):
    if isinstance(value, Node):
        return _group(value.children, _plain)
    return value.text if isinstance(value, Cell) else str(value)


def _group(pairs, convert):
    """An object from (name, value) pairs; a repeated name collects an array."""
    result = {}
    for name, value in pairs:
        converted = convert(value)
        if name in result:
            previous = result[name]
            if isinstance(previous, list):
                previous.append(converted)
            else:
                result[name] = [previous, converted]
        else:
            result[name] = converted
    return result


class _Shown(dict):
    """Encoded code -> the member text of a coded column; an unlabelled code shows as it is."""

    __slots__ = ("key", "node")

    def __missing__(self, code):
        return f',{self.key}:{{"$":"{code}"}}' if self.node else f',{self.key}:"{code}"'


@lru_cache(maxsize=1024)
def _coded(name, labels, node):
    shown = _Shown()
    shown.key, shown.node = _compact(name), node
    for code, label in labels:
        value = _node(label) if node else _plain(label)
        shown[_compact(code)[1:-1]] = "" if label == "" else f",{shown.key}:{_compact(value)}"
    return shown


def _rows_json(doc, batch, node):
    """A batch of rows as JSON objects, comma-separated (no brackets).

    Every member carries a leading comma, so an empty cell is dropped by
    removing its member and the row's first comma by one replace: neither
    ``,"name":{"$":""}`` nor ``{,"`` can occur inside an encoded string,
    whose quotes are all escaped.
    """
    columns = doc.columns
    cells = list(chain.from_iterable(batch))
    try:
        "".join(cells)
    except TypeError:
        cells = ["" if v is None else str(v) for v in cells]
    encoded = _compact(cells)[2:-2].split('","') if cells else []
    has_empty = "" in encoded
    width = len(columns)
    for i, name in enumerate(columns):
        labels = doc.labels.get(name)
        if labels is not None:
            shown = _coded(name, tuple(labels.items()), node)
            encoded[i::width] = map(shown.__getitem__, encoded[i::width])
    row, empties = _row_template(columns, frozenset(doc.labels), node)
    text = ",".join([row] * len(batch)) % tuple(encoded)
    if has_empty:
        for empty in empties:
            text = text.replace(empty, "")
    return text.replace('{,"', '{"')


def rows_node(doc, batch):
    return _rows_json(doc, batch, True)


def rows_plain(doc, batch):
    return _rows_json(doc, batch, False)


@lru_cache(maxsize=1024)
def _row_template(columns, coded, node):
    """A row's %-template, and the text of an empty member of each plain column."""
    slots, empties = [], []
    for name in columns:
        if name in coded:
            slots.append("%s")
            continue
        key = _compact(name)
        slots.append(f',{key}:{{"$":"%s"}}' if node else f',{key}:"%s"')
        empties.append(f',{key}:{{"$":""}}' if node else f',{key}:""')
    return "{" + "".join(slots) + "}", tuple(empties)


_ROWS = "\x00"   # where the rows go in a document's text: encoded JSON never holds a raw NUL


def _elem(doc, strict):
    """The ``elem`` member of a list document (rows marked by _ROWS), or None when it has no rows.

    Unless ``strict``, one row is an object and no rows no member; a
    streamed list is always an array.
    """
    if strict or doc.more is not None or len(doc.rows) > 1:
        return _Raw(f"[{_ROWS}]")
    return _Raw(_ROWS) if doc.rows else None


def _split(text):
    """(head, tail): the document's text before and after its rows."""
    head, _, tail = text.partition(_ROWS)
    return head, tail


def _error(doc, wrap):
    e = doc.error
    if wrap is _node:
        return {"$type": e.type, "$object": e.object, "$lang": doc.lang,
                "param": [{"$name": "object", "$": e.object}, {"$name": "value", "$": e.value}],
                "msg": {"$": e.msg}}
    return {"type": e.type, "object": e.object, "value": e.value, "msg": e.msg}


def _ok(doc, convert):
    """A success; one that sends the caller on (``<ok type="url">``) carries the address."""
    if convert is _node:
        return {"$type": "url", "$": doc.redirect} if doc.redirect else {}
    return {"type": "url", "url": doc.redirect} if doc.redirect else True


def _parts(doc, convert, strict, model=False):
    """The members of a document; ``model``: a non-list document's fields in one "model" object."""
    parts = []
    if doc.error:
        parts.append(("error", _error(doc, convert)))
    if doc.ok:
        parts.append(("ok", _ok(doc, convert)))
    if doc.rows is not None:
        elem = _elem(doc, strict)
        if elem is not None:
            parts.append(("elem", elem))
    if model and doc.rows is None:
        if doc.fields:
            parts.append(("model", _group(doc.fields, convert)))
    else:
        parts.extend(_group(doc.fields, convert).items())
    if doc.slists:
        if convert is _node:
            parts.append(("slist", [{"$name": name, "val": [{"$key": k, "$": label} for k, label in choices]}
                                    for name, choices in doc.slists]))
        else:
            parts.append(("slist", {name: [{"key": k, "label": label} for k, label in choices]
                                    for name, choices in doc.slists}))
    if doc.tparams:
        parts.append(("tparams", _group(doc.tparams, convert)))
    return parts


def frame_json(doc, view=None, strict=False):
    body = _object([("$func", doc.func), ("$lang", doc.lang)] + _parts(doc, _node, strict))
    return _split(f'{{"doc":{body}}}\n')


def frame_sjson(doc, view=None):
    return frame_json(doc, view, strict=True)


def frame_bjson(doc, view=None):
    return _split(_object([("func", doc.func), ("lang", doc.lang)] + _parts(doc, _plain, strict=True, model=True))
                  + "\n")


def frame_data(doc, view=None):
    if doc.error:
        return _object([("error", _error(doc, _plain))]) + "\n", ""
    parts = [("elem", _Raw(f"[{_ROWS}]"))] if doc.rows is not None else []
    parts.extend(_group(doc.fields, _plain).items())
    if doc.ok:
        parts.append(("ok", _ok(doc, _plain)))
    return _split(_object(parts) + "\n")
