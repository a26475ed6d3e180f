"""Doc: the result of a call, before it is rendered in the asked format.

One shape serves every reply: list rows (a sequence of cells per row, in
the function's column order), top-level fields, choice lists, an ok flag, an
error, and the echoed request parameters.  Renderers stream it straight to
text; nothing builds a tree.

Row cells are plain values (text, numbers or None for empty).  A value
shown with attributes lives in a coded column (a status, a set of flags):
the row holds a code and the column is shown through
``labels[column][str(code)]``, a text or a Cell, looked up once per distinct
code rather than built once per row.

A list too long to hold at once keeps its rows in a row source: ``rows``
holds what is in hand (maybe nothing) and ``more`` yields the rest in
batches, read from the request's transaction while the reply is sent, so
a reply of any length is rendered and sent with bounded memory.
"""

import base64
from dataclasses import dataclass, field


class Cell:
    """A value shown with attributes, e.g. a status word with its code in ``orig``.

    A plain slotted class: renderers meet thousands of cells per second and
    a dataclass's generated ``__eq__`` would cost them.
    """

    __slots__ = ("text", "attrs")

    def __init__(self, text, attrs=()):
        self.text = text
        self.attrs = attrs  # (name, value) pairs

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Cell({self.text!r}, {self.attrs!r})"


class Node:
    """A field holding child fields: a nested element, e.g. payment.info's ``<paymethod>`` settings."""

    __slots__ = ("children",)

    def __init__(self, children):
        self.children = list(children)  # (name, str | Cell | Node)

    def __repr__(self):
        return f"Node({self.children!r})"


@dataclass(frozen=True)
class Attachment:
    """A file a call answers with (a PDF, a printable page): its bytes travel raw over HTTP when the
    caller asked for no ``out``, else base64 in the ``content`` field (docs/api.md)."""
    content_type: str
    filename: str
    data: bytes


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
    rows: list | None = None          # list replies only: the rows in hand
    more: object = None                          # an iterator of further row batches (see RowSource)
    fields: list = field(default_factory=list)   # (name, str | Cell)
    slists: list = field(default_factory=list)   # (name, [(key, label)])
    ok: bool = False
    redirect: str = ""                           # where a success sends the caller next: <ok type="url">
    error: ErrorInfo | None = None
    tparams: list = field(default_factory=list)  # (name, value)
    labels: dict = field(default_factory=dict)   # column -> {code: str | Cell}
    session: str | None = None                   # a session opened by the call (func=auth)
    attachment: Attachment | None = None         # a file the call answers with (see Attachment)

    def batches(self):
        """Every row of a list, in batches: the rows in hand, then those of the row source."""
        yield self.rows
        if self.more is not None:
            yield from self.more

    def display_rows(self, rows):
        """``rows`` with coded cells replaced by their labels."""
        coded = [(i, self.labels[name]) for i, name in enumerate(self.columns) if name in self.labels]
        if not coded:
            return rows
        shown = []
        for row in rows:
            row = list(row)
            for i, labels in coded:
                row[i] = labels.get(str(row[i]), row[i])
            shown.append(row)
        return shown

    @classmethod
    def listing(cls, columns, rows, total, page, per_page, labels=None, more=None):
        return cls(columns=tuple(columns), rows=rows, more=more, labels=labels or {},
                   fields=[("p_elems", str(total)), ("p_num", str(page)), ("p_cnt", str(per_page))])

    @classmethod
    def form(cls, fields, slists=()):
        return cls(fields=list(fields), slists=list(slists))

    @classmethod
    def file(cls, content_type, filename, data):
        """A reply that is a file: described in fields for every ``out``, its bytes kept for HTTP."""
        return cls(attachment=Attachment(content_type, filename, data),
                   fields=[("content_type", content_type), ("filename", filename),
                           ("content", base64.b64encode(data).decode("ascii"))])

    @classmethod
    def success(cls, **fields):
        return cls(ok=True, fields=[(k, str(v)) for k, v in fields.items()])


class RowSource:
    """The batches of a streamed list, and what must be released once they are
    read or abandoned (the request's read transaction).

    Whoever sends the reply closes it, also when the client leaves half-way.
    """

    def __init__(self, batches, release=lambda: None):
        self._batches = batches
        self._release = release

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._batches)
        except BaseException:
            self.close()
            raise

    def close(self):
        release, self._release = self._release, None
        if release is not None:
            self._batches.close()
            release()
