"""Money rules with no I/O: values and pure functions that the ledger, payments and
expenses build on.  Nothing here reads a clock, a file or a database, so every rule is
tested by itself and any store (SQLite now, PostgreSQL later) can use it.

- ``currency``   ISO 4217 currencies: codes, minor units, names
- ``money``      Money: integer minor units of one currency
- ``decimals``   the numbers money arithmetic accepts, and its precision
- ``rounding``   the one rounding rule (``fix``)
- ``text``       parsing and display of amounts
- ``tax``        tax rules and the tax in an amount
- ``conversion`` dated currency rates and conversion
- ``discounts``  which discount applies and how much
- ``periods``    period codes, expiry dates, pro-rata and daily prices
- ``errors``     the faults handlers turn into replies
"""
