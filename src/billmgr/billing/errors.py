"""The faults of the money rules, as plain exceptions.

Billing has no I/O and knows nothing of callers, so it raises these and the
handlers turn them into ``MgrError`` replies: ``InvalidValue`` into a
``value`` error naming the parameter, the others by what the handler was
doing.  Each is also a standard exception, so generic code still catches it.
"""


class MoneyError(Exception):
    """Any fault of the money rules."""


class InvalidValue(MoneyError, ValueError):
    """An amount, rate, percent or period that a caller sent and the rules refuse."""


class UnknownCurrency(MoneyError, LookupError):
    """A code that is no ISO 4217 currency with minor units."""


class CurrencyMismatch(MoneyError):
    """Arithmetic or comparison between two currencies: never silently converted."""


class NoRate(MoneyError, LookupError):
    """No rate converts between two currencies at a moment: never treated as 1:1."""
