"""Unit and property tests for emulator.domain.scripts (the simulated caller's scripts).

* CallerDefaults: the value of every item, the default expiry date;
* CallerScripts.value: script first, matchers repeat their base item, defaults behind, the
  four-digit security code of an amex card;
* CallerScripts.set / check_script: what a keypad can send, and error messages that never
  echo the rejected value (it may be a card number);
* CallerScripts.reset: back to the fixture scripts.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain import cards
from emulator.domain.scripts import (
    CallerDefaults,
    CallerScripts,
    InvalidScript,
    check_script,
)
from emulator.domain.vocabulary import (
    BANK_ITEMS,
    CALLER_MODES,
    CAPTURE_ITEMS,
    CARD_ITEMS,
    MATCHER_SUFFIX,
)

TODAY = date(2026, 6, 15)
FIXTURE_CALL = "CA" + "f" * 32
OTHER_CALL = "CA" + "e" * 32
UNSCRIPTED_CALL = "CA" + "d" * 32

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"

DEFAULT_VALUES = {
    "payment-card-number": cards.DEFAULT_TEST_CARD,
    "expiration-date": "1229",
    "security-code": cards.DEFAULT_SECURITY_CODE,
    "postal-code": cards.DEFAULT_POSTAL_CODE,
    "bank-routing-number": cards.DEFAULT_ROUTING_NUMBER,
    "bank-account-number": cards.DEFAULT_BANK_ACCOUNT,
}
KEYPAD = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ*#"


def scripts(**by_call: dict[str, str]) -> CallerScripts:
    fixture = {FIXTURE_CALL: {"payment-card-number": MASTERCARD, "postal-code": "SW1A1AA"}}
    return CallerScripts(CallerDefaults(), {**fixture, **by_call})


# --- CallerDefaults -------------------------------------------------------------------------


def test_caller_modes() -> None:
    assert CALLER_MODES == ("auto", "manual")


@pytest.mark.parametrize(("item", "value"), DEFAULT_VALUES.items())
def test_default_value_of_each_item(item: str, value: str) -> None:
    assert CallerDefaults().value(item, TODAY) == value


def test_defaults_are_valid_for_their_items() -> None:
    defaults = CallerDefaults()
    number = defaults.value("payment-card-number", TODAY)
    assert cards.luhn_valid(number)
    assert cards.card_brand(number) == "visa"
    assert cards.expiry_valid(defaults.value("expiration-date", TODAY), TODAY)
    assert cards.security_code_valid(defaults.value("security-code", TODAY), "visa")
    assert cards.postal_code_valid(defaults.value("postal-code", TODAY), None)
    assert cards.aba_routing_valid(defaults.value("bank-routing-number", TODAY))
    assert cards.bank_account_valid(defaults.value("bank-account-number", TODAY))


@pytest.mark.parametrize(
    ("today", "expiry"),
    [
        (date(2026, 6, 15), "1229"),
        (date(2026, 1, 1), "1229"),
        (date(2026, 12, 31), "1229"),
        (date(2027, 1, 1), "1230"),
        (date(2096, 3, 1), "1299"),
        (date(2097, 3, 1), "1200"),
        (date(2106, 3, 1), "1209"),
    ],
)
def test_default_expiry_is_december_three_years_ahead(today: date, expiry: str) -> None:
    assert CallerDefaults().value("expiration-date", today) == expiry


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2400, 12, 31)))
def test_default_expiry_is_mmyy_and_valid(today: date) -> None:
    expiry = CallerDefaults().value("expiration-date", today)
    assert expiry == f"12{(today.year + 3) % 100:02d}"
    assert re.fullmatch(r"12\d\d", expiry)


def test_configured_defaults_are_used() -> None:
    defaults = CallerDefaults(
        card_number=MASTERCARD,
        expiration_date="0530",
        security_code="999",
        postal_code="10001",
        routing_number="011000015",
        account_number="9876543210",
    )
    assert {item: defaults.value(item, TODAY) for item in DEFAULT_VALUES} == {
        "payment-card-number": MASTERCARD,
        "expiration-date": "0530",
        "security-code": "999",
        "postal-code": "10001",
        "bank-routing-number": "011000015",
        "bank-account-number": "9876543210",
    }


# --- CallerScripts.value --------------------------------------------------------------------


def test_script_value_wins_over_the_default() -> None:
    caller = scripts()
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD
    assert caller.value(FIXTURE_CALL, "postal-code", "mastercard", TODAY) == "SW1A1AA"


@pytest.mark.parametrize("item", [i for i in CARD_ITEMS if i != "security-code"])
def test_unscripted_items_fall_back_to_the_defaults(item: str) -> None:
    caller = scripts()
    assert caller.value(UNSCRIPTED_CALL, item, "visa", TODAY) == DEFAULT_VALUES[item]
    if item not in {"payment-card-number", "postal-code"}:
        assert caller.value(FIXTURE_CALL, item, "visa", TODAY) == DEFAULT_VALUES[item]


@pytest.mark.parametrize("item", BANK_ITEMS)
def test_unscripted_bank_items_fall_back_to_the_defaults(item: str) -> None:
    assert scripts().value(FIXTURE_CALL, item, None, TODAY) == DEFAULT_VALUES[item]


@pytest.mark.parametrize("item", CARD_ITEMS)
def test_matcher_repeats_the_scripted_base_value(item: str) -> None:
    caller = scripts()
    caller.set(OTHER_CALL, {item: "4111"})
    assert caller.value(OTHER_CALL, item + MATCHER_SUFFIX, "visa", TODAY) == "4111"


@pytest.mark.parametrize("item", CARD_ITEMS)
def test_matcher_repeats_the_default_when_unscripted(item: str) -> None:
    caller = scripts()
    expected = caller.value(UNSCRIPTED_CALL, item, "visa", TODAY)
    assert caller.value(UNSCRIPTED_CALL, item + MATCHER_SUFFIX, "visa", TODAY) == expected


def test_scripted_matcher_value_wins_over_the_base_value() -> None:
    caller = scripts()
    caller.set(OTHER_CALL, {"payment-card-number": VISA, "payment-card-number-matcher": "4111"})
    assert caller.value(OTHER_CALL, "payment-card-number", "visa", TODAY) == VISA
    assert caller.value(OTHER_CALL, "payment-card-number-matcher", "visa", TODAY) == "4111"


@pytest.mark.parametrize("brand", [None, "visa", "mastercard", "discover"])
def test_default_security_code_for_other_brands(brand: str | None) -> None:
    caller = scripts()
    assert caller.value(UNSCRIPTED_CALL, "security-code", brand, TODAY) == "123"
    assert caller.value(UNSCRIPTED_CALL, "security-code-matcher", brand, TODAY) == "123"


def test_amex_gets_a_four_digit_default_security_code() -> None:
    caller = scripts()
    code = caller.value(UNSCRIPTED_CALL, "security-code", "amex", TODAY)
    assert code == "1234"
    assert cards.security_code_valid(code, "amex")
    assert caller.value(UNSCRIPTED_CALL, "security-code-matcher", "amex", TODAY) == "1234"


def test_amex_keeps_a_four_digit_configured_default() -> None:
    caller = CallerScripts(CallerDefaults(security_code="4321"), {})
    assert caller.value(UNSCRIPTED_CALL, "security-code", "amex", TODAY) == "4321"


@pytest.mark.parametrize("code", ["123", "9876", "1"])
def test_amex_keeps_an_explicit_script_security_code(code: str) -> None:
    caller = scripts()
    caller.set(OTHER_CALL, {"payment-card-number": AMEX, "security-code": code})
    assert caller.value(OTHER_CALL, "security-code", "amex", TODAY) == code
    assert caller.value(OTHER_CALL, "security-code-matcher", "amex", TODAY) == code


def test_scripts_of_one_call_do_not_affect_another() -> None:
    caller = scripts()
    caller.set(OTHER_CALL, {"payment-card-number": AMEX})
    assert caller.value(UNSCRIPTED_CALL, "payment-card-number", None, TODAY) == VISA
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD


# --- set / check_script ---------------------------------------------------------------------


def test_set_replaces_the_whole_script_of_a_call() -> None:
    caller = scripts()
    caller.set(FIXTURE_CALL, {"expiration-date": "0130"})
    assert caller.value(FIXTURE_CALL, "expiration-date", None, TODAY) == "0130"
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == VISA
    assert caller.value(FIXTURE_CALL, "postal-code", None, TODAY) == cards.DEFAULT_POSTAL_CODE


def test_set_keeps_a_copy() -> None:
    caller = scripts()
    script = {"payment-card-number": AMEX}
    caller.set(OTHER_CALL, script)
    script["payment-card-number"] = MASTERCARD
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == AMEX


def test_fixture_scripts_are_copied_at_construction() -> None:
    fixture = {FIXTURE_CALL: {"payment-card-number": MASTERCARD}}
    caller = CallerScripts(CallerDefaults(), fixture)
    fixture[FIXTURE_CALL]["payment-card-number"] = AMEX
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD


@pytest.mark.parametrize(
    "value",
    ["1", "1" * 32, VISA, "abcXYZ", "*", "#", "12*#", "0" * 16],
)
def test_keypad_values_are_accepted(value: str) -> None:
    caller = scripts()
    caller.set(OTHER_CALL, {"postal-code": value})
    assert caller.value(OTHER_CALL, "postal-code", None, TODAY) == value


@pytest.mark.parametrize("item", CAPTURE_ITEMS)
def test_every_capture_item_can_be_scripted(item: str) -> None:
    assert check_script({item: "1234"}) == {item: "1234"}


def test_check_script_returns_a_new_dict() -> None:
    script = {"payment-card-number": VISA}
    checked = check_script(script)
    assert checked == script
    assert checked is not script


@pytest.mark.parametrize(
    "item",
    ["card-number", "PaymentCardNumber", "payment-card-number ", "", "bank-routing-number-matcher"],
)
def test_unknown_item_is_refused(item: str) -> None:
    caller = scripts()
    with pytest.raises(InvalidScript, match="unknown item") as raised:
        caller.set(OTHER_CALL, {item: VISA})
    assert VISA not in str(raised.value)


REJECTED = [
    pytest.param("", id="empty"),
    pytest.param("4" * 33, id="33-characters"),
    pytest.param(VISA * 3, id="48-characters"),
    pytest.param("4242 4242 4242 4242", id="spaces"),
    pytest.param("4242-4242-4242-4242", id="dashes"),
    pytest.param("42424242424242.2", id="dot"),
    pytest.param(" 4242424242424242", id="leading-space"),
    pytest.param("4242424242424242\t", id="trailing-tab"),
    pytest.param("\n4242424242424242", id="leading-newline"),
    pytest.param("4242\n4242424242424242", id="inner-newline"),
    pytest.param("\uff14\uff12" * 8, id="fullwidth-digits"),
    pytest.param("42424242424242²", id="superscript"),
    pytest.param("é4242424242424242", id="non-ascii-letter"),
    pytest.param("+4242424242424242", id="plus"),
]


@pytest.mark.parametrize("value", REJECTED)
def test_a_value_a_keypad_cannot_send_is_refused_without_echoing_it(value: str) -> None:
    caller = scripts()
    with pytest.raises(InvalidScript) as raised:
        caller.set(OTHER_CALL, {"payment-card-number": value})
    message = str(raised.value)
    assert "payment-card-number" in message
    if value:
        assert value not in message
        assert "4242" not in message
    # Nothing was stored: the call still falls back to the defaults.
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == VISA


@pytest.mark.parametrize("value", [4242424242424242, None, b"4242424242424242"])
def test_a_value_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(InvalidScript) as raised:
        check_script({"payment-card-number": value})  # type: ignore[dict-item]
    assert "4242" not in str(raised.value)


def test_a_refused_script_leaves_the_previous_one() -> None:
    caller = scripts()
    with pytest.raises(InvalidScript):
        caller.set(FIXTURE_CALL, {"payment-card-number": AMEX, "security-code": "12-3"})
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD


def test_invalid_script_is_a_value_error() -> None:
    assert issubclass(InvalidScript, ValueError)


@pytest.mark.parametrize(
    "value",
    [pytest.param(VISA + "\n", id="card-newline"), pytest.param("1" * 32 + "\n", id="33-chars")],
)
def test_a_trailing_newline_is_refused(value: str) -> None:
    with pytest.raises(InvalidScript) as raised:
        check_script({"payment-card-number": value})
    assert value.strip() not in str(raised.value)


@settings(max_examples=300, deadline=None)
@given(value=st.text(KEYPAD, min_size=1, max_size=32))
def test_any_keypad_text_of_1_to_32_characters_is_accepted(value: str) -> None:
    assert check_script({"postal-code": value}) == {"postal-code": value}


_OTHER_CHARACTERS = st.characters(blacklist_characters=KEYPAD, blacklist_categories=("Cs",))


@settings(max_examples=300, deadline=None)
@given(
    digits=st.text("0123456789", min_size=12, max_size=19),
    intruder=_OTHER_CHARACTERS,
    at=st.integers(min_value=0, max_value=19),
)
def test_a_card_number_with_any_other_character_is_refused_without_echo(
    digits: str, intruder: str, at: int
) -> None:
    value = digits[:at] + intruder + digits[at:]
    with pytest.raises(InvalidScript) as raised:
        check_script({"payment-card-number": value})
    message = str(raised.value)
    assert value not in message
    assert digits not in message
    assert not re.search(r"\d{5}", message)


@settings(max_examples=100, deadline=None)
@given(digits=st.text("0123456789", min_size=33, max_size=64))
def test_too_long_digit_strings_are_refused_without_echo(digits: str) -> None:
    with pytest.raises(InvalidScript) as raised:
        check_script({"bank-account-number": digits})
    assert not re.search(r"\d{5}", str(raised.value))


# --- reset ----------------------------------------------------------------------------------


def test_reset_restores_the_fixture_scripts_and_drops_the_others() -> None:
    caller = scripts()
    caller.set(FIXTURE_CALL, {"payment-card-number": AMEX})
    caller.set(OTHER_CALL, {"payment-card-number": AMEX, "postal-code": "12345"})
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == AMEX
    caller.reset()
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD
    assert caller.value(FIXTURE_CALL, "postal-code", None, TODAY) == "SW1A1AA"
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == VISA
    assert caller.value(OTHER_CALL, "postal-code", None, TODAY) == cards.DEFAULT_POSTAL_CODE


def test_reset_twice_and_set_after_reset() -> None:
    caller = scripts()
    caller.reset()
    caller.reset()
    assert caller.value(FIXTURE_CALL, "payment-card-number", None, TODAY) == MASTERCARD
    caller.set(OTHER_CALL, {"payment-card-number": AMEX})
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == AMEX
    caller.reset()
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == VISA


def test_reset_without_fixtures_drops_everything() -> None:
    caller = CallerScripts(CallerDefaults(), {})
    caller.set(OTHER_CALL, {"security-code": "999"})
    caller.reset()
    assert caller.value(OTHER_CALL, "security-code", "visa", TODAY) == "123"


def test_reset_keeps_the_defaults() -> None:
    defaults = CallerDefaults(card_number=MASTERCARD)
    caller = CallerScripts(defaults, {})
    caller.reset()
    assert caller.defaults is defaults
    assert caller.value(OTHER_CALL, "payment-card-number", None, TODAY) == MASTERCARD
