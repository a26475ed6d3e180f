"""What processing modules call back: service.postopen and the other post-commands, service.setstatus,
service.setexpiredate, service.saveparam and service.changepricelist.rollback.

Each moves the item as modules/callbacks.py says and answers ``<ok/>`` with ``tparams``; several
``elid`` (``elid=1,2``) move several items in the one transaction.
"""

from .. import errors
from ..modules import callbacks
from ..services import items


def _each(req, move):
    ids = req.params.ids()
    if not ids:
        raise errors.empty("elid")
    for elid in ids:
        move(req.context, elid)


def service_postopen(req):
    _each(req, callbacks.opened)


def service_postsuspend(req):
    _each(req, callbacks.suspended)


def service_postresume(req):
    _each(req, callbacks.resumed)


def service_postclose(req):
    _each(req, callbacks.closed)


def service_postsetparam(req):
    _each(req, callbacks.param_set)


def service_postprolong(req):
    _each(req, callbacks.prolonged)


def service_changepricelist_rollback(req):
    _each(req, callbacks.pricelist_rolled_back)


def _item(req):
    elid = req.int_param("elid")
    if elid is None:
        raise errors.empty("elid")
    if not req.db.execute("SELECT 1 FROM item WHERE id = ?", (elid,)).fetchone():
        raise errors.missed("item", elid)
    return elid


def service_setstatus(req):
    """The module's own sub-status of the service (``service_status``), never the item's status."""
    req.db.execute("UPDATE item SET service_status = ? WHERE id = ?", (req.int_param("service_status"), _item(req)))


def service_setexpiredate(req):
    req.db.execute("UPDATE item SET expiredate = ? WHERE id = ?", (req.params.get("expiredate"), _item(req)))


def service_saveparam(req):
    """Keep (or, without ``value``, drop) one param of the service; ``crypted=on`` keeps it encrypted."""
    items.save_param(req.context, _item(req), req.params.get("name"), req.params.get("value"),
                     req.params.get("crypted") == "on")
