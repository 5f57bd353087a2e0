"""The change feed: a version number that moves on every change live views care about.

``bump()`` is called after every database commit (``Database.add_commit_listener``), after
every request the journal records (a refused request changes no row, yet the journal shows
it) and after every control-plane write that touches no row (fault rules, the clock):
:class:`~emulator.control.middleware.BumpAfterControlWrites`. It costs an increment when nobody listens, so it may sit on
the hot path.

Listeners (the inspector's server-sent events, ``GET /_emulator/events``) wait for the
version to move past the one they last saw: :meth:`Changes.wait` returns at once when it
already has, else at the next bump (or when its timeout runs out). Bursts coalesce: a
listener that comes back after a while sees one new version, however many bumps happened.

Everything runs on the event loop's thread (commit listeners, the journal, the routes).
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Changes"]


class Changes:
    """A version counter with async waiters."""

    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._moved: asyncio.Event | None = None  # made only while someone waits

    def bump(self) -> None:
        """Something changed: move the version on and wake whoever waits."""
        self.version += 1
        moved = self._moved
        if moved is not None:
            self._moved = None
            moved.set()

    async def wait(self, since: int, at_most_s: float) -> int:
        """The version, once it differs from ``since`` or ``at_most_s`` seconds have passed
        (or the feed was closed)."""
        if self.version != since or self.closed:
            return self.version
        if self._moved is None:
            self._moved = asyncio.Event()
        moved = self._moved
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), at_most_s)
        return self.version

    def close(self) -> None:
        """The server is stopping: wake every waiter, and make the next waits return at once
        (open event streams end, so that a graceful shutdown does not wait for them)."""
        self.closed = True
        self.bump()
