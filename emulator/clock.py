"""The emulator's clock: real time by default, frozen, held or shifted when a test asks.

Every date the emulator writes (responses, callbacks, expiry checks, idempotency expiry)
comes from here, as milliseconds since the epoch or a UTC datetime.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "format_iso_ms", "format_rfc2822"]


class Clock:
    def __init__(self) -> None:
        self._frozen_ms: int | None = None
        self._offset_ms = 0
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever a test sets the clock (timers follow it)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def now_ms(self) -> int:
        if self._frozen_ms is not None:
            return self._frozen_ms
        return time.time_ns() // 1_000_000 + self._offset_ms

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ms() / 1000, UTC)

    def freeze_at(self, moment: datetime) -> None:
        self._frozen_ms = int(moment.timestamp() * 1000)
        self._changed()

    def advance(self, seconds: float) -> None:
        if self._frozen_ms is not None:
            self._frozen_ms += int(seconds * 1000)
        else:
            self._offset_ms += int(seconds * 1000)
        self._changed()

    def reset(self) -> None:
        """Back to real time (a deadline now past fires at once)."""
        self._frozen_ms = None
        self._offset_ms = 0
        self._changed()

    def hold(self) -> None:
        """Stop the clock at the current instant (no deadline passes while it is held). A
        clock already frozen stays where it is."""
        if self._frozen_ms is None:
            self._frozen_ms = self.now_ms()
        self._changed()

    def release(self) -> None:
        """Let a held (or frozen) clock run again from the instant it stood at: it goes on
        at real time's pace, behind real time by as long as it was held, so no deadline
        jumps ahead (unlike :meth:`reset`)."""
        if self._frozen_ms is not None:
            self._offset_ms = self._frozen_ms - time.time_ns() // 1_000_000
            self._frozen_ms = None
        self._changed()

    @property
    def frozen(self) -> bool:
        return self._frozen_ms is not None


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_rfc2822(ms: int) -> str:
    """``Tue, 05 Nov 2024 18:00:00 +0000``: the REST API's date format (English names,
    whatever the locale; what ``email.utils.format_datetime`` prints for UTC)."""
    t = time.gmtime(ms // 1000)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def format_iso_ms(ms: int) -> str:
    """``2021-08-10T03:55:53.408Z``: the StatusCallback date format."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
