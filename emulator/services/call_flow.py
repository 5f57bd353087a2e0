"""The pieces a running call is made of, shared by the runner (:mod:`.call_runner`) and the
verbs (:mod:`.twiml_verbs`): what to run next, what a live call holds in memory, and what a
verb may ask of the runner (:class:`Runtime`)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from emulator.domain.calls import CallRecord
from emulator.domain.twiml import Document, Notice
from emulator.services.call_events import CallEvents

__all__ = [
    "KEY",
    "NEXT",
    "TIMER",
    "Fetch",
    "Gone",
    "Inline",
    "Instruction",
    "Live",
    "Loaded",
    "Outcome",
    "Runtime",
    "VerbHandler",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetch:
    """Ask ``url`` for the next document; ``extra`` parameters follow the standard ones (a
    ``<Gather>``'s ``Digits``, a fallback's ``ErrorCode``); ``fallback``: a failure may go to
    the call's FallbackUrl (the call's own URL, not an action's)."""

    url: str
    method: str = "POST"
    extra: tuple[tuple[str, str], ...] = ()
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class Inline:
    """Run this TwiML (a ``Twiml`` parameter): a document with no URL."""

    twiml: str


Instruction = Fetch | Inline


class _Next:
    def __repr__(self) -> str:
        return "NEXT"


NEXT: Final = _Next()
"""What a verb returns to let the next verb of the document run."""

Outcome = Instruction | _Next | None
"""What a verb comes to: the next verb (:data:`NEXT`), another document, or the end of the
call (None)."""

TIMER: Final = "timer"
"""Put on a live call's keypad queue when its timer passes (keys are single characters)."""
KEY: Final = "0123456789*#"


@dataclass(slots=True)
class Live:
    """A call whose TwiML is running: its task, and what the caller keys."""

    sid: str
    account_sid: str
    task: asyncio.Task[None] | None = None
    keypad: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    gathering: bool = False  # keys are taken (inside a <Gather>)
    waiting: str | None = None  # what the call waits in: "pause", "gather", "pay"
    paying: str | None = None  # the session of the <Pay> it runs
    redirected: bool = False  # the Calls API is redirecting it (its task is being cancelled)
    gathers: int = 0  # <Gather>s reached so far (the script's gather-N)
    documents: int = 0
    verbs: int = 0


@dataclass(frozen=True, slots=True)
class Loaded:
    """A document ready to run, and the base of its relative URLs (None for inline TwiML)."""

    document: Document
    base: str | None


class Gone(Exception):
    """The call no longer exists (a reset wiped it) or has ended meanwhile."""


class Runtime(Protocol):
    """What the verbs may ask of the runner."""

    events: CallEvents

    def now_ms(self) -> int: ...

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T: ...

    def call(self, conn: sqlite3.Connection, sid: str) -> CallRecord: ...

    def answer(self, conn: sqlite3.Connection, call: CallRecord) -> CallRecord: ...

    async def wait(self, live: Live, deadline_ms: int, *, keys: bool) -> str | None: ...

    async def application_error(self, live: Live, notice: Notice, url: str | None) -> None: ...

    def auto_keys(self, live: Live, number: int) -> None: ...


VerbHandler = Callable[[Runtime, Live, Any, Loaded], Awaitable[Outcome]]
"""Runs one verb of a type (``Any``: the handler's own verb class) and says what comes next."""
