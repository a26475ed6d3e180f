"""Tax rules: account.taxrule, account.taxrule.edit, account.taxrule.delete.

A rule is a provider's: a rate (an exact non-negative percent), whether tax
is included in prices (the default) or added on top, optionally only for
some product types (``specialitemtype=on`` and ``itemtype``), and a scope:
one client (``plid``), a client group, a country with or without a state, or
none (the provider's default).  Called with ``plid`` the functions are a
client's own rules; without it, every rule.  Which rule applies to a charge
is ``rules.tax_rule``.
"""

from .. import directory, errors, history
from ..billing import text
from ..billing.errors import InvalidValue
from ..doc import Cell, Doc
from ..lists import sql_list
from ..store import rows
from ..validation import integer
from .discount import ITEMTYPE
from .owner import existing_account

FIELDS = ("project", "taxrate", "included", "specialitemtype", "itemtype", "country", "state", "accountgroup")
LEVELS = ("default", "country", "state", "group", "client")   # by specificity, as billing.tax ranks them


def _labels(req):
    return {"type": {str(i): Cell(req.msg(f"type_{name}"), (("orig", name),)) for i, name in enumerate(LEVELS)}}


def account_taxrule(req):
    plid = req.int_param("plid")
    account = existing_account(req, "plid") if plid is not None else None
    level = ("CASE WHEN t.account IS NOT NULL THEN 4 WHEN t.accountgroup IS NOT NULL THEN 3 "
             "WHEN t.state IS NOT NULL THEN 2 WHEN t.country IS NOT NULL THEN 1 ELSE 0 END")
    columns = {"id": "t.id", "type": level, "project": "p.name", "company": "''",
               "country": "coalesce(CAST(t.country AS TEXT), '')", "state": "coalesce(s.code, '')",
               "taxrate": "t.taxrate", "itemtype": "coalesce(t.itemtypes, '')"}
    return sql_list(req, "taxrule t JOIN project p ON p.id = t.project LEFT JOIN state s ON s.id = t.state",
                    columns, "t.id", where=["t.account = ?"] if account else [], args=(account,) if account else (),
                    labels=req.cached("labels", lambda: _labels(req)))


def _load(req, elid):
    row = req.db.execute("SELECT account, project, taxrate, included, itemtypes, country, state, accountgroup "
                         "FROM taxrule WHERE id = ?", (elid,)).fetchone()
    plid = req.int_param("plid")
    if row is None or (plid is not None and row[0] != plid):
        raise errors.missed("taxrule", elid)
    account, project, taxrate, included, itemtypes, country, state, group = row
    return account, _form(project, taxrate, included, itemtypes, country, state, group)


def _form(project, taxrate, included, itemtypes, country, state, group):
    def shown(value):
        return "" if value is None else str(value)
    return {"project": shown(project), "taxrate": taxrate, "included": "on" if included else "off",
            "specialitemtype": "on" if itemtypes else "off", "itemtype": itemtypes or "", "country": shown(country),
            "state": shown(state), "accountgroup": shown(group)}


def _defaults(req, account):
    project = req.db.execute("SELECT project FROM account WHERE id = ?", (account,)).fetchone()[0] if account else 1
    return _form(project, "", 1, None, None, None, None)


def _columns(req, form):
    """The form's texts checked and converted to columns."""
    project = integer(form["project"])
    if project is None or not req.db.execute("SELECT 1 FROM project WHERE id = ?", (project,)).fetchone():
        raise errors.missed("project", form["project"])
    if not form["taxrate"]:
        raise errors.empty("taxrate")
    try:
        taxrate = text.show_decimal(text.parse_decimal(form["taxrate"], whole=3, places=4))
    except InvalidValue:
        raise errors.value("taxrate", form["taxrate"]) from None
    itemtypes = None
    if form["specialitemtype"] == "on":
        names = sorted({name.strip() for name in form["itemtype"].split(",") if name.strip()})
        if not names:
            raise errors.empty("itemtype")
        if not all(ITEMTYPE.fullmatch(name) for name in names):
            raise errors.value("itemtype", form["itemtype"])
        itemtypes = ",".join(names)
    country = directory.country_id(form["country"]) if form["country"] else None
    if form["country"] and country is None:
        raise errors.value("country", form["country"])
    state = None
    if form["state"]:
        state = directory.state_id(req.db, form["state"], country)
        if state is None:
            raise errors.value("state", form["state"])
        country = req.db.execute("SELECT country FROM state WHERE id = ?", (state,)).fetchone()[0]
    group = integer(form["accountgroup"]) if form["accountgroup"] else None
    if form["accountgroup"] and (group is None or not req.db.execute(
            "SELECT 1 FROM accountgroup WHERE id = ?", (group,)).fetchone()):
        raise errors.missed("accountgroup", form["accountgroup"])
    return {"project": project, "taxrate": taxrate, "included": int(form["included"] == "on"),
            "itemtypes": itemtypes, "country": country, "state": state, "accountgroup": group}


def account_taxrule_edit(req):
    elid = req.int_param("elid")
    if elid:
        account, stored = _load(req, elid)
    else:
        account = existing_account(req, "plid") if req.int_param("plid") is not None else None
        stored = _defaults(req, account)
    if not req.sok:
        projects = [(str(i), n) for i, n in req.db.execute("SELECT id, name FROM project ORDER BY id")]
        return Doc.form(([("elid", str(elid))] if elid else []) + list(stored.items()),
                        [("project", projects), ("country", directory.countries(req.lang))])
    row = _columns(req, {**stored, **{name: req.params.get(name) for name in FIELDS if name in req.params}})
    after = _form(row["project"], row["taxrate"], row["included"], row["itemtypes"], row["country"], row["state"],
                  row["accountgroup"])
    if elid:
        rows.update(req.db, "taxrule", elid, row)
        changes = history.describe_changes(stored, after)
        if account and changes:
            history.record(req.context, account, f"tax rule #{elid}: {changes}")
        return Doc.success()
    row["account"] = account
    elid = rows.insert(req.db, "taxrule", row)
    if account:
        history.record(req.context, account, f"tax rule #{elid}: created, {row['taxrate']}%")
    return Doc.success(id=elid)


def account_taxrule_delete(req):
    plid = req.int_param("plid")
    for elid in req.params.ids():
        found = req.db.execute("SELECT account FROM taxrule WHERE id = ?", (elid,)).fetchone()
        if found is None or (plid is not None and found[0] != plid):
            raise errors.missed("taxrule", elid)
        req.db.execute("DELETE FROM taxrule WHERE id = ?", (elid,))
        if found[0]:
            history.record(req.context, found[0], f"tax rule #{elid}: deleted")
