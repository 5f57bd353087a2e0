"""Card and bank-account rules: validation, brand detection, masking, magic test numbers.

Pure functions only (no I/O, no clock): anything that depends on the date takes ``today``.

* Brand detection follows the card-number rules of Twilio's ``<Pay>`` docs and returns the
  Twilio ``ValidCardTypes`` spellings (``visa``, ``mastercard``, ``amex``, ...). A number's
  prefix selects exactly one brand (the specific brands are tried before the catch-all
  ``maestro`` "starts with 6" rule); the number then has to have one of that brand's lengths.
  ``optima`` has no rule and is never detected.
* Masking follows what Twilio's StatusCallbacks show: card numbers keep their last 4
  digits behind ``x``, security codes are all ``x``, bank accounts keep their last 2 behind ``*``.
  Partial entries that are no longer than the visible tail are masked entirely.
* Stripe-style magic numbers let a test force a decline or an unavailable processor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

from emulator.domain.vocabulary import CARD_BRANDS

__all__ = [
    "DECLINE_CARD",
    "DEFAULT_BANK_ACCOUNT",
    "DEFAULT_POSTAL_CODE",
    "DEFAULT_ROUTING_NUMBER",
    "DEFAULT_SECURITY_CODE",
    "DEFAULT_TEST_CARD",
    "KNOWN_CARD_BRANDS",
    "MAGIC_BANK_ACCOUNTS",
    "MAGIC_CARDS",
    "TEST_CARDS",
    "UNAVAILABLE_CARD",
    "aba_routing_valid",
    "bank_account_outcome",
    "bank_account_valid",
    "card_brand",
    "card_outcome",
    "default_expiry",
    "expiry_valid",
    "luhn_valid",
    "mask_bank_account",
    "mask_card_number",
    "mask_security_code",
    "postal_code_valid",
    "security_code_valid",
]

KNOWN_CARD_BRANDS: Final[frozenset[str]] = frozenset(CARD_BRANDS)
"""The values Twilio accepts in ``ValidCardTypes``."""

DECLINE_CARD: Final = "4000000000000002"
"""Magic card number: the simulated processor declines the charge."""

UNAVAILABLE_CARD: Final = "4000000000000119"
"""Magic card number: the simulated processor is unavailable."""

MAGIC_CARDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        DECLINE_CARD: "declined",
        UNAVAILABLE_CARD: "unavailable",
        "4000000000000069": "expired-card",
        "4000000000000127": "incorrect-security-code",
        "4000000000009995": "insufficient-funds",
        "4000000000000259": "connector-error",
        "4100000000000019": "charge-refused",
        "4000000000000341": "token-refused",
    }
)
"""Card numbers (Luhn-valid Visa numbers from Stripe's test set) whose payment the built-in
connectors refuse, by outcome name (what each produces: ``payments/connectors.py``)."""

MAGIC_BANK_ACCOUNTS: Final[Mapping[str, str]] = MappingProxyType(
    {"000111111116": "no-account", "000222222227": "ach-insufficient-funds"}
)
"""Bank account numbers (Stripe's ACH test numbers) whose payment the built-in connectors
refuse, by outcome name."""

DEFAULT_TEST_CARD: Final = "4242424242424242"
DEFAULT_SECURITY_CODE: Final = "123"
DEFAULT_POSTAL_CODE: Final = "94105"
DEFAULT_ROUTING_NUMBER: Final = "121000358"
DEFAULT_BANK_ACCOUNT: Final = "000123456789"

TEST_CARDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "visa": DEFAULT_TEST_CARD,
        "mastercard": "5555555555554444",
        "amex": "378282246310005",
        "discover": "6011111111111117",
        "diners-club": "36227206271667",
        "jcb": "3566002020360505",
        "maestro": "6200000000000005",
    }
)
"""A published test card number of each brand (Stripe's test set; its UnionPay number is a
``maestro`` here, by its leading 6), each accepted by the built-in connectors: what copy as
code keys for a card, never the digits a caller keyed."""

_CARD_VISIBLE: Final = 4
_BANK_VISIBLE: Final = 2


def _range(lo: int, hi: int) -> frozenset[str]:
    """Every prefix from ``lo`` to ``hi`` inclusive, as strings (all the same width)."""
    return frozenset(str(n) for n in range(lo, hi + 1))


def _lengths(lo: int, hi: int) -> frozenset[int]:
    return frozenset(range(lo, hi + 1))


# (brand, prefixes, allowed lengths), most specific first; the first rule whose prefix matches
# decides the brand. ``maestro``'s bare "6" must stay last so 6011/64/65 are discover.
# The rules are the validCardTypes table of https://www.twilio.com/docs/voice/twiml/pay, but
# for visa's lengths: the table says "13, 15, 19 digits"; 16 is added (the emulator's choice:
# Twilio's own test Visa, 4111111111111111, has 16 digits).
_BRAND_RULES: Final[tuple[tuple[str, frozenset[str], frozenset[int]], ...]] = (
    ("amex", frozenset({"34", "37"}), frozenset({15})),
    ("jcb", _range(3528, 3589), _lengths(16, 19)),
    ("diners-club", frozenset({"36"}), _lengths(14, 19)),
    ("diners-club", _range(300, 304) | {"3095", "38", "39"}, _lengths(16, 19)),
    ("visa", frozenset({"4"}), frozenset({13, 15, 16, 19})),
    ("mastercard", _range(51, 55) | _range(2221, 2720), frozenset({16})),
    ("enroute", frozenset({"2014", "2149"}), frozenset({15})),
    ("discover", frozenset({"6011", "64", "65"}), _lengths(16, 19)),
    ("maestro", frozenset({"50", "56", "57", "58", "6"}), _lengths(12, 19)),
)


def _is_digits(text: str) -> bool:
    """True for a non-empty string of ASCII digits (``str.isdigit`` also accepts e.g. ``²``)."""
    return text.isascii() and text.isdigit()


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check; False for an empty string or anything that isn't all digits."""
    if not _is_digits(digits):
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - ord("0")
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """The brand of a complete card number from its prefix and length, or None.

    The Luhn check is separate (see :func:`luhn_valid`). A number whose prefix belongs to a
    brand but whose length that brand doesn't allow has no brand (e.g. a 15-digit 6011...).
    """
    if not _is_digits(number):
        return None
    for brand, prefixes, lengths in _BRAND_RULES:
        if any(number.startswith(prefix) for prefix in prefixes):
            return brand if len(number) in lengths else None
    return None


def expiry_valid(mmyy: str, today: date) -> bool:
    """True for an ``MMYY`` date (year 20YY) whose month has not yet ended on ``today``."""
    if len(mmyy) != 4 or not _is_digits(mmyy):
        return False
    month, year = int(mmyy[:2]), 2000 + int(mmyy[2:])
    if not 1 <= month <= 12:
        return False
    return (year, month) >= (today.year, today.month)


def security_code_valid(code: str, brand: str | None) -> bool:
    """4 digits for ``amex``, 3 digits for every other (or unknown) brand."""
    expected = 4 if brand == "amex" else 3
    return len(code) == expected and _is_digits(code)


def postal_code_valid(code: str, min_length: int | None) -> bool:
    """Non-empty ASCII letters/digits, at least ``min_length`` characters (default 1)."""
    minimum = 1 if min_length is None else max(1, min_length)
    return len(code) >= minimum and code.isascii() and code.isalnum()


def aba_routing_valid(number: str) -> bool:
    """9 digits whose weighted ABA checksum (weights 3, 7, 1) is a multiple of 10."""
    if len(number) != 9 or not _is_digits(number):
        return False
    d = [ord(char) - ord("0") for char in number]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0


def bank_account_valid(number: str) -> bool:
    """4 to 17 digits."""
    return 4 <= len(number) <= 17 and _is_digits(number)


def _mask_keeping_tail(value: str, mask_char: str, visible: int) -> str:
    if len(value) <= visible:
        return mask_char * len(value)
    return mask_char * (len(value) - visible) + value[-visible:]


def mask_card_number(number: str) -> str:
    """``x`` for all but the last 4 digits, no dashes; 4 digits or fewer are all ``x``."""
    return _mask_keeping_tail(number, "x", _CARD_VISIBLE)


def mask_security_code(code: str) -> str:
    """One ``x`` per character."""
    return "x" * len(code)


def mask_bank_account(number: str) -> str:
    """``*`` for all but the last 2 digits; 2 digits or fewer are all ``*``."""
    return _mask_keeping_tail(number, "*", _BANK_VISIBLE)


def card_outcome(number: str) -> str:
    """What the simulated processor does with a card: a :data:`MAGIC_CARDS` outcome, or
    ``ok``."""
    return MAGIC_CARDS.get(number, "ok")


def bank_account_outcome(number: str) -> str:
    """What the simulated processor does with a bank account: a :data:`MAGIC_BANK_ACCOUNTS`
    outcome, or ``ok``."""
    return MAGIC_BANK_ACCOUNTS.get(number, "ok")


def default_expiry(today: date) -> str:
    """``MMYY`` for December, three years after ``today``'s year."""
    return f"12{(today.year + 3) % 100:02d}"
