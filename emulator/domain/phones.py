"""Phones: the simulated person who answers at a number, set up before the call exists.

A test that lets its application place the call (``calls.create``, a Flask view, a job)
does not know the CallSid in time to give that call its caller: by the time
``set_caller(call_sid, ...)`` runs, the call's TwiML may already be keying at a ``<Pay>``.
A phone is set up ahead, per account and number: every call the Calls API places to that
``To`` (and every control-plane call from that ``From`` that names no caller or script of
its own) starts with the phone's caller mode and script.

Phones set up by the control plane live in memory, like the calls' scripts (a script may
hold a full card number): a restart forgets them, and a reset (of the account, or of
everything) goes back to the phones of the fixture files. There are at most
:data:`MAX_PHONES`; setting one more forgets the one set longest ago.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from emulator.domain.scripts import check_script
from emulator.domain.vocabulary import CALLER_MODES, CallerMode

__all__ = ["MAX_PHONES", "Phone", "Phones"]

MAX_PHONES: Final = 10_000
"""Phones kept at most, all accounts together (the oldest is forgotten beyond)."""


@dataclass(frozen=True, slots=True)
class Phone:
    """Who answers at ``number`` for ``account_sid``: a caller mode and its script."""

    account_sid: str
    number: str
    caller: CallerMode
    script: Mapping[str, str] = field(default_factory=dict)

    @property
    def items(self) -> list[str]:
        """The script's keys, never its values (they may be card numbers)."""
        return sorted(self.script)


class Phones:
    """The phones set up, keyed by account and number, oldest first."""

    def __init__(self, fixtures: Iterable[Phone] = (), limit: int = MAX_PHONES) -> None:
        self._limit = limit
        self._phones: dict[tuple[str, str], Phone] = {}
        self._fixtures = [self.set(phone) for phone in fixtures]

    def set(self, phone: Phone) -> Phone:
        """Set up (or replace) the phone at its number. Raises
        :class:`~emulator.domain.scripts.InvalidScript` for a script the caller could not key,
        and :class:`ValueError` for an unknown mode."""
        if phone.caller not in CALLER_MODES:
            raise ValueError(f"caller must be one of {', '.join(CALLER_MODES)}")
        kept = Phone(phone.account_sid, phone.number, phone.caller, check_script(phone.script))
        key = (phone.account_sid, phone.number)
        self._phones.pop(key, None)  # a replaced phone counts as the newest
        while len(self._phones) >= self._limit:
            del self._phones[next(iter(self._phones))]
        self._phones[key] = kept
        return kept

    def at(self, account_sid: str, number: str | None) -> Phone | None:
        """The phone at ``number`` for the account, if one was set up."""
        if number is None:
            return None
        return self._phones.get((account_sid, number))

    def listed(self, account_sid: str | None = None) -> list[Phone]:
        """The phones set up (of one account), oldest first."""
        return [p for p in self._phones.values() if account_sid in (None, p.account_sid)]

    def remove(self, account_sid: str | None = None, number: str | None = None) -> int:
        """Forget the phones of the account (all accounts when None), or only the one at
        ``number``; how many were forgotten."""
        gone = [
            key
            for key in self._phones
            if account_sid in (None, key[0]) and number in (None, key[1])
        ]
        for key in gone:
            del self._phones[key]
        return len(gone)

    def reset(self, account_sid: str | None = None) -> None:
        """Back to the fixtures' phones (of the account; of every account when None)."""
        self.remove(account_sid)
        for phone in self._fixtures:
            if account_sid in (None, phone.account_sid):
                self.set(phone)
