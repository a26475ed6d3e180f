"""Services of every product type: the ``{type}`` family -- ``vds``, ``vds.edit``, ``v2.vds.order.param``
… for each type in the catalog, including types added later -- and service.prolong.

Ordering checks the tariff, period, data centre, OS template, recipe and
every ``addon_<id>`` against the catalog, prices the service (billing's
pricing, then discount and tax) and either charges and opens it now
(``skipbasket=on``) or puts it in the client's basket.  A repeated order
with the same ``remoteid`` answers the first one's service.  Changes that
need the outside world are recorded for the processing module
(``items.record``); its callbacks finish them.
"""

import re
import secrets

from .. import errors, history
from ..billing import periods, text
from ..billing.currency import currency as iso_currency
from ..billing.errors import InvalidValue
from ..doc import Cell, Doc
from ..lists import Filter, contains, equals, localized_name, sql_list
from ..modules import callbacks
from ..services import basket, items, lines, tariffs
from ..sqlmoney import shown
from ..validation import integer

_ADDON = re.compile(r"addon_([0-9]{1,18})")
_DOMAIN = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?")
_ADMIN_FIELDS = ("domain", "ip", "username", "serverid")
_OFFERS = {"datacenter": ("datacenter", "pricelist_datacenter"), "ostempl": ("ostemplate", "pricelist_ostemplate"),
           "recipe": ("recipe", "pricelist_recipe")}


def _itemtype(req):
    """(id, intname) of the product type the called family member acts on; unknown types are unknown functions."""
    row = req.db.execute("SELECT id, intname, clientdelete FROM itemtype WHERE intname = ?",
                         (req.spec.itemtype,)).fetchone()
    if row is None:
        raise errors.MgrError("func", req.spec.name, req.spec.name)
    return row


def _labels(req):
    return {"item_status": {str(s): Cell(req.msg(f"item_status_{s}"), (("orig", str(s)),)) for s in items.STATUSES}}


def service(req):
    """The services of one type: a client's own, or everyone's for staff (``account`` = "Name (email)")."""
    itemtype, _, _ = _itemtype(req)
    where, args = ["i.itemtype = ?", "i.parent IS NULL"], [itemtype]
    if req.caller.is_client:
        where.append("i.account = ?")
        args.append(req.caller.account)
    columns = {"id": "i.id", "domain": "i.domain", "pricelist": localized_name(req.lang, "p"), "period": "i.period",
               "cost": f"{shown('i.cost', 'c.minor_units')} || ' ' || c.iso", "item_status": "i.status",
               "service_status": "i.service_status", "createdate": "i.createdate", "opendate": "i.opendate",
               "expiredate": "i.expiredate", "autoprolong": "coalesce(CAST(i.autoprolong AS TEXT), '')",
               "ip": "i.ip", "datacenter": "coalesce(d.name, '')", "account": "a.name || ' (' || a.email || ')'",
               "account_id": "i.account", "remoteid": "coalesce(i.remoteid, '')"}
    return sql_list(req, "item i JOIN pricelist p ON p.id = i.pricelist JOIN account a ON a.id = i.account "
                    "JOIN subaccount s ON s.id = i.subaccount JOIN currency c ON c.id = s.currency "
                    "LEFT JOIN datacenter d ON d.id = i.datacenter", columns, "i.id",
                    filters={"status": equals("i.status"), "domain": contains("i.domain"),
                             "pricelist": equals("i.pricelist"), "id": equals("i.id"),
                             "account": Filter("a.name || ' (' || a.email || ')' = ?")},
                    where=where, args=args, labels=req.cached("labels", lambda: _labels(req)))


# -- ordering -----------------------------------------------------------------------------------------------

def _period(req, tariff, name):
    source = req.params.get(name)
    try:
        period = periods.period(source)
    except InvalidValue:
        raise errors.value(name, source or "") from None
    if period not in tariffs.sold_periods(req.db, tariff):
        raise lines.not_sold(name, period)
    return period


def _autoprolong(req, tariff):
    """The renewal period asked for: a period the tariff sells, or None for ``null`` / ``off`` / empty."""
    source = req.params.get("autoprolong", "")
    if source.strip().lower() in ("", "null", "off", "0"):
        return None
    return _period(req, tariff, "autoprolong")


