"""What the caller keyed, held in memory only: never written, never shown.

* :class:`Vault`: the full digits of the secret items (card number, security code, bank account
  number) that a Generic Pay Connector will need, per session, from the keying to the end of
  the connector request (or of the session).
* :class:`KeyedSoFar`: the digits of the item being captured that partial entries have keyed so
  far, per session, until the item is complete.
* :class:`Vault` also holds a session's ``Description`` and ``Parameter`` as the create request
  gave them (what is stored has card-like digit runs masked): a Generic Pay Connector receives
  them unchanged, as Twilio passes them through to the gateway.
* :func:`fingerprint`: a keyed hash of an entry, so that a matched item (``-matcher``) can be
  compared with its first entry without keeping the digits. The key never leaves the process.

After a restart all of it is gone: the session's record says what to key again, and a
connector then gets the stored (masked) description and parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from emulator.domain.vocabulary import MATCHER_SUFFIX

__all__ = ["SECRET_ITEMS", "KeyedSoFar", "Originals", "Vault", "fingerprint"]

SECRET_ITEMS = ("payment-card-number", "security-code", "bank-account-number")
"""The items whose digits only the merchant's endpoint may see."""

_FINGERPRINT_KEY = secrets.token_bytes(32)  # in memory only, one per process


def fingerprint(item: str, digits: str) -> str:
    """A keyed hash of an entry of ``item`` (an item and its matcher hash alike)."""
    message = (item.removesuffix(MATCHER_SUFFIX) + ":" + digits).encode()
    return hmac.new(_FINGERPRINT_KEY, message, hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Originals:
    """A session's ``Description`` and ``Parameter`` as its create request gave them."""

    description: str
    parameter: dict[str, Any] | None


class Vault:
    """The full digits of secret items, and the create request's originals, per session."""

    def __init__(self) -> None:
        self._digits: dict[str, tuple[str, dict[str, str]]] = {}  # sid -> (account, digits)
        self._originals: dict[str, tuple[str, Originals]] = {}  # sid -> (account, originals)

    def keep(self, account_sid: str, payment_sid: str, item: str, digits: str) -> None:
        self._digits.setdefault(payment_sid, (account_sid, {}))[1][item] = digits

    def get(self, payment_sid: str) -> dict[str, str]:
        return dict(self._digits.get(payment_sid, ("", {}))[1])

    def keep_originals(self, account_sid: str, payment_sid: str, originals: Originals) -> None:
        self._originals[payment_sid] = (account_sid, originals)

    def originals(self, payment_sid: str) -> Originals | None:
        """The create request's description and parameter, or None (after a restart)."""
        held = self._originals.get(payment_sid)
        return held[1] if held is not None else None

    def drop(self, payment_sid: str) -> None:
        self._digits.pop(payment_sid, None)
        self._originals.pop(payment_sid, None)

    def clear(self, account_sid: str | None = None) -> None:
        for sid, (owner, _) in list(self._digits.items()):
            if account_sid is None or owner == account_sid:
                del self._digits[sid]
        for sid, (owner, _) in list(self._originals.items()):
            if account_sid is None or owner == account_sid:
                del self._originals[sid]


class KeyedSoFar:
    """The digits partial entries keyed into the item being captured, per session."""

    def __init__(self) -> None:
        self._typed: dict[str, tuple[str, str]] = {}  # session -> (item, digits so far)

    def get(self, payment_sid: str, item: str | None) -> str:
        """What was keyed so far into ``item`` ("" when another item, or nothing)."""
        typed_item, typed = self._typed.get(payment_sid, ("", ""))
        return typed if item is not None and typed_item == item else ""

    def put(self, payment_sid: str, item: str, digits: str) -> None:
        self._typed[payment_sid] = (item, digits)

    def drop(self, payment_sid: str) -> None:
        self._typed.pop(payment_sid, None)

    def clear(self) -> None:
        self._typed.clear()
