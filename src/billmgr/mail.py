"""Mail to clients, composed in their language and queued in the outbox.

Texts are messages of the ``mail`` group in the XML catalogues, with
``__name__`` placeholders, so a provider changes wording (or adds a
language) the way any other message is changed.
"""

import base64
from datetime import timedelta
from urllib.parse import urlencode

from . import sessions
from .store.outbox import enqueue

RECOVERY_KEY_LIFETIME = timedelta(hours=24)


def _text(ctx, key, **values):
    text = ctx.registry.message(ctx.lang, "mail", key)
    for name, value in values.items():
        text = text.replace(f"__{name}__", str(value))
    return text


def queue(ctx, to, template, attachments=(), **values):
    """Queue mail ``template`` to ``to`` in the context's language; ``attachments`` are doc.Attachment
    files, frozen as sent."""
    payload = {"to": to, "subject": _text(ctx, f"{template}_subject", **values),
               "body": _text(ctx, f"{template}_body", **values)}
    if attachments:
        payload["attachments"] = [{"filename": a.filename, "content_type": a.content_type,
                                   "content": base64.b64encode(a.data).decode("ascii")} for a in attachments]
    enqueue(ctx.db, ctx.clock, "mail", payload)


def recovery_link(ctx, user_id, login):
    """A link that lets ``login`` set a new password once, within a day."""
    key = sessions.new_key(ctx.db, ctx.clock, user_id, "recovery", lifetime=RECOVERY_KEY_LIFETIME)
    return f"{ctx.config.public_url}?{urlencode({'func': 'recovery.change', 'username': login, 'key': key})}"


def queue_registration(ctx, user_id, login, with_recovery):
    link = recovery_link(ctx, user_id, login) if with_recovery else ""
    recovery = _text(ctx, "registration_recovery", link=link) if with_recovery else ""
    queue(ctx, login, "registration", login=login, recovery=recovery)
