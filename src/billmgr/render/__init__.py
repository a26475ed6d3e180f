"""Renderers: a Doc in the format the caller asked for with ``out=``."""

from . import json as json_
from . import text, xml

# out name -> (content type, render(doc, view) -> str)
FORMATS = {
    "xml": ("text/xml", xml.render),
    "devel": ("text/xml", xml.render_devel),
    "json": ("application/json", json_.render_json),
    "sjson": ("application/json", json_.render_sjson),
    "JSONdata": ("application/json", json_.render_data),
    "bjson": ("application/json", json_.render_bjson),
    "text": ("text/plain", text.render),
    "print": ("text/html", text.render_print),
}
DEFAULT = "xml"


def resolve(out):
    """The format to use: an unknown or missing ``out`` falls back to xml."""
    return out if out in FORMATS else DEFAULT


def render(doc, out, view=None):
    """(content type, body) of ``doc``; ``view`` gives devel and print the metadata."""
    content_type, renderer = FORMATS[resolve(out)]
    return content_type, renderer(doc, view)
