"""Unit and property tests for emulator.domain.cards (pure card / bank-account rules)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain import cards
from emulator.domain.cards import (
    DECLINE_CARD,
    DEFAULT_BANK_ACCOUNT,
    DEFAULT_POSTAL_CODE,
    DEFAULT_ROUTING_NUMBER,
    DEFAULT_SECURITY_CODE,
    DEFAULT_TEST_CARD,
    KNOWN_CARD_BRANDS,
    UNAVAILABLE_CARD,
    aba_routing_valid,
    bank_account_valid,
    card_brand,
    card_outcome,
    default_expiry,
    expiry_valid,
    luhn_valid,
    mask_bank_account,
    mask_card_number,
    mask_security_code,
    postal_code_valid,
    security_code_valid,
)

# No example database (no .hypothesis/ left behind) and no deadline (CI machines are busy).
quick = settings(database=None, deadline=None)

digit_strings = st.text(alphabet="0123456789", min_size=0, max_size=25)


def pad(prefix: str, length: int) -> str:
    """``prefix`` followed by zeros up to ``length`` digits."""
    assert len(prefix) <= length
    return prefix + "0" * (length - len(prefix))


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` Luhn-valid."""
    for candidate in "0123456789":
        if luhn_valid(payload + candidate):
            return candidate
    raise AssertionError("no Luhn check digit")  # pragma: no cover


# --------------------------------------------------------------------------- module surface


def test_all_is_exact_and_sorted() -> None:
    assert sorted(cards.__all__) == cards.__all__
    for name in cards.__all__:
        assert hasattr(cards, name), name


def test_every_known_brand_but_optima_has_a_rule_and_every_rule_a_known_brand() -> None:
    """Twilio's <Pay> docs give a number rule for each ValidCardTypes value but optima."""
    ruled = {brand for brand, _, _ in cards._BRAND_RULES}
    assert isinstance(KNOWN_CARD_BRANDS, frozenset)
    assert ruled <= KNOWN_CARD_BRANDS
    assert KNOWN_CARD_BRANDS - ruled == {"optima"}


# --------------------------------------------------------------------------- Luhn


@pytest.mark.parametrize(
    "number",
    [
        "0",
        "00",
        "18",
        "79927398713",
        "4242424242424242",
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "3530111333300000",
        "4000000000000002",
        "4000000000000119",
    ],
)
def test_luhn_valid(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "1",
        "79927398710",
        "79927398711",
        "4242424242424241",
        "4111111111111112",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        " 4242424242424242",
        "4242424242424242\n",
        "42424242424242a2",
        "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() is True, but not an ASCII digit
        "\u0661\u0668",  # ARABIC-INDIC "18"
    ],
)
def test_luhn_invalid(number: str) -> None:
    assert not luhn_valid(number)


@quick
@given(st.text(alphabet="0123456789", min_size=1, max_size=24))
def test_luhn_check_digit_always_exists(payload: str) -> None:
    assert luhn_valid(payload + luhn_check_digit(payload))


@quick
@given(st.text(alphabet="0123456789", min_size=1, max_size=24), st.data())
def test_luhn_detects_any_single_digit_change(payload: str, data: st.DataObject) -> None:
    number = payload + luhn_check_digit(payload)
    assert luhn_valid(number)
    index = data.draw(st.integers(min_value=0, max_value=len(number) - 1), label="index")
    new_digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[index]))
    changed = number[:index] + new_digit + number[index + 1 :]
    assert not luhn_valid(changed)


@quick
@given(digit_strings)
def test_luhn_leading_zeros_do_not_matter(number: str) -> None:
    if number:
        assert luhn_valid(number) == luhn_valid("000" + number)