def _offered(req, tariff, param):
    """The data centre / OS template / recipe ``param`` names (id or internal name), if the tariff offers it."""
    given = req.params.get(param, "").strip()
    table, link = _OFFERS[param]
    offered = [row for row in req.db.execute(
        f"SELECT o.id, o.intname FROM {table} o JOIN {link} l ON l.{table} = o.id WHERE l.pricelist = ? "
        "ORDER BY o.id", (tariff,))]
    if not given:
        return offered[0][0] if offered and param == "datacenter" else None
    chosen = next((id_ for id_, intname in offered if given in (str(id_), intname)), None)
    if chosen is None:
        raise errors.value(param, given)
    return chosen


def _domain(req, intname, account):
    given = req.params.get("domain", "").strip()
    if not given:
        return f"{intname}{account}-{secrets.token_hex(3)}.invalid"   # ours: never a name anyone owns
    if not _DOMAIN.fullmatch(given):
        raise errors.value("domain", given)
    return given.rstrip(".").lower()


def _addon_values(req, offered, defaults):
    """{add-on id: value} from the ``addon_<id>`` params, each checked against its add-on."""
    chosen = dict(defaults)
    for name, source in req.params.pairs:
        match = _ADDON.fullmatch(name)
        if match is None:
            continue
        addon = offered.get(int(match.group(1)))
        if addon is None:
            raise errors.value(name, source)
        value = _addon_value(addon, source)
        try:
            chosen[addon.id] = addon.check(value)
        except InvalidValue:
            raise errors.MgrError("value", name, source, "msg_error_addon_value") from None
    return chosen


def _addon_value(addon, source):
    """An add-on value as sent: a number, ``on``/``off`` for a boolean, an enumeration value's id or name."""
    text = source.strip()
    if addon.addontype == 1 and text.lower() in ("on", "off", "yes", "no"):
        return int(text.lower() in ("on", "yes"))
    number = integer(text)
    return number if number is not None else text


def _subaccount(req, account, project):
    """The client's subaccount at the tariff's provider: its active one, else one in the provider's currency."""
    found = req.db.execute("SELECT id, currency FROM subaccount WHERE account = ? AND project = ? "
                           "ORDER BY active DESC, id LIMIT 1", (account, project)).fetchone()
    if found:
        return found
    currency = req.db.execute("SELECT currency FROM project WHERE id = ?", (project,)).fetchone()[0]
    created = req.db.execute("INSERT INTO subaccount (account, project, currency, active) VALUES (?, ?, ?, 1) "
                             "RETURNING id", (account, project, currency)).fetchone()[0]
    return created, currency


def _tariff(req, itemtype, account):
    pricelist = req.int_param("pricelist")
    tariff = pricelist is not None and tariffs.load(req.db, pricelist)
    client_project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0]
    if not tariff or tariff.itemtype != itemtype or not tariff.active or tariff.project != client_project:
        raise errors.value("pricelist", req.params.get("pricelist", ""))
    if req.params.get("project") and req.int_param("project") != tariff.project:
        raise errors.value("project", req.params.get("project"))
    return tariff


def _ordered(req, item):
    """The reply to an order of ``item``: the service, and its basket while it waits there."""
    waiting = req.db.execute("SELECT l.billorder FROM billorder_line l JOIN billorder b ON b.id = l.billorder "
                             "WHERE l.item = ? AND l.operation = 'open' AND b.status = ?",
                             (item, basket.OPEN)).fetchone()
    reply = {"id": item, "service_id": item, "item.id": item}
    if waiting:
        reply["billorder.id"] = waiting[0]
    return Doc.success(**reply)


def _order_form(req, itemtype):
    choices = [(str(i), n) for i, n in req.db.execute(
        f"SELECT id, {localized_name(req.lang)} FROM pricelist WHERE itemtype = ? AND parent IS NULL "
        "AND active = 1 ORDER BY id", (itemtype,))]
    fields = [(name, req.params.get(name, "")) for name in ("pricelist", "datacenter", "order_period", "domain",
                                                            "autoprolong", "ostempl", "recipe", "remoteid")]
    return Doc.form(fields, [("pricelist", choices)])


