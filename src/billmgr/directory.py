"""Reference directories: countries by their ISO 3166-1 numeric code."""

import gettext
from functools import lru_cache

import pycountry

from .validation import integer


@lru_cache(maxsize=None)
def _translate(lang):
    if lang == "en":
        return lambda text: text
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]).gettext
    except OSError:
        return lambda text: text


def country(code):
    """The country with numeric ``code`` (an int, e.g. 643), or None."""
    return pycountry.countries.get(numeric=f"{code:03d}") if 0 <= code <= 999 else None


def country_name(code, lang):
    """The name of the country with numeric ``code`` in ``lang``, or '' for none."""
    found = country(code) if code is not None else None
    return _translate(lang)(found.name) if found else ""


@lru_cache(maxsize=None)
def countries(lang):
    """(id, name) of every country, sorted by name in ``lang``."""
    name = _translate(lang)
    return sorted(((str(int(c.numeric)), name(c.name)) for c in pycountry.countries),
                  key=lambda pair: pair[1])


def country_id(text):
    """The numeric id of a country given by numeric, alpha-2 or alpha-3 code, or None."""
    text = (text or "").strip()
    found, number = None, integer(text)
    if number is not None:
        found = country(number)
    elif len(text) in (2, 3):
        found = pycountry.countries.get(**{f"alpha_{len(text)}": text.upper()})
    return int(found.numeric) if found else None


def state_id(db, text, country_code=None):
    """The id of a region given by id or ISO 3166-2 code (within the country, if given), or None."""
    text = (text or "").strip()
    number = integer(text)
    column = "id" if number is not None else "code"
    row = db.execute(f"SELECT id, country FROM state WHERE {column} = ?",
                     (text.upper() if number is None else number,)).fetchone()
    if row is None or (country_code is not None and row[1] != country_code):
        return None
    return row[0]