# --------------------------------------------------------------------------- card brands


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        # real test numbers
        ("4242424242424242", "visa"),
        ("4111111111111111", "visa"),
        ("4222222222222", "visa"),
        ("4000000000000002", "visa"),
        ("5555555555554444", "mastercard"),
        ("5105105105105100", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("6011000990139424", "discover"),
        ("6445644564456445", "discover"),
        ("3530111333300000", "jcb"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners-club"),
        ("30569309025904", None),  # 305: not in Twilio's diners-club prefixes (300-304)
        ("6759649826438453", "maestro"),
        ("201400000000009", "enroute"),
    ],
)
def test_card_brand_real_test_numbers(number: str, brand: str) -> None:
    assert card_brand(number) == brand


# (prefix, brand, valid lengths): each prefix is checked at every length from 10 to 20.
BRAND_PREFIXES: list[tuple[str, str, set[int]]] = [
    ("4", "visa", {13, 15, 16, 19}),  # Twilio's table: 13, 15, 19; and its 16-digit test Visa
    ("49", "visa", {13, 15, 16, 19}),
    ("51", "mastercard", {16}),
    ("53", "mastercard", {16}),
    ("55", "mastercard", {16}),
    ("2221", "mastercard", {16}),
    ("2500", "mastercard", {16}),
    ("2720", "mastercard", {16}),
    ("34", "amex", {15}),
    ("37", "amex", {15}),
    ("6011", "discover", set(range(16, 20))),
    ("640", "discover", set(range(16, 20))),  # Twilio's table: "64", not only 644-649
    ("643", "discover", set(range(16, 20))),
    ("644", "discover", set(range(16, 20))),
    ("649", "discover", set(range(16, 20))),
    ("65", "discover", set(range(16, 20))),
    ("3528", "jcb", set(range(16, 20))),
    ("3550", "jcb", set(range(16, 20))),
    ("3589", "jcb", set(range(16, 20))),
    ("36", "diners-club", set(range(14, 20))),
    ("300", "diners-club", set(range(16, 20))),
    ("303", "diners-club", set(range(16, 20))),
    ("304", "diners-club", set(range(16, 20))),
    ("3095", "diners-club", set(range(16, 20))),
    ("38", "diners-club", set(range(16, 20))),
    ("39", "diners-club", set(range(16, 20))),
    ("2014", "enroute", {15}),
    ("2149", "enroute", {15}),
    ("50", "maestro", set(range(12, 20))),
    ("56", "maestro", set(range(12, 20))),
    ("57", "maestro", set(range(12, 20))),
    ("58", "maestro", set(range(12, 20))),
    ("6", "maestro", set(range(12, 20))),
    ("60", "maestro", set(range(12, 20))),
    ("6010", "maestro", set(range(12, 20))),
    ("6012", "maestro", set(range(12, 20))),
    ("63", "maestro", set(range(12, 20))),
    ("66", "maestro", set(range(12, 20))),
    ("67", "maestro", set(range(12, 20))),
]


@pytest.mark.parametrize(("prefix", "brand", "lengths"), BRAND_PREFIXES)
@pytest.mark.parametrize("length", range(10, 21))
def test_card_brand_prefix_and_length(
    prefix: str, brand: str, lengths: set[int], length: int
) -> None:
    expected = brand if length in lengths else None
    assert card_brand(pad(prefix, length)) == expected


