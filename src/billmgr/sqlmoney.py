"""Amounts shown by SQL: integer minor units as ``12.50``, with integer arithmetic only.

List columns are SQL expressions (``lists.sql_list``), so an amount is
formatted in the query, exactly as ``billing.text.show`` formats it in
Python: no float, no ``printf``, only standard functions PostgreSQL has too.
"""

from .billing.currency import currencies

LARGEST_MINOR_UNITS = max(c.minor_units for c in currencies())


def _scale(minor_units):
    """10 ** minor_units, as a CASE (standard SQL has no integer power)."""
    whens = " ".join(f"WHEN {units} THEN {10 ** units}" for units in range(LARGEST_MINOR_UNITS + 1))
    return f"(CASE {minor_units} {whens} END)"


def shown(amount, minor_units):
    """An SQL expression showing the integer ``amount`` in a currency of ``minor_units`` decimals."""
    scale = _scale(minor_units)
    return (f"(CASE WHEN {amount} < 0 THEN '-' ELSE '' END || CAST(abs({amount}) / {scale} AS TEXT) || "
            f"CASE WHEN {minor_units} = 0 THEN '' "
            f"ELSE '.' || substr(CAST({scale} + abs({amount}) % {scale} AS TEXT), 2) END)")
