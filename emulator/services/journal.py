"""The request journal: the API requests received, newest last, bounded in size.

Kept in memory (a ring buffer): it is a test's record of what its code sent. It holds who
authenticated (an account or API key SID, never a secret), never the Authorization header.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from emulator.domain.masking import mask_card_numbers
from emulator.domain.urls import mask_url_password

__all__ = [
    "MAX_RESPONSE",
    "MAX_SEARCH",
    "Journal",
    "JournalEntry",
    "bounded",
    "journal_params",
    "masked",
]

MAX_VALUE = 512  # characters of a form value or a path the journal keeps
MAX_RESPONSE = 4096  # characters of an answer it keeps (a Call's JSON is about 2,000)
MAX_PARAMS = 64  # form fields the journal keeps of one request
MAX_SEARCH = 64  # characters of a free-text search looked for


def bounded(text: str, limit: int = MAX_VALUE) -> str:
    """``text``, cut to ``limit`` characters (saying how long it was)."""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def masked(value: str) -> str:
    """A value as the journal and the inspector show it: card-like digit runs and the
    password of a URL masked."""
    return mask_url_password(mask_card_numbers(value))


def _valid_text(text: str) -> str:
    """``text`` with bytes that were not UTF-8 (lone surrogates) replaced."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def journal_params(form: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A request's form as the journal keeps it: bounded in count and size, card-like digit
    runs masked, a password in a URL masked, bytes that are not UTF-8 replaced."""
    params: dict[str, str] = {}
    for name, value in form:
        if len(params) >= MAX_PARAMS:
            params["..."] = "more fields not kept"
            break
        params[bounded(_valid_text(name), 64)] = bounded(masked(_valid_text(value)))
    return params


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
    auth_failure: str | None = None  # which authentication check failed (the answer: 20003)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=max(size, 0))
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every request recorded (live views)."""
        self._listeners.append(listener)

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        for listener in self._listeners:
            listener()

    def __len__(self) -> int:
        return len(self._entries)

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
        text: str | None = None,
    ) -> list[JournalEntry]:
        """The entries, oldest first, of an account, a call, a session, with a status, that
        contain ``text`` (any case) in a SID (the request's, its account's, call's, session's,
        or the session it created), its path or a form value such as ``Description``
        (at most :data:`MAX_SEARCH` characters are looked for)."""
        entries: Iterable[JournalEntry] = self._entries
        needle = (text or "").strip()[:MAX_SEARCH].casefold()
        return [
            e
            for e in entries
            if (account_sid is None or e.account_sid == account_sid)
            and (call_sid is None or e.call_sid == call_sid)
            and (payment_sid is None or e.payment_sid == payment_sid)
            and (status is None or e.status == status)
            and (not needle or needle in _searched(e))
        ]


def _searched(entry: JournalEntry) -> str:
    """What a free-text search of the journal looks in, in one lower-case text."""
    created = ""
    if entry.payment_sid is None and 200 <= entry.status < 300:
        created = entry.response  # a create's answer names the session it made
    parts = (
        entry.request_id,
        entry.account_sid or "",
        entry.call_sid or "",
        entry.payment_sid or "",
        entry.path,
        *entry.params.values(),
        created,
    )
    return "\n".join(parts).casefold()
