"""Usage statistics: service.setstat (a module reports usage; ours), service.stat (a service's usage and
its charges) and service.statdaily (charge a day's usage, as the seed calls it)."""

from datetime import date

from .. import errors, history
from ..doc import Doc
from ..lists import localized_name, sql_list
from ..services import items, usage
from ..sqlmoney import shown
from ..validation import integer


def _service(req, name="item"):
    elid = req.int_param(name)
    if elid is None:
        raise errors.empty(name)
    return items.load(req.db, elid, req.caller.account if req.caller.is_client else None)


def service_setstat(req):
    item = _service(req)
    value = integer(req.params.get("value", ""))
    if value is None or value < 0:
        raise errors.value("value", req.params.get("value", ""))
    usage.record(req.context, item.id, usage.addon(req.db, item.id, req.params.get("addon", "")),
                 date.fromisoformat(req.params.get("statdate")), value)


def service_stat(req):
    item = _service(req, "elid")
    columns = {"statdate": "s.statdate", "addon": "s.addon", "name": localized_name(req.lang, "a"),
               "value": "s.value", "measure": "a.measure", "units": "coalesce(c.units, 0)",
               "amount": f"coalesce({shown('c.amount', 'cur.minor_units')}, '')"}
    return sql_list(req, "itemstat s JOIN pricelist a ON a.id = s.addon JOIN item i ON i.id = s.item "
                    "JOIN subaccount sa ON sa.id = i.subaccount JOIN currency cur ON cur.id = sa.currency "
                    "LEFT JOIN itemstat_charge c ON c.item = s.item AND c.addon = s.addon AND c.statdate = s.statdate",
                    columns, "s.statdate DESC, s.addon", where=["s.item = ?"], args=(item.id,))


def service_statdaily(req):
    item = _service(req)
    day = date.fromisoformat(req.params.get("statdate"))
    force = req.params.get("force") == "on"
    usage.charge_day(req.context, item.id, day, force)
    history.record(req.context, item.account, f"{item.intname} #{item.id}: statistics of {day} charged"
                   + (" again (force)" if force else ""))
    return Doc.success()
