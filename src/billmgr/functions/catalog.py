"""The catalog's small named tables: product types, data centres, OS templates, recipes.

Each row has a name (and its Russian form) and an internal name, unique in
its table, that modules and order calls use.  One ``Named`` describes a
table and yields its list, form and delete handlers, so the four behave
alike; a product type adds its auto-deletion period and whether clients may
delete their services.  Deleting a row something still uses (a product type
a tariff has) is refused; a data centre, template or recipe a tariff offers
is simply no longer offered.
"""

import re

from .. import errors
from ..doc import Doc
from ..lists import contains, localized_name, sql_list
from ..registry import TYPE_NAME
from ..store import rows
from ..validation import integer

_INTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TYPE_NAME = re.compile(TYPE_NAME)   # no dot: it names the type's functions (vds.edit)
MAX_DAYS = 36500
DEFAULT_DAYS = 30   # (ours) a suspended service of a type is deleted this many days later unless set


class Named:
    def __init__(self, table, flags=(), days=(), intname=_INTNAME):
        self.table, self.flags, self.days, self.intname = table, tuple(flags), tuple(days), intname
        self.fields = ("name", "name_ru", "intname", *self.flags, *self.days)

    def listing(self, req):
        name = localized_name(req.lang, "t")
        columns = {"id": "t.id", "name": name, "intname": "t.intname", **{field: f"t.{field}" for field in self.days}}
        return sql_list(req, f"{self.table} t", columns, "t.id", filters={"name": contains(name),
                                                                          "intname": contains("t.intname")})

    def load(self, req, elid):
        row = req.db.execute(f"SELECT {', '.join(self.fields)} FROM {self.table} WHERE id = ?", (elid,)).fetchone()
        if row is None:
            raise errors.missed(self.table, elid)
        return dict(zip(self.fields, row))

    def _given(self, req):
        values = {name: req.params.get(name) for name in self.fields if name in req.params}
        for name in self.flags:
            if name in values:
                values[name] = 1 if values[name] == "on" else 0
        for name in self.days:
            if name in values:
                number = integer(values[name].strip())
                if number is None or number > MAX_DAYS:
                    raise errors.value(name, values[name])
                values[name] = number
        for name in ("name", "intname"):
            if name in values and not values[name]:
                raise errors.empty(name)
        if "intname" in values and not self.intname.fullmatch(values["intname"]):
            raise errors.value("intname", values["intname"])
        return values

    def edit(self, req):
        elid = req.int_param("elid")
        stored = self.load(req, elid) if elid else {name: DEFAULT_DAYS if name in self.days else ""
                                                    for name in self.fields}
        if not req.sok:
            shown = [("elid", str(elid))] if elid else []
            for name in self.fields:
                value = stored[name]
                if name in self.flags:
                    value = "on" if value else "off"
                shown.append((name, str(value)))
            return Doc.form(shown)
        values = self._given(req)
        intname = values.get("intname", stored["intname"])
        if req.db.execute(f"SELECT 1 FROM {self.table} WHERE intname = ? AND id != ?",
                          (intname, elid or 0)).fetchone():
            raise errors.exists(self.table, intname)
        if elid:
            rows.update(req.db, self.table, elid, values)
            return Doc.success()
        for name in ("name", "intname"):
            if not values.get(name):
                raise errors.empty(name)
        return Doc.success(id=rows.insert(req.db, self.table, values))

    def delete(self, req):
        for elid in req.params.ids():
            try:
                req.db.execute(f"DELETE FROM {self.table} WHERE id = ?", (elid,))
            except req.store.IntegrityError:
                raise errors.MgrError("value", "elid", elid, "msg_error_catalog_in_use") from None


ITEMTYPE = Named("itemtype", flags=("clientdelete",), days=("autodeleteperiod",), intname=_TYPE_NAME)
DATACENTER = Named("datacenter")
OSTEMPLATE = Named("ostemplate")
RECIPE = Named("recipe")

itemtype, itemtype_edit, itemtype_delete = ITEMTYPE.listing, ITEMTYPE.edit, ITEMTYPE.delete
datacenter, datacenter_edit, datacenter_delete = DATACENTER.listing, DATACENTER.edit, DATACENTER.delete
ostemplate, ostemplate_edit, ostemplate_delete = OSTEMPLATE.listing, OSTEMPLATE.edit, OSTEMPLATE.delete
recipe, recipe_edit, recipe_delete = RECIPE.listing, RECIPE.edit, RECIPE.delete
