"""Tickets: ticket (list), ticket.edit (read and answer), ticket.write.account / .payment.

Staff open a ticket to a client with ticket.write.account (or about one of its
payments with ticket.write.payment); the client is told by mail.  A client sees
and answers only its own tickets.
"""

from .. import errors, history, mail
from ..doc import Doc
from ..lists import contains, sql_list
from ..store import rows
from .owner import existing_account

OPEN, ANSWERED, CLOSED = 1, 2, 3


def ticket(req):
    where, args = (["t.account = ?"], (req.caller.account,)) if req.caller.is_client else ([], ())
    columns = {"id": "t.id", "subject": "t.subject", "account": "a.name", "status": "t.status",
               "updated": "t.updated",
               "messages": "(SELECT count(*) FROM ticket_message m WHERE m.ticket = t.id)"}
    labels = req.cached("labels", lambda: {"status": {str(code): req.msg(f"status_{code}")
                                                      for code in (OPEN, ANSWERED, CLOSED)}})
    return sql_list(req, "ticket t", columns, f"{req.store.dialect.nocase('t.updated')} DESC, t.id DESC",
                    joins="JOIN account a ON a.id = t.account", filters={"subject": contains("t.subject")},
                    where=where, args=args, labels=labels)


def _write(req, ticket_id, body, status):
    req.db.execute("INSERT INTO ticket_message (ticket, author, level, body, created) VALUES (?, ?, ?, ?, ?)",
                   (ticket_id, req.caller.name, req.caller.level, body, req.clock.stamp()))
    req.db.execute("UPDATE ticket SET status = ?, updated = ? WHERE id = ?", (status, req.clock.stamp(), ticket_id))


def _open(req, account_id, about=""):
    """Staff open a ticket to ``account_id`` with the call's subject and message; the client is told by mail."""
    now = req.clock.stamp()
    subject = req.params.get("subject")
    ticket_id = rows.insert(req.db, "ticket", {"account": account_id, "subject": subject, "created": now,
                                               "updated": now})
    _write(req, ticket_id, req.params.get("message"), ANSWERED)
    email = req.db.execute("SELECT email FROM account WHERE id = ?", (account_id,)).fetchone()[0]
    mail.queue(req.context, email, "ticket", subject=subject, message=req.params.get("message"),
               ticket=ticket_id)
    history.record(req.context, account_id, f"ticket #{ticket_id} opened{about}: {subject}")
    return Doc.success(id=ticket_id)


def ticket_write_account(req):
    return _open(req, existing_account(req))


def ticket_write_payment(req):
    """A ticket to the client of payment ``elid``, about that payment."""
    row = req.db.execute("SELECT account, number FROM payment WHERE id = ?", (req.int_param("elid"),)).fetchone()
    if row is None:
        raise errors.missed("payment", req.elid)
    return _open(req, row[0], f" about payment {row[1]}")


def ticket_edit(req):
    """The ticket's messages; with sok, a new message (from staff or its client)."""
    row = req.db.execute("SELECT id, account, subject, status FROM ticket WHERE id = ?",
                         (req.int_param("elid"),)).fetchone()
    if row is None or (req.caller.is_client and row[1] != req.caller.account):
        raise errors.missed("ticket", req.elid)
    if req.sok:
        if not req.params.get("message"):   # the call adds a message: elid names the ticket, not a change to it
            raise errors.empty("message")
        _write(req, row[0], req.params.get("message"), OPEN if req.caller.is_client else ANSWERED)
        return Doc.success()
    messages = req.db.execute("SELECT author, created, body FROM ticket_message WHERE ticket = ? ORDER BY id",
                              (row[0],)).fetchall()
    doc = Doc.listing(("author", "created", "body"), [list(m) for m in messages], len(messages), 1,
                      max(len(messages), 1))
    doc.fields[:0] = [("elid", str(row[0])), ("subject", row[2]), ("status", req.msg(f"status_{row[3]}"))]
    return doc
