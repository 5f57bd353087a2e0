"""Long-lived requests have a room of their own: server-sent event streams
(``GET /_emulator/events``) and long-polls (``GET /_emulator/callbacks?wait_for=``) share one
cap, ``max_streams``.

A stream beyond the cap is refused at once (the control plane answers 503 with
``Retry-After``); a stream that is let in tells the HTTP layer that its connection may be
closed to make room for a new one (the ``emulator.stream`` ASGI extension the server sets: at
``max_connections`` the oldest stream goes first, after idle connections), so streams never
take the room of API requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["STREAM_EXTENSION", "Stream", "Streams", "TooManyStreams"]

STREAM_EXTENSION = "emulator.stream"
"""The ASGI scope extension the server sets: a callable marking the request's connection as
a stream's (closed first, after idle connections, when room is needed)."""


class TooManyStreams(Exception):
    """``max_streams`` streams are open already."""


class Stream:
    """A held place among the streams; :meth:`close` gives it back (once, whatever the number
    of calls)."""

    def __init__(self, streams: Streams, kind: str) -> None:
        self._streams: Streams | None = streams
        self._kind = kind

    def close(self) -> None:
        if self._streams is not None:
            self._streams._open[self._kind] -= 1
            self._streams = None


class Streams:
    """The open streams, by kind (``events``, ``long_poll``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()
        self.refused = 0

    def __len__(self) -> int:
        return self._open.total()

    def count(self, kind: str) -> int:
        return self._open[kind]

    def open(self, kind: str, scope: MutableMapping[str, Any] | None = None) -> Stream:
        """A place for a new stream of ``kind``, or :class:`TooManyStreams`; with the
        request's ASGI ``scope``, its connection is marked a stream's for the HTTP layer."""
        if len(self) >= self.limit:
            self.refused += 1
            raise TooManyStreams(f"{len(self)} streams are open (max_streams {self.limit})")
        self._open[kind] += 1
        if scope is not None:
            mark: Callable[[], None] | None = scope.get("extensions", {}).get(STREAM_EXTENSION)
            if mark is not None:
                mark()
        return Stream(self, kind)