@pytest.mark.parametrize(
    "number",
    [
        "4" * 12,  # visa too short
        "4" * 14,
        "4" * 17,
        "4" * 18,
        "4" * 20,
        pad("59", 16),  # 50/56-58 are maestro, 51-55 mastercard; 59 nothing
        pad("52", 15),  # mastercard 15/17
        pad("52", 17),
        pad("2220", 16),  # just outside the 2-series range
        pad("2721", 16),
        pad("22", 16),
        pad("28", 16),
        pad("2", 16),
        pad("2013", 15),
        pad("2015", 15),
        pad("2148", 15),
        pad("2150", 15),
        pad("2014", 16),  # enroute is exactly 15
        pad("34", 14),  # amex is exactly 15
        pad("34", 16),
        pad("37", 16),
        pad("35", 16),  # 35 outside 3528-3589
        pad("3527", 16),
        pad("3590", 16),
        pad("3528", 15),  # jcb too short
        pad("3528", 20),
        pad("305", 16),  # 305-309 outside Twilio's diners prefixes 300-304
        pad("306", 16),
        pad("309", 16),
        pad("3094", 16),
        pad("3096", 16),
        pad("300", 14),  # diners 14 digits only for 36
        pad("38", 15),
        pad("36", 13),
        pad("36", 20),
        pad("31", 16),
        pad("32", 16),
        pad("33", 16),
        pad("6011", 15),  # discover prefix, discover lengths only (not maestro)
        pad("6011", 12),
        pad("65", 15),
        pad("644", 20),
        pad("6", 11),  # maestro 12-19
        pad("6", 20),
        pad("50", 11),
        pad("1", 16),
        pad("7", 16),
        pad("8", 16),
        pad("9", 16),
        pad("0", 16),
    ],
)
def test_card_brand_none(number: str) -> None:
    assert card_brand(number) is None


@pytest.mark.parametrize(
    "number",
    [
        "",
        "4",
        "4242 4242 4242 4242",
        "4242-4242-4242-4242",
        "424242424242424x",
        " 4242424242424242",
        "\u0664" * 16,  # ARABIC-INDIC FOUR
    ],
)
def test_card_brand_rejects_non_digits(number: str) -> None:
    assert card_brand(number) is None


@quick
@given(st.text(max_size=25))
def test_card_brand_is_known_or_none(number: str) -> None:
    brand = card_brand(number)
    assert brand is None or (brand in KNOWN_CARD_BRANDS and brand != "optima")


@quick
@given(digit_strings)
def test_card_brand_only_for_card_lengths(number: str) -> None:
    if card_brand(number) is not None:
        assert 12 <= len(number) <= 19


@quick
@given(st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_card_brand_depends_on_prefix_not_on_tail(number: str) -> None:
    brand = card_brand(number)
    if brand is not None:
        # the brand rules never look past the first 4 digits
        assert card_brand(number[:4] + "9" * (len(number) - 4)) == brand


# --------------------------------------------------------------------------- expiry


TODAY = date(2025, 6, 15)


@pytest.mark.parametrize(
    "mmyy",
    ["0625", "0725", "1225", "0126", "0626", "1299", "0150"],
)
def test_expiry_valid(mmyy: str) -> None:
    assert expiry_valid(mmyy, TODAY)


@pytest.mark.parametrize(
    "mmyy",
    [
        "0525",  # last month
        "0125",
        "1224",  # last year
        "0624",
        "0600",
        "0000",  # month 00
        "0025",
        "0026",
        "1325",  # month 13
        "1326",
        "9926",
        "625",  # not 4 digits
        "06255",
        "062025",
        "06/25",
        "06-26",
        "",
        "ab26",
        "06 6",
        " 626",
        "\u0660\u0667\u0662\u0666",  # ARABIC-INDIC 0726
    ],
)
def test_expiry_invalid(mmyy: str) -> None:
    assert not expiry_valid(mmyy, TODAY)


@pytest.mark.parametrize(
    ("today", "mmyy", "expected"),
    [
        (date(2025, 6, 1), "0625", True),  # first day of the month
        (date(2025, 6, 30), "0625", True),  # last day of the month
        (date(2025, 7, 1), "0625", False),  # the day after
        (date(2025, 12, 31), "1225", True),
        (date(2026, 1, 1), "1225", False),
        (date(2026, 1, 1), "0126", True),
        (date(2024, 2, 29), "0224", True),
        (date(2024, 3, 1), "0224", False),
        (date(2000, 1, 1), "0100", True),
        (date(2099, 12, 31), "1299", True),
        (date(2100, 1, 1), "1299", False),  # years are 20YY, never 21YY
    ],
)
def test_expiry_edges(today: date, mmyy: str, expected: bool) -> None:
    assert expiry_valid(mmyy, today) is expected


@quick
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=99),
)
def test_expiry_matches_month_comparison(today: date, month: int, yy: int) -> None:
    mmyy = f"{month:02d}{yy:02d}"
    assert expiry_valid(mmyy, today) == ((2000 + yy, month) >= (today.year, today.month))


