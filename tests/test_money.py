"""Unit and property tests for emulator.domain.money (ISO 4217 table, ChargeAmount parsing)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.domain.money import (
    CURRENCY_DECIMALS,
    MAX_CHARGE,
    AmountError,
    parse_charge_amount,
    payment_error,
)

CURRENCIES = sorted(CURRENCY_DECIMALS)

# --- the currency table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "decimals"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("GBP", 2),
        ("CAD", 2),
        ("INR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("CLP", 0),
        ("VND", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("JOD", 3),
        ("OMR", 3),
        ("TND", 3),
        ("CLF", 4),
        ("UYW", 4),
    ],
)
def test_known_minor_units(code: str, decimals: int) -> None:
    assert CURRENCY_DECIMALS[code] == decimals


def test_codes_are_three_upper_case_letters() -> None:
    bad = [code for code in CURRENCY_DECIMALS if not re.fullmatch(r"[A-Z]{3}", code)]
    assert bad == []


def test_table_is_large() -> None:
    assert len(CURRENCY_DECIMALS) >= 150


def test_decimals_are_0_to_4() -> None:
    assert set(CURRENCY_DECIMALS.values()) == {0, 2, 3, 4}


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XTS", "XXX", "usd", "US", "XYZ"])
def test_non_payment_codes_absent(code: str) -> None:
    assert code not in CURRENCY_DECIMALS


def test_max_charge_is_one_million() -> None:
    assert Decimal(1_000_000) == MAX_CHARGE


# --- parse_charge_amount: examples --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("10.5", "USD", Decimal("10.5")),
        ("10.50", "USD", Decimal("10.5")),
        ("12.00", "USD", Decimal(12)),
        ("1", "USD", Decimal(1)),
        ("0.01", "USD", Decimal("0.01")),
        (".5", "USD", Decimal("0.5")),
        ("5.", "USD", Decimal(5)),
        (" 7.25 ", "USD", Decimal("7.25")),
        ("999999.99", "USD", Decimal("999999.99")),
        ("999999", "JPY", Decimal(999999)),
        ("100", "JPY", Decimal(100)),
        ("1.234", "KWD", Decimal("1.234")),
        ("0.001", "KWD", Decimal("0.001")),
        ("1.2345", "CLF", Decimal("1.2345")),
    ],
)
def test_parse_charge_amount(text: str, currency: str, expected: Decimal) -> None:
    assert parse_charge_amount(text, currency) == expected


@pytest.mark.parametrize("text", ["", "   ", "0", "0.0", "0.00", "000", ".0", "0."])
@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
def test_blank_or_zero_means_tokenize(text: str, currency: str) -> None:
    assert parse_charge_amount(text, currency) is None


@pytest.mark.parametrize(
    ("text", "currency", "why"),
    [
        ("-1", "USD", "negative"),
        ("-0.01", "USD", "negative"),
        ("-100", "JPY", "negative"),
        ("1000000", "USD", "1,000,000"),
        ("1000000.00", "USD", "1,000,000"),
        ("12345678", "JPY", "1,000,000"),
        ("12.345", "USD", "decimals"),
        ("0.001", "USD", "decimals"),
        ("1.5", "JPY", "decimals"),
        ("1.2345", "KWD", "decimals"),
        ("1.23456", "CLF", "decimals"),
        ("abc", "USD", "not a number"),
        ("1e3", "USD", "not a number"),
        ("1E3", "USD", "not a number"),
        ("1,000", "USD", "not a number"),
        ("1 000", "USD", "not a number"),
        ("$5", "USD", "not a number"),
        ("+5", "USD", "not a number"),
        ("5-", "USD", "not a number"),
        ("1.2.3", "USD", "not a number"),
        (".", "USD", "not a number"),
        ("-", "USD", "not a number"),
        ("NaN", "USD", "not a number"),
        ("Infinity", "USD", "not a number"),
        ("0x10", "USD", "not a number"),
    ],
)
def test_parse_charge_amount_refused(text: str, currency: str, why: str) -> None:
    with pytest.raises(AmountError, match=re.escape(why)):
        parse_charge_amount(text, currency)


@pytest.mark.parametrize("text", ["\u0661\u0662", "\uff11\uff10.\uff15", "1\u0665"])
def test_non_ascii_digits_are_not_a_plain_number(text: str) -> None:
    with pytest.raises(AmountError, match="not a number"):
        parse_charge_amount(text, "USD")


def test_amount_error_is_a_value_error() -> None:
    assert issubclass(AmountError, ValueError)


# --- parse_charge_amount: properties ------------------------------------------------------


@st.composite
def amount_in_range(draw: st.DrawFn, extra_decimals: int = 0) -> tuple[str, Decimal, str]:
    """(currency, a positive amount below 1,000,000, its plain text).

    With ``extra_decimals`` 0 the amount has at most the currency's decimals; otherwise it has
    exactly that many more (its last digit is not 0).
    """
    currency = draw(st.sampled_from(CURRENCIES))
    places = CURRENCY_DECIMALS[currency] + extra_decimals
    scale = 10**places
    units = draw(st.integers(min_value=1, max_value=int(MAX_CHARGE) * scale - 1))
    if extra_decimals:
        units = units - units % 10 + draw(st.integers(min_value=1, max_value=9))
        if units >= int(MAX_CHARGE) * scale:
            units -= 10
    amount = Decimal(units).scaleb(-places)
    return currency, amount, format(amount, "f")


@given(amount_in_range())
def test_amounts_with_allowed_decimals_round_trip(case: tuple[str, Decimal, str]) -> None:
    currency, amount, text = case
    parsed = parse_charge_amount(text, currency)
    assert parsed == amount
    assert parsed is not None
    assert parsed > 0


@given(amount_in_range(), st.integers(min_value=1, max_value=3))
def test_trailing_zeros_do_not_count_as_decimals(
    case: tuple[str, Decimal, str], zeros: int
) -> None:
    currency, amount, text = case
    padded = text + ("0" * zeros if "." in text else "." + "0" * zeros)
    assert parse_charge_amount(padded, currency) == amount


@given(st.integers(min_value=1, max_value=3).flatmap(lambda n: amount_in_range(n)))
def test_amounts_with_too_many_decimals_are_refused(case: tuple[str, Decimal, str]) -> None:
    currency, _, text = case
    with pytest.raises(AmountError, match="decimals"):
        parse_charge_amount(text, currency)


@given(amount_in_range())
def test_negative_amounts_are_refused(case: tuple[str, Decimal, str]) -> None:
    currency, _, text = case
    with pytest.raises(AmountError, match="negative"):
        parse_charge_amount("-" + text, currency)


@given(st.sampled_from(CURRENCIES), st.integers(min_value=int(MAX_CHARGE), max_value=10**12))
def test_amounts_of_a_million_or_more_are_refused(currency: str, units: int) -> None:
    with pytest.raises(AmountError, match="1,000,000"):
        parse_charge_amount(str(units), currency)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("-0.59", Decimal("-0.59")), ("1000000", Decimal(1_000_000)), ("10.001", Decimal("10.001"))],
)
def test_an_amount_out_of_range_says_what_number_it_is(text: str, amount: Decimal) -> None:
    """What invalid_charge_amount=validation-error accepts: a number, only out of range."""
    with pytest.raises(AmountError) as info:
        parse_charge_amount(text, "USD")
    assert info.value.amount == amount
    with pytest.raises(AmountError) as info:
        parse_charge_amount("ten", "USD")
    assert info.value.amount is None


def test_payment_error_in_the_style_of_pay() -> None:
    """<Pay>'s PaymentError example, verbatim for its own value."""
    assert payment_error("-0.59") == (
        "paymentAmount='-0.59' (not a number between 0.00 - 1,000,000.00)"
    )
