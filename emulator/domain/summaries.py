"""What the inspector's lists show: pages of summaries (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["AccountSummary", "Attempt", "CallSummary", "Page", "Totals"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """``rows`` of a list of ``total`` rows, from row ``offset`` (0-based), ``limit`` a page."""

    rows: list[T]
    total: int
    offset: int
    limit: int

    @property
    def number(self) -> int:
        """1-based."""
        return self.offset // self.limit + 1 if self.limit else 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.limit)) if self.limit else 1


@dataclass(frozen=True, slots=True)
class Totals:
    accounts: int
    calls: int
    sessions: dict[str, int]  # state -> count
    callbacks: dict[str, int]  # delivery state -> count


@dataclass(frozen=True, slots=True)
class AccountSummary:
    sid: str
    friendly_name: str
    parent_sid: str | None
    created_at_ms: int
    calls: int
    sessions: int
    active_sessions: int


@dataclass(frozen=True, slots=True)
class CallSummary:
    sid: str
    account_sid: str
    status: str
    url: str | None
    caller: str | None  # None: the server's default mode
    created_at_ms: int
    sessions: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt of a callback."""

    callback_id: int
    url: str
    headers: dict[str, str]
    status_code: int | None
    duration_ms: float
    error: str | None
    attempted_at_ms: int
    response: str  # the start of the receiver's answer ("" when none was read)
    extra: dict[str, Any]  # columns a later schema adds