@quick
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 11, 30)))
def test_expiry_valid_through_end_of_month(today: date) -> None:
    mmyy = f"{today.month:02d}{today.year % 100:02d}"
    first_of_next = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    last_of_month = first_of_next - timedelta(days=1)
    assert expiry_valid(mmyy, today)
    assert expiry_valid(mmyy, today.replace(day=1))
    assert expiry_valid(mmyy, last_of_month)
    assert not expiry_valid(mmyy, first_of_next)


# --------------------------------------------------------------------------- security code


@pytest.mark.parametrize(
    ("code", "brand"),
    [
        ("123", "visa"),
        ("000", "visa"),
        ("999", "mastercard"),
        ("123", "discover"),
        ("123", "diners-club"),
        ("123", "jcb"),
        ("123", "maestro"),
        ("123", None),
        ("1234", "amex"),
        ("0000", "amex"),
    ],
)
def test_security_code_valid(code: str, brand: str | None) -> None:
    assert security_code_valid(code, brand)


@pytest.mark.parametrize(
    ("code", "brand"),
    [
        ("1234", "visa"),
        ("12", "visa"),
        ("", "visa"),
        ("123", "amex"),
        ("12345", "amex"),
        ("", "amex"),
        ("1234", None),
        ("12a", "visa"),
        ("12 ", "visa"),
        ("abcd", "amex"),
        ("\u0661\u0662\u0663", "visa"),  # ARABIC-INDIC 123
        ("-12", "visa"),
    ],
)
def test_security_code_invalid(code: str, brand: str | None) -> None:
    assert not security_code_valid(code, brand)


@quick
@given(st.text(alphabet="0123456789", max_size=6), st.sampled_from(sorted(KNOWN_CARD_BRANDS)))
def test_security_code_length_rule(code: str, brand: str) -> None:
    expected_length = 4 if brand == "amex" else 3
    assert security_code_valid(code, brand) == (len(code) == expected_length)


# --------------------------------------------------------------------------- postal code


@pytest.mark.parametrize(
    ("code", "min_length"),
    [
        ("94105", None),
        ("9", None),
        ("94105", 5),
        ("94105", 3),
        ("941051234", 9),
        ("SW1A1AA", None),
        ("k1a0b1", 6),
        ("94105", 0),
        ("1", -3),
    ],
)
def test_postal_code_valid(code: str, min_length: int | None) -> None:
    assert postal_code_valid(code, min_length)


@pytest.mark.parametrize(
    ("code", "min_length"),
    [
        ("", None),
        ("", 0),
        ("9410", 5),
        ("94105", 6),
        ("9", 2),
        ("941 05", None),
        ("94105-1234", None),
        ("SW1A 1AA", None),
        (" 94105", None),
        ("#", None),
        ("*94105", None),
        ("\u00e91234", None),  # non-ASCII letter
        ("\u0661\u0662\u0663", None),  # non-ASCII digits
    ],
)
def test_postal_code_invalid(code: str, min_length: int | None) -> None:
    assert not postal_code_valid(code, min_length)


@quick
@given(
    st.text(alphabet="0123456789ABCDEFabcdef", max_size=12),
    st.none() | st.integers(min_value=1, max_value=12),
)
def test_postal_code_length_rule(code: str, min_length: int | None) -> None:
    assert postal_code_valid(code, min_length) == (len(code) >= (min_length or 1))


# --------------------------------------------------------------------------- ABA routing


