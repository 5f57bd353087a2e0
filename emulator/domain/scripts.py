"""The simulated caller: what it keys in for each item, and in which mode it answers.

Every call has a caller. In ``auto`` mode (the default) it keys in its scripted value for an
item shortly after the agent's Capture request is accepted; in ``manual`` mode it keys
nothing until a test says so (``POST /_emulator/payments/{Sid}/input``). At a ``<Gather>`` an auto caller keys the
script's ``gather`` (or ``gather-N``) value, a manual one what a test keys
(``POST /_emulator/calls/{CallSid}/digits``). A call's script
comes from the fixtures or from the control plane; items it does not name fall back to the
settings' defaults (a valid Visa test card, an expiry date in the future, a security code,
a postal code, a valid ABA routing number and an account number). The second entry of a
matched item (``-matcher``) repeats the first.

Scripts from the control plane may hold full card numbers, so they live in memory only,
never in the database: after a restart those calls fall back to the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from emulator.domain import cards
from emulator.domain.vocabulary import CAPTURE_ITEMS, KEYPAD_PATTERN, MATCHER_SUFFIX

__all__ = [
    "GATHER",
    "MAX_SCRIPT_ITEMS",
    "CallerDefaults",
    "CallerScripts",
    "InvalidScript",
    "check_script",
]

KEYPAD = re.compile(KEYPAD_PATTERN)

MAX_SCRIPT_ITEMS: Final = 64
"""Entries a script may hold (the capture items, their matchers, ``gather`` and
``gather-N``s)."""


class InvalidScript(ValueError):
    """A script names an unknown item or holds something a keypad cannot send."""


@dataclass(frozen=True, slots=True)
class CallerDefaults:
    card_number: str = cards.DEFAULT_TEST_CARD
    expiration_date: str | None = None  # None: December, three years ahead
    security_code: str = cards.DEFAULT_SECURITY_CODE
    postal_code: str = cards.DEFAULT_POSTAL_CODE
    routing_number: str = cards.DEFAULT_ROUTING_NUMBER
    account_number: str = cards.DEFAULT_BANK_ACCOUNT

    def value(self, item: str, today: date) -> str:
        return {
            "payment-card-number": self.card_number,
            "expiration-date": self.expiration_date or cards.default_expiry(today),
            "security-code": self.security_code,
            "postal-code": self.postal_code,
            "bank-routing-number": self.routing_number,
            "bank-account-number": self.account_number,
        }[item]


GATHER: Final = "gather"
"""The script key for what the caller keys at every ``<Gather>``; ``gather-N`` (N from 1) for
the N-th ``<Gather>`` of the call only, which wins over ``gather``. No key: the caller keys
nothing, and the ``<Gather>`` times out."""
_GATHER_KEY = re.compile(r"^gather(?:-[1-9][0-9]{0,3})?$")


def check_script(script: Mapping[str, str]) -> dict[str, str]:
    """A script as given, or :class:`InvalidScript` (never echoing the values)."""
    if len(script) > MAX_SCRIPT_ITEMS:
        raise InvalidScript(f"a script holds at most {MAX_SCRIPT_ITEMS} entries")
    for item, value in script.items():
        if item not in CAPTURE_ITEMS and not _GATHER_KEY.match(item):
            # not echoed: a mistaken key could be a card number
            raise InvalidScript(
                f"unknown item; items are {', '.join(CAPTURE_ITEMS)}, gather and gather-N"
            )
        if not isinstance(value, str) or not KEYPAD.fullmatch(value):
            raise InvalidScript(
                f"the value for {item} must be 1 to 32 digits (or letters, * and #),"
                " possibly followed by ... (the caller then stops keying)"
            )
    return dict(script)


class CallerScripts:
    """The script of each call, with the defaults behind them."""

    def __init__(self, defaults: CallerDefaults, scripts: Mapping[str, Mapping[str, str]]) -> None:
        self.defaults = defaults
        self._scripts: dict[str, dict[str, str]] = {sid: dict(s) for sid, s in scripts.items()}
        self._fixture_scripts = dict(self._scripts)

    def set(self, call_sid: str, script: Mapping[str, str]) -> None:
        self._scripts[call_sid] = check_script(script)

    def reset(self) -> None:
        self._scripts = dict(self._fixture_scripts)

    def gather_value(self, call_sid: str, number: int) -> str | None:
        """What the caller keys at the call's ``number``-th ``<Gather>`` (from 1), or None:
        it keys nothing."""
        script = self._scripts.get(call_sid, {})
        return script.get(f"{GATHER}-{number}", script.get(GATHER))

    def forget(self, call_sid: str) -> None:
        self._scripts.pop(call_sid, None)

    def value(self, call_sid: str, item: str, card_brand: str | None, today: date) -> str:
        """What the caller keys in for ``item``."""
        script = self._scripts.get(call_sid, {})
        if item in script:
            return script[item]
        base = item.removesuffix(MATCHER_SUFFIX)
        if base in script:
            return script[base]
        if (
            base == "security-code"
            and card_brand == "amex"
            and len(self.defaults.security_code) == 3
        ):
            return self.defaults.security_code + "4"  # amex codes have four digits
        return self.defaults.value(base, today)
