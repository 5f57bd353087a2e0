"""The request journal: the API requests received, newest last, bounded in size.

Kept in memory (a ring buffer): it is a test's record of what its code sent. It holds who
authenticated (an account or API key SID, never a secret), never the Authorization header.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Journal", "JournalEntry", "scrub"]

# Runs of 12 or more digits, single spaces or dashes between them allowed (a card or bank
# account number someone put where it should not be, e.g. a Description), keep only their
# last four digits.
_LONG_DIGITS = re.compile(r"[0-9](?:[ -]?[0-9]){11,}")


def scrub(value: str) -> str:
    if _LONG_DIGITS.search(value) is None:
        return value
    return _LONG_DIGITS.sub(_mask, value)


def _mask(match: re.Match[str]) -> str:
    text = match.group()
    keep = len(text)
    for _ in range(4):  # the position of the fourth digit from the end
        keep -= 1
        while not text[keep].isdigit():
            keep -= 1
    return "".join("x" if c.isdigit() else c for c in text[:keep]) + text[keep:]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    request_id: str
    time: str  # ISO 8601, from the emulator's clock
    method: str
    path: str
    params: dict[str, str]
    authenticated_as: str | None  # AC… or SK…; None when authentication failed
    account_sid: str | None
    call_sid: str | None
    payment_sid: str | None
    status: int
    response: str
    duration_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max(size, 0))

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)

    def clear(self, account_sid: str | None = None) -> None:
        if account_sid is None:
            self._entries.clear()
        else:
            kept = [e for e in self._entries if e.account_sid != account_sid]
            self._entries.clear()
            self._entries.extend(kept)

    def query(
        self,
        account_sid: str | None = None,
        call_sid: str | None = None,
        payment_sid: str | None = None,
        status: int | None = None,
    ) -> list[JournalEntry]:
        entries: Iterable[JournalEntry] = self._entries
        return [
            e
            for e in entries
            if (account_sid is None or e.account_sid == account_sid)
            and (call_sid is None or e.call_sid == call_sid)
            and (payment_sid is None or e.payment_sid == payment_sid)
            and (status is None or e.status == status)
        ]