@pytest.mark.parametrize(
    "number",
    ["011000015", "021000021", "121000358", "121000248", "121181976", "026009593", "000000000"],
)
def test_aba_routing_valid(number: str) -> None:
    assert aba_routing_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "011000016",
        "021000022",
        "121000359",
        "123456789",
        "111111111",
        "12100035",  # 8 digits
        "1210003580",  # 10 digits
        "0121000358",
        "",
        "12100035x",
        "121-000-358",
        " 121000358",
        "121000358 ",
        "\u0661\u0662\u0661\u0660\u0660\u0660\u0663\u0665\u0668",  # ARABIC-INDIC digits
    ],
)
def test_aba_routing_invalid(number: str) -> None:
    assert not aba_routing_valid(number)


@quick
@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_aba_matches_checksum_formula(number: str) -> None:
    d = [int(c) for c in number]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]
    assert aba_routing_valid(number) == (total % 10 == 0)


@quick
@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.data())
def test_aba_detects_any_single_digit_change(payload: str, data: st.DataObject) -> None:
    number = next(payload + c for c in "0123456789" if aba_routing_valid(payload + c))
    index = data.draw(st.integers(min_value=0, max_value=8), label="index")
    new_digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != number[index]))
    assert not aba_routing_valid(number[:index] + new_digit + number[index + 1 :])


# --------------------------------------------------------------------------- bank account


@pytest.mark.parametrize(
    "number", ["1234", "0000", "508862392", "000123456789", "1" * 17, "12345678901234567"]
)
def test_bank_account_valid(number: str) -> None:
    assert bank_account_valid(number)


@pytest.mark.parametrize(
    "number",
    ["", "1", "123", "1" * 18, "12 34", "1234-5678", "abcd", "12345a", "\u0661\u0662\u0663\u0664"],
)
def test_bank_account_invalid(number: str) -> None:
    assert not bank_account_valid(number)


@quick
@given(st.text(alphabet="0123456789", max_size=25))
def test_bank_account_length_rule(number: str) -> None:
    assert bank_account_valid(number) == (4 <= len(number) <= 17)


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("4111111111111111", "xxxxxxxxxxxx1111"),  # the observed real payload
        ("4242424242424242", "xxxxxxxxxxxx4242"),
        ("378282246310005", "xxxxxxxxxxx0005"),
        ("4222222222222", "xxxxxxxxx2222"),
        ("", ""),
        ("4", "x"),
        ("42", "xx"),
        ("424", "xxx"),
        ("4242", "xxxx"),  # 4 digits: nothing revealed yet
        ("42424", "x2424"),
        ("424242", "xx4242"),
    ],
)
def test_mask_card_number(number: str, masked: str) -> None:
    assert mask_card_number(number) == masked


@pytest.mark.parametrize(
    ("code", "masked"), [("", ""), ("1", "x"), ("12", "xx"), ("123", "xxx"), ("1234", "xxxx")]
)
def test_mask_security_code(code: str, masked: str) -> None:
    assert mask_security_code(code) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("508862392", "*******92"),  # the example in Twilio's <Pay> docs
        ("000123456789", "**********89"),
        ("", ""),
        ("5", "*"),
        ("50", "**"),  # 2 digits: nothing revealed yet
        ("508", "*08"),
        ("5088", "**88"),
    ],
)
def test_mask_bank_account(number: str, masked: str) -> None:
    assert mask_bank_account(number) == masked


@quick
@given(digit_strings)
def test_mask_card_number_properties(number: str) -> None:
    masked = mask_card_number(number)
    assert len(masked) == len(number)
    visible = masked.lstrip("x")
    assert len(visible) <= 4
    assert number.endswith(visible)
    if len(number) <= 4:
        assert masked == "x" * len(number)
    else:
        assert masked == "x" * (len(number) - 4) + number[-4:]
    assert "-" not in masked


