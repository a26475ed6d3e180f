"""Self-service: register (a website signs a client up) and recovery.change."""

from .. import directory, errors, mail, sessions
from ..doc import Doc
from ..passwords import hash_password
from ..validation import integer
from .account import checked_password, create_account

_RECORDED = {"realname": "realname", "phone": "try_phone", "partner": "partner", "sesid": "partner_sesid",
             "_ga": "ga", "tzoffset": "tzoffset"}


def _place(req):
    """Country, region and provider as ids, checked against their directories."""
    values = {}
    country = req.params.get("country")
    if country:
        values["country"] = directory.country_id(country)
        if values["country"] is None:
            raise errors.value("country", country)
    state = req.params.get("state")
    if state:
        values["state"] = directory.state_id(req.db, state, values.get("country"))
        if values["state"] is None:
            raise errors.value("state", state)
    project = req.int_param("project")
    if project is not None:
        if not req.db.execute("SELECT 1 FROM project WHERE id = ? AND status = 2", (project,)).fetchone():
            raise errors.missed("project", project)
        values["project"] = project
    return values


def _offers(req):
    """Ids of the offers accepted with ``offer_ID=on``; each must be an active offer."""
    accepted = []
    for name, value in req.params.pairs:
        if name.startswith("offer_") and value == "on":
            offer = integer(name[len("offer_"):])
            if offer is None or not req.db.execute(
                    "SELECT 1 FROM offer WHERE id = ? AND active = 1", (offer,)).fetchone():
                raise errors.missed("offer", name[len("offer_"):])
            accepted.append(offer)
    return accepted


def _form(req):
    """The registration form: what a website's own form needs to offer."""
    fields = [(name, req.params.get(name, "")) for name in ("email", "realname", "phone", "country", "state",
                                                           "project", "partner", "sesid", "tzoffset")]
    projects = req.db.execute("SELECT id, name FROM project WHERE status = 2 ORDER BY id").fetchall()
    return Doc.form(fields, [("country", directory.countries(req.lang)),
                             ("project", [(str(i), n) for i, n in projects])])


def register(req):
    if not req.sok:
        return _form(req)
    if req.config.require_conditions_agree and req.params.get("conditions_agree") != "on":
        raise errors.empty("conditions_agree")
    email = req.params.get("email")
    password = checked_password(req, email)
    values = {"email": email, **_place(req)}
    values.update({column: req.params.get(param) for param, column in _RECORDED.items()
                   if req.params.get(param)})
    if req.caller.address != "local":
        values["registration_ip"] = req.caller.address
    offers = _offers(req)
    account_id, user_id = create_account(req, values, password)
    req.db.executemany("INSERT INTO account_offer (account, offer, accepted) VALUES (?, ?, ?)",
                       [(account_id, offer, req.clock.stamp()) for offer in offers])
    mail.queue_registration(req.context, user_id, email, req.params.get("recovery") == "on")
    return Doc.success(id=account_id)


def recovery_change(req):
    """A new password with the one-use key from a registration or recovery mail.

    The link in the mail opens the form (login and key filled in); sending it
    with ``sok`` sets the password.
    """
    if not req.sok:
        return Doc.form([("username", req.params.get("username", "")), ("key", req.params.get("key", ""))])
    user = sessions.use_key(req.db, req.clock, req.params.get("key", ""), "recovery")
    row = user and req.db.execute("SELECT name FROM user WHERE id = ?", (user,)).fetchone()
    if not row or row[0].lower() != req.params.get("username", "").lower():
        raise errors.MgrError("auth", "key", "", "msg_error_recovery_key")
    password = checked_password(req, row[0])
    req.db.execute("UPDATE user SET passwd = ? WHERE id = ?", (hash_password(password), user))
    req.db.execute("DELETE FROM session WHERE user = ?", (user,))
