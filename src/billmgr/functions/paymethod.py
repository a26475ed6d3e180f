"""Payment methods: paymethod, paymethod.edit, paymethod.delete, and paymethod.module (the modules).

A method takes payments in one currency, for one provider or (none given)
all of them, with a commission percent, optional minimum and maximum
amounts, and optionally a payment module (``pm<name>``).  The module's
settings are the fields of its ``paymethod.edit.<name>`` form, kept as
name/value pairs; its ``private="yes"`` fields are secrets: staff see them
as ``***`` (set) or empty (not set), a submitted ``***`` keeps the stored
value, and the dispatcher masks them in logs and echoes.  Only a working
module may be chosen; its ``pmtune`` shapes the form and its ``pmvalidate``
may refuse the edit (modules/payment.py).
"""

import re

from lxml import etree

from .. import errors
from ..billing import text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..billing.money import Money
from ..doc import Cell, Doc
from ..lists import contains, equals, localized_name, sql_list
from ..modules import payment as paymodules
from ..plugins import document
from ..sqlmoney import shown
from ..store import rows
from ..validation import check_field
from .currency import enabled_choices, known

SET = "***"  # how a private setting that has a value is shown, and how a form keeps it unchanged
_MODULE = re.compile(r"pm[A-Za-z0-9_-]{1,62}")
_PERCENT = re.compile(r"(?:100(?:[.,]0{1,4})?|[0-9]{1,2}(?:[.,][0-9]{1,4})?)")
_STORED = ("name", "name_ru", "currency", "project", "commission", "minamount", "maxamount", "allowrefund",
           "active", "module", "note")
_FLAGS = ("allowrefund", "active")
_AMOUNTS = ("minamount", "maxamount")


def _labels(req):
    return {"status": {"1": Cell(req.msg("status_active"), (("orig", "1"),)),
                       "0": Cell(req.msg("status_disabled"), (("orig", "0"),))}}


