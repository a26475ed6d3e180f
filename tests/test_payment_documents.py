"""A payment's documents through the real daemon: the printable page, the PDF (read back with poppler's
pdftotext), the PDF mailed to a real SMTP server on loopback, the invoice's items, and a ticket about a
payment."""

import base64
import shutil
import subprocess
from urllib.parse import urlencode

import pytest
from test_clients import Inbox, eventually
from test_http import ADMIN, Web

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils' pdftotext")


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller
    from test_http import free_port
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="module")
def panel(tmp_path_factory, smtp):
    d = Web(tmp_path_factory.mktemp("documents"),
            settings=f"SmtpServer 127.0.0.1:{smtp.port}\nMailFrom billing@example.com\n").start().populate()
    d.method = int(d.ok("paymethod.edit", "name=Wire", "commission=2.5", "sok=ok")["id"])
    # a client with a Cyrillic name who owed two expenses (one taxed 20%) that a payment then paid
    d.client = d.new_account("ivan@example.com", "name=Иван Петров <b>&", "realname=Иван Иванович Петров",
                             "country=643")
    subaccount = int(d.ok("subaccount.edit", f"plid={d.client}", "sok=ok")["id"])
    d.ok("subaccount.expense.edit", f"plid={d.client}", f"subaccount={subaccount}", "amount=30", "postpaid=on",
       "operation=prolong", "taxrate=20", "sok=ok")
    d.ok("subaccount.expense.edit", f"plid={d.client}", f"subaccount={subaccount}", "amount=12.5",
       "postpaid=on", "name=Hosting", "name_ru=Хостинг", "sok=ok")
    d.payment = int(d.ok("payment.add", f"plid={d.client}", f"paymethod={d.method}", "amount=100",
                       "number=INV-2026/7", "description=Top-up <script>", "sok=ok")["payment_id"])
    d.ok("payment.setpaid", f"elid={d.payment}")
    yield d
    d.stop()


def pdf_text(tmp_path, data):
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def file_reply(panel, func, *params):
    """A file reply as mgrctl prints it: content_type, filename, and the base64 content."""
    result = panel.mgrctl("-m", "billmgr", func, *params)
    assert result.returncode == 0, result.stdout + result.stderr
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines())
    return fields["content_type"], fields["filename"], base64.b64decode(fields["content"])


def test_print_is_an_escaped_page_with_the_payment_and_what_it_paid(panel):
    content_type, filename, page = file_reply(panel, "payment.print", f"elid={panel.payment}")
    page = page.decode()
    assert (content_type, filename) == ("text/html", "payment-INV-2026_7.html")
    for shown in ("INV-2026/7", "Default provider", "Иван Петров &lt;b&gt;&amp;", "Иван Иванович Петров",
                  "ivan@example.com", "Russian Federation", "Top-up &lt;script&gt;", "100.00 RUB", "2.50 RUB",
                  "Service renewal", "30.00 RUB", "Hosting", "12.50 RUB", "5.00 RUB", "Paid"):
        assert shown in page, shown
    assert "<script>" not in page and "<b>" not in page
    russian = base64.b64decode(panel.call("payment.print", f"elid={panel.payment}", "lang=ru")["content"]["$"])
    assert "Продление услуги" in russian.decode() and "Хостинг" in russian.decode() and "Оплачен" in russian.decode()


@needs_pdftotext
def test_pdf_has_the_number_amounts_tax_and_a_cyrillic_name(panel, tmp_path):
    content_type, filename, data = file_reply(panel, "payment.print.pdf", f"elid={panel.payment}")
    assert (content_type, filename) == ("application/pdf", "payment-INV-2026_7.pdf") and data.startswith(b"%PDF-")
    text = pdf_text(tmp_path, data)
    for shown in ("INV-2026/7", "100.00 RUB", "5.00 RUB", "Иван Петров <b>&", "Service renewal", "Paid"):
        assert shown in text, shown
    assert "Итого" in pdf_text(tmp_path, base64.b64decode(
        panel.call("payment.print.pdf", f"elid={panel.payment}", "lang=ru")["content"]["$"]))