def v2_service_order_param(req):
    itemtype, intname, _ = _itemtype(req)
    if not req.sok:
        return _order_form(req, itemtype)
    account = req.caller.account
    remoteid = req.params.get("remoteid", "").strip() or None
    if remoteid:
        first = req.db.execute("SELECT id FROM item WHERE account = ? AND remoteid = ?", (account, remoteid)).fetchone()
        if first:
            return _ordered(req, first[0])
    tariff = _tariff(req, itemtype, account)
    period = _period(req, tariff.id, "order_period" if "order_period" in req.params else "period")
    subaccount, currency = _subaccount(req, account, tariff.project)
    offered = tariffs.addons(req.context, tariff.id, period, iso_currency(currency), account)
    chosen = _addon_values(req, offered, {addon.id: addon.default() for addon in offered.values()})
    values = {"account": account, "subaccount": subaccount, "pricelist": tariff.id, "itemtype": itemtype,
              "period": period, "autoprolong": _autoprolong(req, tariff.id), "createdate": req.clock.stamp(),
              "domain": _domain(req, intname, account), "datacenter": _offered(req, tariff.id, "datacenter"),
              "ostemplate": _offered(req, tariff.id, "ostempl"), "recipe": _offered(req, tariff.id, "recipe"),
              "processingmodule": tariff.processingmodule, "remoteid": remoteid}
    item_id = req.db.execute(f"INSERT INTO item ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) "
                             "RETURNING id", tuple(values.values())).fetchone()[0]
    item = items.load(req.db, item_id)
    for addon, value in chosen.items():
        lines.add_child(req.context, item, addon, value)
    line = lines.opening(req.context, item, period)
    items.update(req.context, item_id, cost=line.quote.price.minor)
    history.record(req.context, account, f"{intname} #{item_id} ordered: tariff #{tariff.id}, period {period}")
    if req.params.get("skipbasket") == "on":
        lines.carry_out(req.context, line)
    else:
        basket.add(req.context, item, line)
    return _ordered(req, item_id)


service_order_param = v2_service_order_param


# -- life cycle ---------------------------------------------------------------------------------------------

def _own(req, elid=None, intname=None):
    """The service ``elid`` within the caller's reach: a client's own, any for staff."""
    item = req.int_param("elid") if elid is None else elid
    if item is None:
        raise errors.empty("elid")
    return items.load(req.db, item, req.caller.account if req.caller.is_client else None, intname)


def _alive(item):
    if item.status == items.DELETED:
        raise errors.MgrError("value", "elid", str(item.id), "msg_error_item_deleted")
    if item.status == items.ORDERED:
        raise errors.MgrError("value", "elid", str(item.id), "msg_error_item_not_paid")


def service_prolong(req):
    item = _own(req)
    if not req.sok:
        return Doc.form([("elid", str(item.id)), ("period", str(item.period)), ("expiredate", item.expiredate or "")],
                        [("period", [(str(p), str(p)) for p in sorted(tariffs.sold_periods(req.db, item.pricelist))])])
    _alive(item)
    period = _period(req, item.pricelist, "period")
    line = lines.renewal(req.context, item, period)
    history.record(req.context, item.account, f"{item.intname} #{item.id} prolonged by {period}")
    if req.params.get("skipbasket") == "on":
        lines.carry_out(req.context, line)
        return Doc.success(id=item.id)
    return Doc.success(**{"billorder.id": basket.add(req.context, item, line), "id": item.id})


def _details(req, item):
    """The fields of ``item`` staff set: {name: shown value}."""
    row = req.db.execute("SELECT i.ip, i.username, i.serverid, coalesce(o.intname, ''), coalesce(r.intname, ''), "
                         "coalesce(d.intname, ''), i.service_status FROM item i "
                         "LEFT JOIN ostemplate o ON o.id = i.ostemplate LEFT JOIN recipe r ON r.id = i.recipe "
                         "LEFT JOIN datacenter d ON d.id = i.datacenter WHERE i.id = ?", (item.id,)).fetchone()
    return {"domain": item.domain, **dict(zip(("ip", "username", "serverid", "ostempl", "recipe", "datacenter"),
                                              row[:6])), "service_status": str(row[6])}


def _edit_form(req, item):
    fields = [("elid", str(item.id)), ("id", str(item.id)), ("pricelist", str(item.pricelist)),
              ("period", str(item.period)), ("autoprolong", "" if item.autoprolong is None else str(item.autoprolong)),
              ("status", str(item.status)), ("createdate", item.createdate), ("opendate", item.opendate or ""),
              ("expiredate", item.expiredate or ""), ("cost", text.show(item.cost)),
              ("processingmodule", item.processingmodule), *_details(req, item).items()]
    fields += [(f"addon_{addon}", "" if value is None else str(value))
               for addon, (_, value) in sorted(items.values(req.db, item.id).items())]
    return Doc.form(fields)


def service_edit(req):
    _itemtype(req)
    item = _own(req, intname=req.spec.itemtype)
    if not req.sok:
        return _edit_form(req, item)
    _check_admin_fields(req, item)
    changes = {}
    if "autoprolong" in req.params:
        changes["autoprolong"] = _autoprolong(req, item.pricelist)
    if not req.caller.is_client:
        changes.update(_admin_changes(req, item))
    if changes:
        items.update(req.context, item.id, **changes)
        shown = ", ".join(f"{name} {'off' if value is None else value}" for name, value in changes.items())
        history.record(req.context, item.account, f"{item.intname} #{item.id}: {shown}")
    billorder = _change_addons(req, item)
    return Doc.success(**({"billorder.id": billorder} if billorder else {}))


