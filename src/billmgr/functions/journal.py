"""The ledger as staff see it: ledger.check proves every balance equals its journal and every
payment and expense agrees with its distributions."""

from itertools import chain

from .. import distribution, ledger
from ..doc import Doc


def ledger_check(req):
    """One row per problem (none: the ledger is sound), the same check as ``billmgrd check``."""
    problems = [[problem] for problem in chain(ledger.consistency(req.db), distribution.consistency(req.db))]
    return Doc.listing(req.spec.column_names, problems, len(problems), 1, max(len(problems), 1))