@quick
@given(digit_strings)
def test_mask_bank_account_properties(number: str) -> None:
    masked = mask_bank_account(number)
    assert len(masked) == len(number)
    visible = masked.lstrip("*")
    assert len(visible) <= 2
    assert number.endswith(visible)
    if len(number) <= 2:
        assert masked == "*" * len(number)
    else:
        assert masked == "*" * (len(number) - 2) + number[-2:]


@quick
@given(digit_strings)
def test_mask_security_code_reveals_nothing(code: str) -> None:
    assert mask_security_code(code) == "x" * len(code)


@quick
@given(digit_strings, digit_strings)
def test_card_masks_agree_when_last_four_agree(a: str, b: str) -> None:
    # masking depends only on the length and the last 4 digits (when there are more than 4)
    if len(a) == len(b) and (len(a) <= 4 or a[-4:] == b[-4:]):
        assert mask_card_number(a) == mask_card_number(b)


# --------------------------------------------------------------------------- magic cards


def test_magic_card_constants() -> None:
    assert DECLINE_CARD == "4000000000000002"
    assert UNAVAILABLE_CARD == "4000000000000119"
    for number in (DECLINE_CARD, UNAVAILABLE_CARD):
        assert luhn_valid(number)
        assert card_brand(number) == "visa"


@pytest.mark.parametrize(
    ("number", "outcome"),
    [
        (DECLINE_CARD, "declined"),
        (UNAVAILABLE_CARD, "unavailable"),
        (DEFAULT_TEST_CARD, "ok"),
        ("4111111111111111", "ok"),
        ("5555555555554444", "ok"),
        ("", "ok"),
        ("400000000000000", "ok"),  # a prefix of the decline card is not the decline card
        ("40000000000000021", "ok"),
    ],
)
def test_card_outcome(number: str, outcome: str) -> None:
    assert card_outcome(number) == outcome


@quick
@given(digit_strings)
def test_card_outcome_is_ok_for_other_numbers(number: str) -> None:
    outcome = card_outcome(number)
    assert outcome in {"ok", *cards.MAGIC_CARDS.values()}
    if number not in cards.MAGIC_CARDS:
        assert outcome == "ok"


# --------------------------------------------------------------------------- defaults


def test_default_values_are_valid() -> None:
    assert luhn_valid(DEFAULT_TEST_CARD)
    assert card_brand(DEFAULT_TEST_CARD) == "visa"
    assert card_outcome(DEFAULT_TEST_CARD) == "ok"
    assert security_code_valid(DEFAULT_SECURITY_CODE, card_brand(DEFAULT_TEST_CARD))
    assert postal_code_valid(DEFAULT_POSTAL_CODE, 5)
    assert aba_routing_valid(DEFAULT_ROUTING_NUMBER)
    assert bank_account_valid(DEFAULT_BANK_ACCOUNT)


def test_default_value_spellings() -> None:
    assert DEFAULT_TEST_CARD == "4242424242424242"
    assert DEFAULT_SECURITY_CODE == "123"
    assert DEFAULT_POSTAL_CODE == "94105"
    assert DEFAULT_ROUTING_NUMBER == "121000358"
    assert DEFAULT_BANK_ACCOUNT == "000123456789"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 6, 15), "1228"),
        (date(2025, 1, 1), "1228"),
        (date(2025, 12, 31), "1228"),
        (date(2000, 1, 1), "1203"),
        (date(2096, 5, 5), "1299"),
        (date(2097, 5, 5), "1200"),  # wraps like any MMYY
    ],
)
def test_default_expiry(today: date, expected: str) -> None:
    assert default_expiry(today) == expected


@quick
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2096, 12, 31)))
def test_default_expiry_is_valid_for_years(today: date) -> None:
    mmyy = default_expiry(today)
    assert len(mmyy) == 4
    assert mmyy.startswith("12")
    assert expiry_valid(mmyy, today)
    assert expiry_valid(mmyy, date(today.year + 3, 12, 31))
    assert not expiry_valid(mmyy, date(today.year + 4, 1, 1))
