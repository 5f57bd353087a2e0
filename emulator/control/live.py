"""Control plane: live views: the change feed, as server-sent events or a version to poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from emulator.deps import ChangesDep, StreamsDep
from emulator.services.streams import Stream, Streams, TooManyStreams

__all__ = ["router"]

router = APIRouter()


EVENTS_RETRY_MS = 1000  # how soon a browser reconnects
EVENTS_KEEPALIVE_S = 5.0
EVENTS_LIFETIME_S = 15.0  # a stream ends after this, and the browser reconnects at once
EVENTS_MIN_INTERVAL_S = 0.2  # at most five "changed" events a second: bursts coalesce


def _event_id(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and len(text) < 19 else None


RETRY_AFTER_S = 1  # how soon a refused stream may try again


def open_stream(streams: Streams, kind: str, request: Request) -> Stream:
    """A place among the streams (``max_streams``), or 503 with ``Retry-After``."""
    try:
        return streams.open(kind, request.scope)
    except TooManyStreams as exc:
        raise HTTPException(
            503,
            f"too many long-lived requests: {exc}; try again later",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None


@router.get("/events")
async def events(
    request: Request,
    changes: ChangesDep,
    streams: StreamsDep,
    since: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: ``changed`` (data: the new version) whenever the emulator's state
    moved on (a commit, a journal entry, a control-plane write), at most five a second; a
    comment every few seconds otherwise. ``since`` (or the ``Last-Event-ID`` a reconnecting
    browser sends) is the version the client has seen: a newer one is announced at once.
    A stream ends after some seconds, or when the server stops; browsers reconnect by
    themselves. At most ``max_streams`` long-lived requests are open at once (503 beyond)."""
    seen = _event_id(last_event_id)
    start = seen if seen is not None else since if since is not None else changes.version
    held = open_stream(streams, "events", request)

    async def stream() -> AsyncIterator[str]:
        try:
            loop = asyncio.get_running_loop()
            ends = loop.time() + EVENTS_LIFETIME_S
            version = start
            yield f"retry: {EVENTS_RETRY_MS}\n\n"
            while not changes.closed:
                left = ends - loop.time()
                if left <= 0:
                    return
                now = await changes.wait(version, at_most_s=min(EVENTS_KEEPALIVE_S, left))
                if changes.closed:
                    return
                if now != version:
                    version = now
                    yield f"id: {version}\nevent: changed\ndata: {version}\n\n"
                    await asyncio.sleep(EVENTS_MIN_INTERVAL_S)
                else:
                    yield ": waiting\n\n"
        finally:
            held.close()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(held.close),  # also when the stream never started
    )


@router.get("/changes")
async def change_version(changes: ChangesDep) -> dict[str, int]:
    """The change feed's version, for clients that poll instead of listening to events."""
    return {"version": changes.version}
