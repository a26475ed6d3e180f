"""account.sms: a text message to a client through the configured SMS gateway."""

from .. import errors, history
from ..doc import Doc
from ..store.outbox import enqueue
from .owner import existing_account


def account_sms(req):
    if not req.config.sms_gateway:
        raise errors.MgrError("value", "sms_gateway", "", "msg_error_no_sms_gateway")
    account_id = existing_account(req)
    phone = req.params.get("phone") or req.db.execute(
        "SELECT coalesce(nullif(valid_phone, ''), try_phone) FROM account WHERE id = ?", (account_id,)).fetchone()[0]
    if not phone:
        raise errors.empty("phone")
    enqueue(req.db, req.clock, "sms", {"phone": phone, "message": req.params.get("message")})
    history.record(req.context, account_id, f"SMS to {phone}")
    return Doc.success()