@needs_pdftotext
def test_pdf_over_http_is_the_file_itself_without_out(panel, tmp_path):
    query = urlencode({"authinfo": ADMIN, "func": "payment.print.pdf", "elid": panel.payment})
    response, data = panel.request(f"/billmgr?{query}")
    assert response.status == 200 and response.getheader("Content-Type") == "application/pdf"
    assert response.getheader("Content-Disposition") == 'inline; filename="payment-INV-2026_7.pdf"'
    assert "INV-2026/7" in pdf_text(tmp_path, data)
    response, page = panel.get(authinfo=ADMIN, func="payment.print", elid=panel.payment)
    assert response.getheader("Content-Type") == "text/html; charset=utf-8" and "<h1>Payment INV-2026/7</h1>" in page
    response, body = panel.get(authinfo=ADMIN, func="payment.print.pdf", elid=panel.payment, out="xml")
    assert response.getheader("Content-Type") == "text/xml; charset=utf-8" and "<content>JVBER" in body
    response, body = panel.get(authinfo=ADMIN, func="payment.print.pdf", elid=999999)
    assert response.getheader("X-Billmgr-Error") == "missed" and "<error" in body


@needs_pdftotext
def test_send_mails_the_pdf_to_the_client(panel, smtp, tmp_path):
    panel.ok("payment.send", f"elid={panel.payment}")
    recipients, message = smtp.wait()[-1]
    assert recipients == ["ivan@example.com"] and message["Subject"] == "Payment INV-2026/7 from Default provider"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "payment-INV-2026_7.pdf"
    assert "INV-2026/7" in pdf_text(tmp_path, attachment.get_content())
    assert eventually(lambda: panel.stored("SELECT state FROM outbox WHERE kind = 'mail' ORDER BY id DESC")[0]
                      == ("done",))
    assert ("document sent to ivan@example.com",) in panel.stored(
        "SELECT description FROM payment_history WHERE payment = ?", panel.payment)
    assert panel.error("payment.send", "elid=999999") == ("missed", "Payment '999999' not found")


def test_orderinfo_items_are_listed_edited_and_printed(panel):
    assert panel.call("payment.orderinfo", f"plid={panel.payment}", out="JSONdata").get("elem", []) == []
    item = int(panel.ok("payment.orderinfo.edit", f"plid={panel.payment}", "name=Хостинг на год", "cost=90",
                  "sok=ok")["id"])
    panel.ok("payment.orderinfo.edit", f"plid={panel.payment}", f"elid={item}", "name=Хостинг на 2026 год",
       "sok=ok")
    assert panel.call("payment.orderinfo", f"plid={panel.payment}", out="JSONdata")["elem"] == [
        {"id": str(item), "info": "Хостинг на 2026 год", "cost": "90.00 RUB"}]
    view = panel.call("payment.orderinfo.edit", f"plid={panel.payment}", f"elid={item}", out="JSONdata")
    assert (view["name"], view["cost"]) == ("Хостинг на 2026 год", "90.00")
    _, _, page = file_reply(panel, "payment.print", f"elid={panel.payment}")
    assert "Хостинг на 2026 год" in page.decode() and "Top-up" not in page.decode()
    assert panel.error("payment.orderinfo.edit", f"plid={panel.payment}", "name=", "sok=ok") == (
        "empty", "The field 'Description of the invoice item' is required")
    assert panel.error("payment.orderinfo.edit", f"plid={panel.payment}", "name=x", "cost=-1", "sok=ok")[0] == "value"
    assert panel.error("payment.orderinfo.edit", f"plid={panel.payment}", "elid=999999", "name=x",
                 "sok=ok")[0] == "missed"
    assert panel.error("payment.orderinfo", "plid=999999")[0] == "missed"
    assert panel.stored("SELECT count(*) FROM payment_item WHERE payment = ?", panel.payment) == [(1,)]


def test_ticket_about_a_payment_goes_to_its_client(panel, smtp):
    before = len(smtp.messages)
    ticket = int(panel.ok("ticket.write.payment", f"elid={panel.payment}", "subject=Ваш платёж",
                    "message=Please check it")["id"])
    assert panel.stored("SELECT account, subject FROM ticket WHERE id = ?", ticket) == [(panel.client, "Ваш платёж")]
    recipients, message = smtp.wait(before + 1)[-1]
    assert recipients == ["ivan@example.com"] and message["Subject"] == f"[Ticket #{ticket}] Ваш платёж"
    assert panel.error("ticket.write.payment", "elid=999999", "subject=x", "message=y")[0] == "missed"
    assert panel.error("ticket.write.payment", f"elid={panel.payment}", "message=y")[0] == "empty"
