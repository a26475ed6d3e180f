"""Amounts as callers type them and as billmgr shows them."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billmgr.billing.currency import currency
from billmgr.billing.errors import InvalidValue
from billmgr.billing.money import LIMIT, Money
from billmgr.billing.text import parse, parse_decimal, show, show_decimal, show_iso

RUB, JPY, BHD, KWD = currency("RUB"), currency("JPY"), currency("BHD"), currency("KWD")
EVERY_EXPONENT = [JPY, RUB, BHD, currency("CLF")]


@pytest.mark.parametrize("text, unit, minor", [
    ("12", RUB, 1200), ("12.5", RUB, 1250), ("12.50", RUB, 1250), ("12,50", RUB, 1250), ("-3.10", RUB, -310),
    ("  12.5\t", RUB, 1250), ("0", RUB, 0), ("-0", RUB, 0), ("0.01", RUB, 1), ("007", RUB, 700),
    ("1250", JPY, 1250), ("-7", JPY, -7), ("1.5", BHD, 1500), ("1,234", KWD, 1234), ("0.001", BHD, 1),
    ("92233720368547758.07", RUB, LIMIT), ("-92233720368547758.07", RUB, -LIMIT), ("9223372036854775807", JPY, LIMIT),
])
def test_what_parses(text, unit, minor):
    assert parse(text, unit) == Money(minor, unit)


@pytest.mark.parametrize("text, unit", [
    ("12.505", RUB), ("12.500", RUB), ("12.5", JPY), ("12.0", JPY), ("1.2345", BHD),  # more decimals than it has
    ("1e3", RUB), ("1E3", RUB), ("NaN", RUB), ("nan", RUB), ("Infinity", RUB), ("-inf", RUB),  # not plain digits
    ("1,234.56", RUB), ("1 234", RUB), ("1_000", RUB), ("1'000", RUB), ("1,234", RUB),  # thousands separators
    ("", RUB), ("   ", RUB), ("-", RUB), (".5", RUB), ("12.", RUB), ("+12", RUB), ("--1", RUB), ("12-", RUB),
    ("١٢", RUB), ("12 RUB", RUB), ("0x10", RUB),
    ("92233720368547758.08", RUB), ("9223372036854775808", JPY), ("9" * 30, RUB), ("1" * 5000, RUB),  # absurd
])
def test_what_is_refused(text, unit):
    with pytest.raises(InvalidValue):
        parse(text, unit)


@pytest.mark.parametrize("value", [12.5, 12, None, b"12"])
def test_only_text_is_parsed(value):
    with pytest.raises(TypeError):
        parse(value, RUB)


@pytest.mark.parametrize("money, data, iso", [
    (Money(1250, RUB), "12.50", "12.50 RUB"), (Money(-310, RUB), "-3.10", "-3.10 RUB"),
    (Money(5, RUB), "0.05", "0.05 RUB"), (Money(-5, RUB), "-0.05", "-0.05 RUB"), (Money(0, RUB), "0.00", "0.00 RUB"),
    (Money(1250, JPY), "1250", "1250 JPY"), (Money(-1, JPY), "-1", "-1 JPY"), (Money(0, JPY), "0", "0 JPY"),
    (Money(1, BHD), "0.001", "0.001 BHD"), (Money(12345, KWD), "12.345", "12.345 KWD"),
])
def test_display(money, data, iso):
    assert (show(money), show_iso(money)) == (data, iso)


@given(st.sampled_from(EVERY_EXPONENT), st.integers(-LIMIT, LIMIT), st.sampled_from(["", " ", "  \t"]))
def test_parsing_what_is_shown_gives_the_same_money(unit, minor, padding):
    money = Money(minor, unit)
    assert parse(padding + show(money) + padding, unit) == money
    assert parse(show(money).replace(".", ","), unit) == money
    assert show_iso(money) == f"{show(money)} {unit.iso}"


@pytest.mark.parametrize("text, shown", [
    ("18,5", "18.5"), ("20", "20"), ("100.000", "100"), ("0.0125", "0.0125"), ("007", "7"), (" 0 ", "0"),
    ("999999999999.0000000001", "999999999999.0000000001")])
def test_percents_and_rates_are_exact_and_shown_without_noise(text, shown):
    assert show_decimal(parse_decimal(text)) == shown


@pytest.mark.parametrize("text", ["", " ", "-1", "+1", "1e3", "NaN", "Infinity", "1.", ".5", "1,234.5", "1_0",
                                  "1000000000000", "1.12345678901", "\u0663"])
def test_anything_else_is_no_percent_or_rate(text):
    with pytest.raises(InvalidValue):
        parse_decimal(text)


def test_a_percent_has_its_own_bounds():
    assert parse_decimal("100.0001", whole=3, places=4) == parse_decimal("100.0001")
    with pytest.raises(InvalidValue):
        parse_decimal("1000", whole=3, places=4)


def test_a_number_is_parsed_from_text_only():
    with pytest.raises(TypeError):
        parse_decimal(5)
