"""Checking a call's parameters against its function's metadata.

Only declared fields are checked; anything else passes through untouched, as
plugins and older scripts send extras.  Checkbox values are normalised to
``on``/``off``; one-line text is stripped of surrounding white space, while a
password or a textarea (notes, messages: text a person wrote, or a document a
module stored) is kept exactly as sent.  The first fault raises an ``empty``
or ``value`` MgrError.

Every whole number a caller sends -- an ``int`` field, a page number, an
object id -- is read by ``integer``: ASCII digits only (``str.isdigit`` also
takes '²' and other digits ``int`` refuses) and no larger than a 64-bit
column holds.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from . import errors

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s]+@{_LABEL}(?:\.{_LABEL})+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{4,30}$")
EXACT = ("password", "textarea")   # field types whose value is kept as sent
_CHECKBOX = {"on": "on", "off": "off", "yes": "on", "no": "off", "": "off"}


INT_MAX = 2**63 - 1          # the largest value a signed 64-bit column holds
_DIGITS = re.compile(r"[0-9]{1,19}")
PAGE_MAX = 1_000_000         # p_num and p_cnt stay below it


def integer(text):
    """``text`` as a whole number from 0 to INT_MAX, or None when it is not one."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= INT_MAX else None


def int_param(params, name):
    """Parameter ``name`` as a whole number: None when absent or empty, else a ``value`` error unless valid."""
    text = params.get(name) or ""
    if not text:
        return None
    value = integer(text.strip())
    if value is None:
        raise errors.value(name, text)
    return value


def _date(text):
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


def _datetime(text):
    try:
        datetime.fromisoformat(text)
        return True
    except ValueError:
        return False


def _ip(text):
    import ipaddress

    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _money(text):
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return False
    return amount.is_finite() and amount.as_tuple().exponent >= -2


CHECKS = {
    "int": lambda t: integer(t) is not None,
    "email": lambda t: len(t) <= 254 and bool(_EMAIL.match(t)),
    "url": lambda t: bool(_URL.match(t)),
    "date": _date,
    "datetime": _datetime,
    "ip": _ip,
    "money": _money,
    "phone": lambda t: bool(_PHONE.match(t)),
}


def check_field(field, params, creating):
    present = field.name in params
    value = params.get(field.name, "")
    if field.readonly:
        return
    if field.type == "checkbox":
        if present:
            normal = _CHECKBOX.get(value.lower())
            if normal is None:
                raise errors.value(field.name, value)
            params.set(field.name, normal)
        return
    if field.type not in EXACT:
        value = value.strip()
        if present:
            params.set(field.name, value)
    if not value.strip():
        if field.required and (creating or present):
            raise errors.empty(field.name)
        return
    if len(value) > field.maxlength:
        raise errors.value(field.name, value, "msg_error_too_long")
    if field.check and not CHECKS[field.check](value):
        raise errors.value(field.name, value)
    if field.choices and value not in field.choices:
        raise errors.value(field.name, value)


def validate(spec, params):
    """Check ``params`` in place against ``spec``; raise on the first fault."""
    if spec.kind == "action" or (spec.kind == "form" and params.get("sok")):
        creating = spec.kind == "action" or not params.get("elid")
        for field in spec.fields:
            check_field(field, params, creating)
    elif spec.kind == "list" and params.get("filter") == "on":
        for field in spec.filters:
            check_field(field, params, creating=False)
    for name in ("p_num", "p_cnt"):
        value = int_param(params, name)
        if value is not None and not 0 < value < PAGE_MAX:
            raise errors.value(name, params.get(name))
