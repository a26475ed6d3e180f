"""Request parameters: an ordered list of (name, value) pairs, repeats kept."""

from . import errors
from .validation import integer


class Params:
    __slots__ = ("pairs",)

    def __init__(self, pairs=()):
        self.pairs = [(str(k), "" if v is None else str(v)) for k, v in pairs]

    def get(self, name, default=None):
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def getall(self, name):
        return [value for key, value in self.pairs if key == name]

    def __contains__(self, name):
        return any(key == name for key, _ in self.pairs)

    def set(self, name, value):
        """Replace every value of ``name`` with one value, keeping its position."""
        kept, placed = [], False
        for key, old in self.pairs:
            if key != name:
                kept.append((key, old))
            elif not placed:
                kept.append((key, value))
                placed = True
        if not placed:
            kept.append((name, value))
        self.pairs = kept

    def ids(self, name="elid"):
        """The ids of a group action as ints: ``elid=1, 2`` or ``elid=1,2`` or repeated elid.

        A part that is not a whole number is a ``value`` error naming ``name``.
        """
        result = []
        for value in self.getall(name):
            for part in filter(None, (p.strip() for p in value.split(","))):
                number = integer(part)
                if number is None:
                    raise errors.value(name, part)
                result.append(number)
        return result
