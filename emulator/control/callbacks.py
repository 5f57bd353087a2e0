"""Control plane: the StatusCallbacks, their long-poll, and redelivery."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from emulator.control.views import callback_view
from emulator.deps import (
    CallbackLogDep,
    DeliveryDep,
    MetricsDep,
)

__all__ = ["router"]

router = APIRouter()


@router.get("/callbacks")
async def callbacks(
    log: CallbackLogDep,
    metrics: MetricsDep,
    payment_sid: str | None = None,
    call_sid: str | None = None,
    account_sid: str | None = None,
    wait_for: Annotated[int, Query(ge=0)] = 0,
    timeout_s: Annotated[float, Query(alias="timeout", gt=0, le=120)] = 10.0,
) -> dict[str, list[dict[str, Any]]]:
    """The StatusCallbacks, in order; ``wait_for=N`` waits until N of them were attempted."""
    filters = {"payment_sid": payment_sid, "call_sid": call_sid, "account_sid": account_sid}
    if wait_for:
        with metrics.stream("long_poll"):
            found = await log.wait_for(filters, wait_for, timeout_s)
    else:
        found = log.find(filters)
    return {"callbacks": [callback_view(callback) for callback in found]}


@router.post("/callbacks/{callback_id}/redeliver")
async def redeliver(delivery: DeliveryDep, callback_id: int) -> dict[str, Any]:
    """Send a callback again (after what is pending for its session)."""
    callback = await delivery.redeliver(callback_id)
    if callback is None:
        raise HTTPException(404, f"callback {callback_id} does not exist")
    return callback_view(callback)
