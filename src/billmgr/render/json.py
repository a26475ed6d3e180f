"""out=json, sjson, JSONdata and bjson.

json/sjson mirror the XML document: text under "$", attributes under
"$name", repeated children as arrays (sjson: list rows always an array).
JSONdata carries data only with plain values; bjson is the whole document
without the doc wrapper, plain values, errors under a top-level "error".
"""

import json

from ..doc import Cell


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def _node(value):
    if isinstance(value, Cell):
        node = {f"${k}": v for k, v in value.attrs}
        node["$"] = value.text
        return node
    return {"$": str(value)}


def _plain(value):
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


def _rows(doc, convert):
    return [{name: convert(value) for name, value in zip(doc.columns, row)
             if value is not None and value != ""} for row in doc.display_rows()]


def _error(doc, wrap):
    e = doc.error
    if wrap is _node:
        return {"$type": e.type, "$object": e.object, "$lang": doc.lang,
                "param": [{"$name": "object", "$": e.object}, {"$name": "value", "$": e.value}],
                "msg": {"$": e.msg}}
    return {"type": e.type, "object": e.object, "value": e.value, "msg": e.msg}


def _tree(doc, convert, strict):
    body = {}
    if doc.error:
        body["error"] = _error(doc, convert)
    if doc.ok:
        body["ok"] = {} if convert is _node else ""
    if doc.rows is not None:
        rows = _rows(doc, convert)
        if strict or len(rows) != 1:
            body["elem"] = rows
        else:
            body["elem"] = rows[0]
    body.update(_group(doc.fields, convert))
    if doc.slists:
        if convert is _node:
            body["slist"] = [{"$name": name, "val": [{"$key": k, "$": label} for k, label in choices]}
                             for name, choices in doc.slists]
        else:
            body["slist"] = {name: [{"key": k, "label": label} for k, label in choices]
                             for name, choices in doc.slists}
    if doc.tparams:
        body["tparams"] = _group(doc.tparams, convert)
    return body


def render_json(doc, view=None, strict=False):
    tree = {"$func": doc.func, "$lang": doc.lang}
    tree.update(_tree(doc, _node, strict))
    return _dumps({"doc": tree})


def render_sjson(doc, view=None):
    return render_json(doc, view, strict=True)


def render_bjson(doc, view=None):
    tree = {"func": doc.func, "lang": doc.lang}
    tree.update(_tree(doc, _plain, strict=True))
    return _dumps(tree)


def render_data(doc, view=None):
    if doc.error:
        return _dumps({"error": _error(doc, _plain)})
    data = {}
    if doc.rows is not None:
        data["elem"] = _rows(doc, _plain)
    data.update(_group(doc.fields, _plain))
    if doc.ok:
        data["ok"] = True
    return _dumps(data)
