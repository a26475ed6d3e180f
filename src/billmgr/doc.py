"""Doc: the result of a call, before it is rendered in the asked format.

One shape serves every reply: list rows (a tuple of cells per row, in the
function's column order), top-level fields, choice lists, an ok flag, an
error, and the echoed request parameters.  Renderers stream it straight to
text; nothing builds a tree.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """A value shown with attributes, e.g. a status word with its code in ``orig``."""
    text: str
    attrs: tuple = ()  # (name, value) pairs

    def __str__(self):
        return self.text


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    object: str
    value: str
    msg: str


@dataclass
class Doc:
    func: str = ""
    lang: str = "en"
    columns: tuple = ()
    rows: list | None = None          # list replies only
    fields: list = field(default_factory=list)   # (name, str | Cell)
    slists: list = field(default_factory=list)   # (name, [(key, label)])
    ok: bool = False
    error: ErrorInfo | None = None
    tparams: list = field(default_factory=list)  # (name, value)

    @classmethod
    def listing(cls, columns, rows, total, page, per_page):
        return cls(columns=tuple(columns), rows=rows,
                   fields=[("p_elems", str(total)), ("p_num", str(page)), ("p_cnt", str(per_page))])

    @classmethod
    def form(cls, fields, slists=()):
        return cls(fields=list(fields), slists=list(slists))

    @classmethod
    def success(cls, **fields):
        return cls(ok=True, fields=[(k, str(v)) for k, v in fields.items()])
