"""The change feed: a version number that moves on every change live views care about.

``bump()`` is called after every database commit (``Database.add_commit_listener``), after
every request the journal records (a refused request changes no row, yet the journal shows
it) and after every control-plane write that touches no row (fault rules, the clock):
:class:`BumpAfterControlWrites`. It costs an increment when nobody listens, so it may sit on
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

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BumpAfterControlWrites", "Changes"]


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


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class BumpAfterControlWrites:
    """ASGI middleware for the control plane: a bump once a request that may change
    something (any method but GET, HEAD and OPTIONS) has been answered. Rows written by the
    request bump at their commit already; this covers what lives in memory only (fault rules,
    the clock, the journal a reset clears)."""

    def __init__(self, app: ASGIApp, changes: Changes) -> None:
        self.app = app
        self.changes = changes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return

        async def send_and_bump(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.changes.bump()

        await self.app(scope, receive, send_and_bump)