def paymethod(req):
    name = localized_name(req.lang, "m")
    columns = {"id": "m.id", "name": name, "module": "m.module", "currency_name": "c.iso",
               "projects": "coalesce(p.name, '')", "commission": "m.commission",
               "minamount": shown("m.minamount", "c.minor_units"), "maxamount": shown("m.maxamount", "c.minor_units"),
               "note": "m.note", "status": "m.active"}
    return sql_list(req, "paymethod m JOIN currency c ON c.id = m.currency LEFT JOIN project p ON p.id = m.project",
                    columns, "m.id", filters={"name": contains(name), "module": contains("m.module"),
                                              "status": equals("m.active")},
                    labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    row = req.db.execute(f"SELECT {', '.join(_STORED)} FROM paymethod WHERE id = ?", (elid,)).fetchone()
    if row is None:
        raise errors.missed("paymethod", elid)
    return dict(zip(_STORED, row))


def _module_form(req, module):
    """The settings form a payment module declares (``paymethod.edit.<name>`` for ``pm<name>``), if loaded."""
    return req.registry.parts.get(f"paymethod.edit.{module[2:]}") if module else None


def _settings(req, elid):
    return {name: (value, private) for name, value, private in req.db.execute(
        "SELECT name, value, private FROM paymethod_param WHERE paymethod = ? ORDER BY name", (elid,))}


def _view(req, stored, settings):
    unit = iso_currency(stored["currency"])
    fields = [("elid", req.elid)] if req.elid else []
    for name in _STORED:
        value = stored[name]
        if name in _FLAGS:
            value = "on" if value else "off"
        elif name in _AMOUNTS:
            value = "" if value is None else text.show(Money(value, unit))
        fields.append((name, "" if value is None else str(value)))
    form = _module_form(req, stored["module"])
    names = list(settings) + [f.name for f in (form.fields if form else ()) if f.name not in settings]
    for name in names:
        value, private = settings.get(name, ("", False))
        fields.append((name, (SET if value else "") if private else value))
    projects = [("", req.msg("all_projects"))] + [
        (str(i), n) for i, n in req.db.execute("SELECT id, name FROM project ORDER BY id")]
    return Doc.form(fields, [("currency", enabled_choices(req.db, req.lang)), ("project", projects)])


def _defaults(req):
    project_currency = req.db.execute("SELECT currency FROM project WHERE id = 1").fetchone()
    return {"name": "", "name_ru": "", "currency": project_currency[0] if project_currency else 643,
            "project": None, "commission": "0", "minamount": None, "maxamount": None, "allowrefund": 0,
            "active": 1, "module": "", "note": ""}


def _given(req, stored):
    """The stored fields the call changes, checked and converted."""
    values = {name: req.params.get(name) for name in _STORED if name in req.params}
    for name in _FLAGS:
        if name in values:
            values[name] = 1 if values[name] == "on" else 0
    if "currency" in values:
        values["currency"] = known(req.db, values["currency"])
    if "project" in values:
        values["project"] = int(values["project"]) if values["project"] else None
        if values["project"] is not None and not req.db.execute(
                "SELECT 1 FROM project WHERE id = ?", (values["project"],)).fetchone():
            raise errors.missed("project", values["project"])
    if "commission" in values:
        values["commission"] = values["commission"] or "0"
        if not _PERCENT.fullmatch(values["commission"]):
            raise errors.value("commission", values["commission"])
        values["commission"] = values["commission"].replace(",", ".")
    if values.get("module"):
        if not _MODULE.fullmatch(values["module"]):
            raise errors.value("module", values["module"])
        if req.paymodules.get(values["module"]) is None:
            raise errors.MgrError("value", "module", values["module"], "msg_error_paymethod_module")
    values.update(_amounts(req, stored, values))
    return values


def _amounts(req, stored, values):
    """Minimum and maximum in the method's (possibly new) currency: given ones parsed, kept ones re-read."""
    old, new = iso_currency(stored["currency"]), iso_currency(values.get("currency", stored["currency"]))
    result = {}
    for name in _AMOUNTS:
        given = name in values
        source = values[name] if given else (   # a kept amount means the same number in the new currency
            None if stored[name] is None else format(Money(stored[name], old).amount.normalize(), "f"))
        if not source:
            result[name] = None
            continue
        try:
            amount = text.parse(source, new)
        except InvalidValue:
            raise errors.value(name, source) from None
        if amount.minor < 0:
            raise errors.value(name, source)
        result[name] = amount.minor
    if None not in result.values() and result["minamount"] > result["maxamount"]:
        raise errors.MgrError("value", "maxamount", values.get("maxamount", ""), "msg_error_max_below_min")
    return result


def _save_settings(req, elid, module, creating):
    """The module's settings the call gives (a private one sent as *** is kept as it is)."""
    form = _module_form(req, module)
    for field in form.fields if form else ():
        if field.private and req.params.get(field.name) == SET:
            continue
        check_field(field, req.params, creating)
        if field.name in req.params:
            req.db.execute("INSERT INTO paymethod_param (paymethod, name, value, private) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (paymethod, name) DO UPDATE SET value = excluded.value, "
                           "private = excluded.private",
                           (elid, field.name, req.params.get(field.name), int(field.private)))


def _tuned(req, view, module):
    """The form as the module's ``pmtune`` changes it (defaults, choices); as it is when it declares none."""
    if not module.has("pmtune"):
        return view
    tuned = document.parse(etree.tostring(paymodules.command(
        req, module, "pmtune", paymodules.stdin(view, req.spec.name, req.lang))))
    return Doc.form(tuned.fields, tuned.slists or view.slists)


def _validate(req, elid, module):
    """The module's ``pmvalidate`` of the method as saved (private settings included): its error document
    refuses the edit, and since this runs inside the edit's transaction, nothing is kept."""
    if not module.has("pmvalidate"):
        return
    stored = _load(req, elid)
    fields = [("elid", str(elid)), *((name, "" if value is None else str(value)) for name, value in stored.items()),
              *((name, value) for name, (value, _) in _settings(req, elid).items())]
    paymodules.command(req, module, "pmvalidate", paymodules.stdin(Doc.form(fields), req.spec.name, req.lang))


def paymethod_edit(req):
    if not req.sok:
        if req.elid:
            stored, settings = _load(req, req.int_param("elid")), _settings(req, req.int_param("elid"))
        else:   # a new method: the module asked for shows its form
            module = req.params.get("module", "")
            stored, settings = {**_defaults(req), "module": module if req.paymodules.get(module) else ""}, {}
        module = req.paymodules.get(stored["module"])
        view = _view(req, stored, settings)
        return _tuned(req, view, module) if module else view
    stored = _load(req, req.int_param("elid")) if req.elid else _defaults(req)
    values = _given(req, stored)
    if req.elid:
        elid = req.int_param("elid")
        if values:
            rows.update(req.db, "paymethod", elid, values)
        if values.get("module", stored["module"]) != stored["module"]:
            req.db.execute("DELETE FROM paymethod_param WHERE paymethod = ?", (elid,))
    else:
        if not values.get("name"):
            raise errors.empty("name")
        row = {**stored, **values}
        elid = rows.insert(req.db, "paymethod", row)
    module = values.get("module", stored["module"])
    _save_settings(req, elid, module, creating=not req.elid or module != stored["module"])
    if module and req.paymodules.get(module):
        _validate(req, elid, req.paymodules.get(module))
    return Doc.success(id=elid) if not req.elid else Doc.success()


def paymethod_module(req):
    """The payment modules the plugin directory declares: what each one's config said, or why it is not
    offered (``problem``), with its file."""
    rows_ = [(m.name, m.source, req.msg("module_broken") if m.problem else req.msg("module_ok"),
              " ".join(sorted(m.features)), m.param("payment_script"), m.problem) for m in req.paymodules.all]
    return Doc.listing(("name", "file", "status", "features", "payment_script", "problem"), rows_,
                       len(rows_), 1, max(len(rows_), 1))


def paymethod_delete(req):
    """Deletes methods nothing refers to; one that payments use is refused (the database's constraint)."""
    for elid in req.params.ids():
        try:
            req.db.execute("DELETE FROM paymethod WHERE id = ?", (elid,))
        except req.store.IntegrityError:
            raise errors.MgrError("value", "elid", elid, "msg_error_paymethod_in_use") from None
