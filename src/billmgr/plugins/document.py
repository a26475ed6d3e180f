"""A document printed by a handler, turned into a Doc.

Once it is a Doc the reply renders in every output format like a core one.
The parser resolves no entities, loads no DTD and reaches no network.
``<elem>`` children become list rows (the function's columns first, then
any others in the order met); ``<error>``, ``<ok/>`` and ``<slist>`` keep
their meaning; every other child of ``<doc>`` is a field.  ``<tparams>``,
``<metadata>`` and ``<messages>`` are the daemon's to add and are ignored.
A value with attributes (``<status orig="2">Active</status>``) keeps them.
"""

from lxml import etree

from ..doc import Cell, Doc, ErrorInfo

IGNORED = ("tparams", "metadata", "messages")


class DocumentError(Exception):
    """The output is not a result document; the message says why."""


def parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def _children(node):
    """(name, child) for the child elements, namespaces dropped."""
    return ((etree.QName(child).localname, child) for child in node if isinstance(child.tag, str))


def _value(node):
    text = "".join(node.itertext())
    return Cell(text, tuple(node.attrib.items())) if node.attrib else text


def _error(node):
    params = {p.get("name"): "".join(p.itertext()) for p in node.iterfind("param")}
    msg = node.find("msg")
    return ErrorInfo(node.get("type") or "", node.get("object") or params.get("object", ""),
                     params.get("value", ""), "" if msg is None else "".join(msg.itertext()).strip())


def _rows(elems, columns):
    """(columns, rows, labels): cells with attributes are shown through labels, as Doc wants."""
    cells = [{name: _value(child) for name, child in _children(elem)} for elem in elems]
    names = list(columns)
    for row in cells:
        names.extend(name for name in row if name not in names)
    labels = {}
    for name in names:
        if any(isinstance(row.get(name), Cell) for row in cells):
            labels[name] = _code(name, cells)
    return tuple(names), [[row.get(name) for name in names] for row in cells], labels


def _code(name, cells):
    """Replace column ``name``'s values by codes; return code -> Cell."""
    codes, seen = {}, {}
    for row in cells:
        value = row.get(name)
        if value is None or value == "":
            continue
        cell = value if isinstance(value, Cell) else Cell(value)
        code = seen.get((cell.text, cell.attrs))
        if code is None:
            code = seen[cell.text, cell.attrs] = str(len(codes))
            codes[code] = cell
        row[name] = code
    return codes


def parse(data, columns=(), listing=False):
    """The Doc of ``data``, a document rooted at ``<doc>``.

    ``columns`` orders list cells; ``listing`` makes a list reply even
    without rows.
    """
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise DocumentError(f"invalid XML: {exc}") from None
    if root.tag != "doc":
        raise DocumentError(f"the root element is <{root.tag}>, not <doc>")
    doc = Doc()
    elems = []
    for name, node in _children(root):
        if name == "elem":
            elems.append(node)
        elif name == "error":
            doc.error = _error(node)
        elif name == "ok":
            doc.ok = True
        elif name == "slist":
            doc.slists.append((node.get("name", ""), [(v.get("key", ""), "".join(v.itertext()))
                                                       for v in node.iterfind("val")]))
        elif name not in IGNORED:
            doc.fields.append((name, _value(node)))
    if elems or listing:
        doc.columns, doc.rows, doc.labels = _rows(elems, columns)
    return doc
