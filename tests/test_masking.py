"""Card numbers in free text (emulator.domain.masking): what the emulator keeps and shows."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.cards import luhn_valid
from emulator.domain.masking import LONGEST_RUN, mask_card_numbers

TEST_CARDS = ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("4111111111111111", "xxxxxxxxxxxx1111"),
        ("card 4111111111111111.", "card xxxxxxxxxxxx1111."),
        ("4111 1111 1111 1111", "xxxx xxxx xxxx 1111"),
        ("4111-1111-1111-1111", "xxxx-xxxx-xxxx-1111"),
        ("4111.1111.1111.1111", "xxxx.xxxx.xxxx.1111"),
        ("4111 1111-1111.1111", "xxxx xxxx-xxxx.1111"),
        ("3782 822463 10005", "xxxx xxxxxx x0005"),  # amex, 15 digits
        ("00004111111111111111", "0xxxxxxxxxxxxxxx1111"),  # inside a longer run
        ("Invoice 000000000123", "Invoice 000000000123"),  # fails the check: kept
        ("order 123456789012", "order 123456789012"),
        ("4222222222222", "xxxxxxxxx2222"),  # 13 digits, Luhn-valid
        ("41111111111", "41111111111"),  # 11 digits: no card number
        ("4111  1111 1111 1111", "4111  1111 1111 1111"),  # two spaces: not one number
        ("no digits at all", "no digits at all"),
        # a SID whose hex holds a Luhn-valid run (123456789015) is an identifier: kept
        (f"PKabcd123456789015ef{'0' * 14}", f"PKabcd123456789015ef{'0' * 14}"),
        (
            f"/Payments/PKabcd123456789015ef{'0' * 14}.json",
            f"/Payments/PKabcd123456789015ef{'0' * 14}.json",
        ),
        # ...but not what stands next to it, nor a "SID" of digits only, nor a longer word
        (f"PKabcdef{'ab' * 13} 4111111111111111", f"PKabcdef{'ab' * 13} xxxxxxxxxxxx1111"),
        (f"PK4111111111111111{'0' * 16}", f"PK{'x' * 28}0000"),
        (f"PKabcd123456789015ef{'ab' * 7}a", f"PKabcdxxxxxxxx9015ef{'ab' * 7}a"),
    ],
)
def test_examples(text: str, masked: str) -> None:
    assert mask_card_numbers(text) == masked


def test_a_very_long_run_is_masked_whole_but_its_last_four() -> None:
    run = "1" * (LONGEST_RUN + 1)
    assert mask_card_numbers(run) == "x" * (LONGEST_RUN - 3) + "1111"


separators = st.sampled_from(["", " ", "-", "."])


@settings(max_examples=300, deadline=None)
@given(
    card=st.sampled_from(TEST_CARDS),
    separator=separators,
    before=st.text(alphabet="0123456789 abc", max_size=20),
    after=st.text(alphabet="0123456789 abc", max_size=20),
)
def test_a_card_number_never_survives(card: str, separator: str, before: str, after: str) -> None:
    written = separator.join(card[i : i + 4] for i in range(0, len(card), 4))
    masked = mask_card_numbers(before + " " + written + " " + after)
    assert card not in re.sub(r"[ .-]", "", masked)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789 -.x", max_size=80))
def test_what_is_left_holds_no_luhn_valid_run(text: str) -> None:
    masked = mask_card_numbers(text)
    assert len(masked) == len(text)
    for run in re.findall(r"[0-9](?:[ .-]?[0-9])*", masked):
        digits = re.sub(r"[ .-]", "", run)
        for start in range(len(digits)):
            for length in range(12, 20):
                window = digits[start : start + length]
                assert len(window) < length or not luhn_valid(window), (text, masked)


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["AC", "CA", "PK", "SK"]),
    body=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).filter(
        lambda body: not body.isdigit()
    ),
)
def test_sids_are_never_masked(prefix: str, body: str) -> None:
    text = f"PaymentSid={prefix}{body}&CallSid={prefix}{body}"
    assert mask_card_numbers(text) == text
