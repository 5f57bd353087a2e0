"""What the HTTP layer enforces, and the connection cap: :class:`HttpLimits` (sizes and
timeouts, from the settings) and :class:`ConnectionLimiter` (the open connections of a process,
and which of them to close to make room for a new one).

Neither knows about uvicorn: the protocol (``emulator.server.protocol``) applies them.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from emulator.settings import Settings

__all__ = ["Connection", "ConnectionLimiter", "HttpLimits"]

logger = logging.getLogger("emulator.http")


def _random_request_id() -> str:
    return "RQ" + secrets.token_hex(16)


@dataclass(frozen=True)
class HttpLimits:
    """What the protocol enforces (from the ``Settings`` of the same names)."""

    max_body_bytes: int
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    request_id: Callable[[], str] = _random_request_id
    """Makes the ``Twilio-Request-Id`` of a refusal (the app's generator, when served)."""

    @classmethod
    def from_settings(
        cls, settings: Settings, request_id: Callable[[], str] | None = None
    ) -> HttpLimits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_connections=settings.max_connections,
            request_id=request_id or _random_request_id,
        )


class Connection(Protocol):
    """What the limiter needs of a connection: a way to close it to make room."""

    def evict(self) -> None: ...


class ConnectionLimiter:
    """The open connections of a process, and which of them may be closed to make room.

    ``_idle`` holds the connections without a request in progress, least recently active
    first (activity: bytes received, or an answer sent); ``_streams`` the connections whose
    request in progress is a long-lived stream (server-sent events, a long-poll), oldest
    first. To make room, an idle connection goes first, then the oldest stream; a connection
    with another request in progress is never closed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.evicted = 0
        self.turned_away = 0
        self._open: set[Connection] = set()
        self._idle: OrderedDict[Connection, None] = OrderedDict()
        self._streams: OrderedDict[Connection, None] = OrderedDict()
        self._warned_at = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: Connection) -> bool:
        """Count a new connection in, closing the idlest one if at the cap; False when every
        open connection has a request in progress (the new one is to be closed)."""
        while len(self._open) >= self.limit:
            if not self._idle and not self._streams:
                self.turned_away += 1
                now = time.monotonic()
                if now - self._warned_at > 1.0:
                    self._warned_at = now
                    logger.warning(
                        "%d connections, all with a request in progress (max_connections): "
                        "closing new connections",
                        len(self._open),
                    )
                return False
            victims = self._idle if self._idle else self._streams
            victim, _ = victims.popitem(last=False)
            self._open.discard(victim)
            self.evicted += 1
            victim.evict()
        self._open.add(connection)
        self._idle[connection] = None
        return True

    def active(self, connection: Connection) -> None:
        """It received bytes: the most recently active."""
        if connection in self._idle:
            self._idle.move_to_end(connection)

    def busy(self, connection: Connection) -> None:
        """A request of it is being processed: never to be closed to make room."""
        self._idle.pop(connection, None)

    def streaming(self, connection: Connection) -> None:
        """Its request in progress is a long-lived stream: closed to make room, after idle
        connections, oldest first."""
        if connection in self._open and connection not in self._idle:
            self._streams[connection] = None

    def idle(self, connection: Connection) -> None:
        """Nothing of it is being processed (it was answered)."""
        self._streams.pop(connection, None)
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection)

    def closing(self, connection: Connection) -> None:
        """It is being closed anyway (refused): the first to go to make room."""
        self._streams.pop(connection, None)
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection, last=False)

    def release(self, connection: Connection) -> None:
        self._open.discard(connection)
        self._idle.pop(connection, None)
        self._streams.pop(connection, None)

    @property
    def streams(self) -> int:
        """Connections whose request in progress is a stream."""
        return len(self._streams)
