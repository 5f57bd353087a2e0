"""Control plane: the emulator's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict

from emulator.clock import Clock, format_iso_ms
from emulator.deps import (
    ClockDep,
)

__all__ = ["router"]

router = APIRouter()


class ClockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    freeze_at: datetime | None = None
    advance_seconds: float | None = None
    reset: bool = False
    hold: bool | None = None


def _clock_view(clock: Clock) -> dict[str, Any]:
    return {"now": format_iso_ms(clock.now_ms()), "frozen": clock.frozen}


@router.get("/clock")
async def read_clock(clock: ClockDep) -> dict[str, Any]:
    """The emulator's clock: what time it is, and whether it is frozen (or held)."""
    return _clock_view(clock)


@router.post("/clock")
async def set_clock(clock: ClockDep, request: ClockRequest) -> dict[str, Any]:
    """Freeze the clock at a moment, move it on, give it back to real time, or hold it.

    Applied in this order: ``reset`` (back to real time: a deadline now past fires at once),
    ``freeze_at`` (stop at that moment), ``advance_seconds`` (move on: the deadlines passed
    fire at once), ``hold`` (``true``: stop at the current instant, so that nothing times out
    while a person types; ``false``: run again from the instant it stood at, so no deadline
    jumps ahead). The clock is the whole emulator's: every session's ``Timeout`` follows it.
    """
    if request.reset:
        clock.reset()
    if request.freeze_at is not None:
        moment = request.freeze_at
        if moment.tzinfo is None:
            raise HTTPException(400, "freeze_at needs a time zone, e.g. 2030-01-01T00:00:00Z")
        clock.freeze_at(moment)
    if request.advance_seconds is not None:
        clock.advance(request.advance_seconds)
    if request.hold is True:
        clock.hold()
    elif request.hold is False:
        clock.release()
    return _clock_view(clock)
