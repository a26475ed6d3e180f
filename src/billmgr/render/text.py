"""out=text (what mgrctl prints) and out=print (a printable HTML list)."""

from ..doc import Node
from .xml import escape


def _flat(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _field_lines(fields, prefix=""):
    """``name=value`` per field; a nested one's children as ``name.child=value``."""
    for name, value in fields:
        if isinstance(value, Node):
            yield from _field_lines(value.children, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}={_flat(value)}"


def frame(doc, view=None):
    if doc.error:
        e = doc.error
        return f"ERROR {e.type}({e.object}): {_flat(e.msg)}\n", ""
    head = ("OK\n" + (f"redirect={_flat(doc.redirect)}\n" if doc.redirect else "")) if doc.ok else ""
    if doc.rows is None:
        head += "".join(line + "\n" for line in _field_lines(doc.fields))
    return head, ""


def rows(doc, batch):
    columns = doc.columns
    return "".join(" ".join(f"{name}={_flat(value)}" for name, value in zip(columns, row)
                            if value is not None and value != "") + "\n" for row in doc.display_rows(batch))


def frame_print(doc, view=None):
    """A list as a printable table; anything else as a plain page of its text."""
    title = escape(view.messages.get("title", doc.func)) if view else escape(doc.func)
    head = (f'<!DOCTYPE html>\n<html lang="{doc.lang}"><head><meta charset="utf-8">'
            f"<title>{title}</title></head><body><h1>{title}</h1>")
    if doc.rows is None:
        return f"{head}<pre>{escape(''.join(frame(doc)))}</pre></body></html>\n", ""
    label = (lambda c: view.messages.get(c, c)) if view else (lambda c: c)
    header = "".join(f"<th>{escape(label(c))}</th>" for c in doc.columns)
    return (f"{head}<table><thead><tr>{header}</tr></thead><tbody>",
            "</tbody></table></body></html>\n")


def rows_print(doc, batch):
    return "".join("<tr>" + "".join(f"<td>{escape('' if v is None else v)}</td>" for v in row) + "</tr>"
                   for row in doc.display_rows(batch))
