"""Currencies come from ISO 4217 data, found by either code, with the minor units money needs."""

import pytest

from billmgr.billing.currency import Currency, currencies, currency
from billmgr.billing.errors import UnknownCurrency


@pytest.mark.parametrize("code, iso, numeric, minor_units", [
    ("RUB", "RUB", 643, 2), ("rub", "RUB", 643, 2), (" usd ", "USD", 840, 2), (978, "EUR", 978, 2),
    ("643", "RUB", 643, 2), ("JPY", "JPY", 392, 0), ("048", "BHD", 48, 3), ("KWD", "KWD", 414, 3),
    ("CLF", "CLF", 990, 4),
])
def test_a_currency_is_found_by_alphabetic_or_numeric_code(code, iso, numeric, minor_units):
    found = currency(code)
    assert (found.iso, found.numeric, found.minor_units) == (iso, numeric, minor_units)


def test_names_are_english_and_russian_and_the_symbol_defaults_to_the_code():
    rub = currency("RUB")
    assert (rub.name_en, rub.name_ru, rub.symbol) == ("Russian Ruble", "Российский рубль", "RUB")
    assert currency("USD").name_ru == "Доллар США"


def test_a_provider_symbol_does_not_make_another_currency():
    rub = currency("RUB")
    assert rub.with_symbol("₽").symbol == "₽"
    assert rub.with_symbol("₽") == rub and hash(rub.with_symbol("₽")) == hash(rub)


@pytest.mark.parametrize("code", ["XAU", "XXX", "ZZZ", "", "RU", 999, 0, "-643"])
def test_unknown_codes_and_currencies_without_minor_units_are_refused(code):
    with pytest.raises(UnknownCurrency):
        currency(code)


@pytest.mark.parametrize("code", [643.0, True, None, b"RUB"])
def test_a_code_is_text_or_an_integer(code):
    with pytest.raises(TypeError):
        currency(code)


def test_every_currency_is_found_by_both_its_codes():
    every = currencies()
    assert len(every) > 150 and {c.minor_units for c in every} == {0, 2, 3, 4}
    assert [c.iso for c in every] == sorted(c.iso for c in every)
    for one in every:
        assert currency(one.iso) is one and currency(one.numeric) is one and isinstance(one, Currency)
