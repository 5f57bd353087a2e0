"""Deadlines on the emulator's clock: a callback when the clock passes a moment.

The clock is controllable (``POST /_emulator/clock``): a deadline fires when real time gets
there (unless the clock is frozen), or at once when a test moves the clock past it, so a
test never sleeps through a session's ``Timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from emulator.clock import Clock

__all__ = ["Deadlines"]

logger = logging.getLogger("emulator.payments")


class Deadlines:
    """One pending deadline per key (a session SID); setting a key again replaces it."""

    def __init__(self, clock: Clock, fire: Callable[[str], Awaitable[None]] | None = None) -> None:
        self._clock = clock
        self._fire = fire
        self._pending: dict[str, tuple[int, asyncio.TimerHandle | None]] = {}
        self._running: set[asyncio.Task[None]] = set()
        clock.add_listener(self._clock_changed)

    def fire_with(self, fire: Callable[[str], Awaitable[None]]) -> None:
        """What a deadline that passes calls (with its key), when not given at construction:
        the service that owns the timers may be built after the ones that set them."""
        self._fire = fire

    def set(self, key: str, deadline_ms: int | None) -> None:
        """Fire ``key`` when the clock reaches ``deadline_ms``; None cancels it."""
        self.cancel(key)
        if deadline_ms is not None:
            self._pending[key] = (deadline_ms, self._schedule(key, deadline_ms))

    def cancel(self, key: str) -> None:
        _, handle = self._pending.pop(key, (0, None))
        if handle is not None:
            handle.cancel()

    def __len__(self) -> int:
        return len(self._pending)

    def _schedule(self, key: str, deadline_ms: int) -> asyncio.TimerHandle | None:
        """A real-time timer for the deadline; none while the clock is frozen short of it
        (only moving the clock can get there then)."""
        remaining_ms = deadline_ms - self._clock.now_ms()
        if self._clock.frozen and remaining_ms > 0:
            return None
        loop = asyncio.get_running_loop()
        return loop.call_later(max(remaining_ms, 0) / 1000, self._due, key)

    def _clock_changed(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop yet (start-up): the deadlines are set later
            return
        for key, (deadline_ms, handle) in list(self._pending.items()):
            if handle is not None:
                handle.cancel()
            self._pending[key] = (deadline_ms, self._schedule(key, deadline_ms))

    def _due(self, key: str) -> None:
        self._pending.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._run(key))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, key: str) -> None:
        if self._fire is None:
            logger.error("a deadline of %s passed with nothing to call", key)
            return
        try:
            await self._fire(key)
        except Exception:
            logger.exception("a deadline of %s failed", key)

    async def stop(self) -> None:
        for key in list(self._pending):
            self.cancel(key)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
