"""Reference directories: countries by their ISO 3166-1 numeric code."""

import gettext
from functools import lru_cache

import pycountry


@lru_cache(maxsize=None)
def _translate(lang):
    if lang == "en":
        return lambda text: text
    try:
        return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]).gettext
    except OSError:
        return lambda text: text


def country(code):
    """The country with numeric ``code`` (e.g. 643), or None."""
    return pycountry.countries.get(numeric=str(code).zfill(3)) if str(code).isdigit() else None


@lru_cache(maxsize=None)
def countries(lang):
    """(id, name) of every country, sorted by name in ``lang``."""
    name = _translate(lang)
    return sorted(((str(int(c.numeric)), name(c.name)) for c in pycountry.countries),
                  key=lambda pair: pair[1])