def _check_admin_fields(req, item):
    """A client may send the staff-only fields back unchanged (a form does), never change them."""
    if not req.caller.is_client:
        return
    current = _details(req, item)
    for name in ("domain", *_ADMIN_FIELDS, "ostempl", "recipe", "userpassword"):
        if name in req.params and req.params.get(name) != current.get(name):
            raise errors.access(f"{req.spec.name}: {name}")


def _admin_changes(req, item):
    changes = {name: req.params.get(name).strip() for name in _ADMIN_FIELDS if name in req.params}
    if "domain" in changes:
        if not _DOMAIN.fullmatch(changes["domain"]):
            raise errors.value("domain", changes["domain"])
        changes["domain"] = changes["domain"].rstrip(".").lower()
    for param, column in (("ostempl", "ostemplate"), ("recipe", "recipe")):
        if req.params.get(param):
            changes[column] = _offered(req, item.pricelist, param)
    if "userpassword" in req.params:     # kept encrypted, as a module keeps its crypted params
        items.save_param(req.context, item.id, "userpassword", req.params.get("userpassword") or None, secret=True)
    return changes


def _change_addons(req, item):
    """Each ``addon_<id>`` the call changes: charged (or returned) pro rata now with ``skipbasket=on`` or
    when it costs nothing; else put in the basket.  The basket's id when one was used."""
    if not any(_ADDON.fullmatch(name) for name, _ in req.params.pairs):
        return None
    if item.status in (items.DELETED, items.ORDERED):
        _alive(item)
    offered = tariffs.addons(req.context, item.pricelist, item.period, item.cost.currency, item.account)
    held = {addon: value for addon, (_, value) in items.values(req.db, item.id).items()}
    billorder = None
    for addon, value in _addon_values(req, offered, {}).items():
        if held.get(addon) == value:
            continue
        line = lines.addon_change(req.context, item, addon, value)
        if req.params.get("skipbasket") == "on" or line.quote.amount.minor <= 0:
            lines.carry_out(req.context, line)
        else:
            billorder = basket.add(req.context, item, line)
        item = items.load(req.db, item.id)
    return billorder


def service_delete(req):
    _, intname, clientdelete = _itemtype(req)
    for elid in req.params.ids():
        item = _own(req, elid, intname)
        if req.caller.is_client and not clientdelete:
            raise errors.MgrError("access", req.spec.name, str(elid), "msg_error_item_client_delete")
        if item.status == items.DELETED:
            raise errors.MgrError("value", "elid", str(elid), "msg_error_item_deleted")
        if item.status == items.ORDERED:   # never paid, never opened: nothing outside to close
            req.db.execute("DELETE FROM billorder_line WHERE item = ?", (elid,))
            items.update(req.context, elid, status=items.DELETED, deletedate=req.clock.stamp())
        else:
            items.update(req.context, elid, status=items.PROCESSING)
            items.record(req.context, elid, "close")
        history.record(req.context, item.account, f"{intname} #{elid} deleted")


def _mover(command, wanted, **columns):
    def handler(req):
        _, intname, _ = _itemtype(req)
        for elid in req.params.ids():
            item = _own(req, elid, intname)
            if item.status != wanted:
                raise errors.MgrError("value", "elid", str(elid), "msg_error_item_status")
            values = {name: (req.clock.stamp() if value == "now" else value) for name, value in columns.items()}
            items.update(req.context, elid, status=items.PROCESSING, **values)
            items.record(req.context, elid, command)
            history.record(req.context, item.account, f"{intname} #{elid}: {command}")
    handler.__doc__ = f"{{type}}.{command}: each service asks its module to {command} (status 5 until it answers)."
    return handler


service_suspend = _mover("suspend", items.ACTIVE, suspenddate="now", autosuspend=0)
service_resume = _mover("resume", items.SUSPENDED)


def service_open(req):
    """``<type>.open elid sok=ok``: a module reports the service open (the same as service.postopen)."""
    _, intname, _ = _itemtype(req)
    if req.sok:
        for elid in req.params.ids():
            items.load(req.db, elid, intname=intname)
            callbacks.opened(req.context, elid)
        return Doc.success()
    return _edit_form(req, _own(req, intname=intname))
