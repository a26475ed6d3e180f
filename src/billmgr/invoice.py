"""A payment's document (invoice or receipt): its content gathered once, shown as HTML or PDF.

``content`` reads everything the document shows into an ``Invoice`` value, so
the printable page, the PDF and the mailed attachment show the same thing.
Labels are the messages of the ``payment.print`` group in the asked language,
so a provider rewords a document the way it rewords any message.

The PDF embeds DejaVu Sans (shipped in ``fonts/`` under its own free licence,
see LICENSE-DejaVu.txt) so Cyrillic and other non-Latin names print on any
host, with no system font to depend on; fpdf2 embeds only the glyphs used.
"""

import html
from dataclasses import dataclass
from pathlib import Path

from . import directory
from .billing.currency import currency as iso_currency
from .billing.money import Money
from .billing.text import show_iso
from .lists import localized_name

FONT = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"
GROUP = "payment.print"


@dataclass(frozen=True)
class Invoice:
    lang: str
    labels: dict                 # message key -> text in ``lang``
    number: str
    provider: str
    client: tuple                # (label, value) of the client's details that are set
    createdate: str
    paydate: str
    status: str
    lines: tuple                 # (description, amount text) of what the payment is for
    expenses: tuple              # (name, amount text) of the expenses it paid
    total: str
    commission: str
    tax: str

    @property
    def title(self):
        return f"{self.labels['document']} {self.number}"

    def filename(self, extension):
        """``payment-NUMBER.extension``, safe in a header and on any file system."""
        safe = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "_" for c in self.number)
        return f"payment-{safe}.{extension}"


def _labels(registry, lang):
    keys = ("document", "provider", "client", "name", "realname", "email", "country", "number", "createdate",
            "paydate", "status", "description", "amount", "lines", "expenses", "total", "commission", "tax",
            "payment_line")
    return {key: registry.message(lang, GROUP, key) for key in keys}


def content(db, registry, lang, payment):
    """The document of ``payment`` (a row loaded by functions.payment) in ``lang``."""
    labels = _labels(registry, lang)
    method_unit, unit = payment["method_unit"], payment["unit"]
    name, realname, email, country, provider = db.execute(
        "SELECT a.name, a.realname, a.email, a.country, p.name FROM account a JOIN subaccount s ON s.id = ? "
        "JOIN project p ON p.id = s.project WHERE a.id = ?", (payment["subaccount"], payment["account"])).fetchone()
    client = tuple((labels[key], value) for key, value in (
        ("name", name), ("realname", realname), ("email", email),
        ("country", directory.country_name(country, lang))) if value)
    items = db.execute("SELECT name, cost FROM payment_item WHERE payment = ? ORDER BY id",
                       (payment["id"],)).fetchall()
    lines = tuple((item, show_iso(Money(cost, method_unit))) for item, cost in items) or (
        (payment["description"] or labels["payment_line"].replace("__number__", payment["number"]),
         show_iso(Money(payment["paymethodamount"], method_unit))),)
    name_column = localized_name(lang, "e")
    paid = db.execute(f"SELECT {name_column}, pe.amount, e.taxamount, s.currency FROM payment_expense pe "
                      "JOIN expense e ON e.id = pe.expense JOIN subaccount s ON s.id = e.subaccount "
                      "WHERE pe.payment = ? ORDER BY e.id", (payment["id"],)).fetchall()
    tax = sum(taxamount for _, _, taxamount, _ in paid)
    return Invoice(
        lang=lang, labels=labels, number=payment["number"], provider=provider, client=client,
        createdate=payment["createdate"], paydate=payment["paydate"] or "",
        status=registry.message(lang, GROUP, f"payment_status_{payment['status']}"), lines=lines,
        expenses=tuple((name, show_iso(Money(amount, iso_currency(code)))) for name, amount, _, code in paid),
        total=show_iso(Money(payment["paymethodamount"], method_unit)),
        commission=show_iso(Money(payment["commissionamount"], method_unit)), tax=show_iso(Money(tax, unit)))


def _facts(invoice):
    """(label, value) of the document's head, in the order both formats show them."""
    labels = invoice.labels
    return ((labels["number"], invoice.number), (labels["provider"], invoice.provider),
            (labels["createdate"], invoice.createdate), (labels["paydate"], invoice.paydate),
            (labels["status"], invoice.status))


def _totals(invoice):
    labels = invoice.labels
    return ((labels["total"], invoice.total), (labels["commission"], invoice.commission),
            (labels["tax"], invoice.tax))


def to_html(invoice):
    """A printable page: every value escaped."""
    e = html.escape
    labels = invoice.labels

    def pairs(rows, label="th"):
        return "".join(f"<tr><{label}>{e(k)}</{label}><td>{e(v)}</td></tr>" for k, v in rows)

    def table(title, rows):
        if not rows:
            return ""
        return (f"<h2>{e(title)}</h2><table><tr><th>{e(labels['description'])}</th>"
                f"<th>{e(labels['amount'])}</th></tr>{pairs(rows, 'td')}</table>")

    return (f'<!DOCTYPE html>\n<html lang="{e(invoice.lang)}"><head><meta charset="utf-8">'
            f"<title>{e(invoice.title)}</title><style>body{{font-family:sans-serif}}"
            "table{border-collapse:collapse}th,td{border:1px solid #999;padding:2px 8px;text-align:left}</style>"
            f"</head><body><h1>{e(invoice.title)}</h1><table>{pairs(_facts(invoice))}</table>"
            f"<h2>{e(labels['client'])}</h2><table>{pairs(invoice.client)}</table>"
            f"{table(labels['lines'], invoice.lines)}{table(labels['expenses'], invoice.expenses)}"
            f"<h2>{e(labels['total'])}</h2><table>{pairs(_totals(invoice))}</table></body></html>\n")


def to_pdf(invoice, created):
    """The document as PDF bytes; ``created`` (a datetime) is its creation date, from the panel's clock."""
    from fpdf import FPDF, FontFace  # imported on use: only document calls pay for loading it

    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(invoice.title)
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    pdf.set_font("DejaVu", size=16)
    pdf.multi_cell(0, 10, invoice.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)

    def section(title, rows, header=None):
        if not rows:
            return
        pdf.ln(3)
        pdf.set_font("DejaVu", size=12)
        pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", size=10)
        with pdf.table(col_widths=(2, 1), first_row_as_headings=header is not None,
                       headings_style=FontFace(fill_color=(230, 230, 230))) as table:
            for row in ((header,) if header else ()) + tuple(rows):
                cells = table.row()
                for value in row:
                    cells.cell(value)

    section(invoice.labels["document"], _facts(invoice))
    section(invoice.labels["client"], invoice.client)
    heading = (invoice.labels["description"], invoice.labels["amount"])
    section(invoice.labels["lines"], invoice.lines, heading)
    section(invoice.labels["expenses"], invoice.expenses, heading)
    section(invoice.labels["total"], _totals(invoice))
    return bytes(pdf.output())
