"""Renderers: a Doc in the format the caller asked for with ``out=``.

Each format gives the document's frame -- the text before and after its
rows -- and the text of a batch of rows; this module puts them together.
A document with all its rows in hand becomes one chunk of text, as fast as
a single string; a list with a row source (see Doc) becomes an iterator of
chunks, one per batch of rows, so a reply of any length is produced with
bounded memory while it is being sent.
"""

from . import json as json_
from . import text, xml

# out name -> (content type, frame(doc, view) -> (head, tail), rows(doc, batch) -> text, separator of batches)
FORMATS = {
    "xml": ("text/xml", xml.frame, xml.rows, ""),
    "devel": ("text/xml", xml.frame_devel, xml.rows, ""),
    "json": ("application/json", json_.frame_json, json_.rows_node, ","),
    "sjson": ("application/json", json_.frame_sjson, json_.rows_node, ","),
    "JSONdata": ("application/json", json_.frame_data, json_.rows_plain, ","),
    "bjson": ("application/json", json_.frame_bjson, json_.rows_plain, ","),
    "text": ("text/plain", text.frame, text.rows, ""),
    "print": ("text/html", text.frame_print, text.rows_print, ""),
}
DEFAULT = "xml"


def resolve(out):
    """The format to use: an unknown or missing ``out`` falls back to xml."""
    return out if out in FORMATS else DEFAULT


def render(doc, out, view=None):
    """(content type, text) of ``doc``, all of it at once."""
    content_type, parts = chunks(doc, out, view)
    return content_type, "".join(parts)


def chunks(doc, out, view=None):
    """(content type, chunks) of ``doc``: a list of one text, or an iterator of
    texts when the list streams; ``view`` gives devel and print the metadata."""
    content_type, frame, rows, separator = FORMATS[resolve(out)]
    head, tail = frame(doc, view)
    if doc.rows is None:
        return content_type, [head + tail]
    if doc.more is None:
        return content_type, [head + (rows(doc, doc.rows) if doc.rows else "") + tail]
    return content_type, _chunks(doc, head, rows, tail, separator)


def _chunks(doc, head, rows, tail, separator):
    lead = head
    for batch in doc.batches():
        if batch:
            yield lead + rows(doc, batch)
            lead = separator
    yield (head if lead is head else "") + tail
