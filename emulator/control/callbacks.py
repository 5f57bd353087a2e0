"""Control plane: the StatusCallbacks, their long-poll, and redelivery."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from emulator.control.live import open_stream
from emulator.control.views import callback_view
from emulator.deps import CallbackLogDep, DeliveryDep, StreamsDep
from emulator.domain.records import CallbackRecord

__all__ = ["router"]

router = APIRouter()


@router.get("/callbacks")
async def callbacks(
    request: Request,
    log: CallbackLogDep,
    streams: StreamsDep,
    payment_sid: str | None = None,
    call_sid: str | None = None,
    account_sid: str | None = None,
    wait_for: Annotated[int, Query(ge=0)] = 0,
    timeout_s: Annotated[float, Query(alias="timeout", gt=0, le=120)] = 10.0,
) -> dict[str, list[dict[str, Any]]]:
    """The StatusCallbacks, in order; ``wait_for=N`` waits until N of them were attempted
    (a long-poll: at most ``max_streams`` are open at once, 503 beyond)."""
    filters = {"payment_sid": payment_sid, "call_sid": call_sid, "account_sid": account_sid}
    if wait_for:
        held = open_stream(streams, "long_poll", request)
        try:
            found = await _unless_gone(request, log.wait_for(filters, wait_for, timeout_s))
        finally:
            held.close()
    else:
        found = log.find(filters)
    return {"callbacks": [callback_view(callback) for callback in found]}


async def _unless_gone(
    request: Request, waiting: Coroutine[Any, Any, list[CallbackRecord]]
) -> list[CallbackRecord]:
    """``waiting``'s result; if the client goes away first (its connection closed, or closed
    to make room), the wait ends there and its place among the streams is given back."""
    answer = asyncio.ensure_future(waiting)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not answer.done():
            answer.cancel()
        await asyncio.gather(answer, gone, return_exceptions=True)
    if answer.cancelled():
        raise HTTPException(499, "the client went away")
    return answer.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.post("/callbacks/{callback_id}/redeliver")
async def redeliver(delivery: DeliveryDep, callback_id: int) -> dict[str, Any]:
    """Send a callback again (after what is pending for its session)."""
    callback = await delivery.redeliver(callback_id)
    if callback is None:
        raise HTTPException(404, f"callback {callback_id} does not exist")
    return callback_view(callback)
