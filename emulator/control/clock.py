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


def _clock_view(clock: Clock) -> dict[str, Any]:
    return {"now": format_iso_ms(clock.now_ms()), "frozen": clock.frozen}


@router.get("/clock")
async def read_clock(clock: ClockDep) -> dict[str, Any]:
    return _clock_view(clock)


@router.post("/clock")
async def set_clock(clock: ClockDep, request: ClockRequest) -> dict[str, Any]:
    """Freeze the clock at a moment, move it on, or give it back to real time."""
    if request.reset:
        clock.reset()
    if request.freeze_at is not None:
        moment = request.freeze_at
        if moment.tzinfo is None:
            raise HTTPException(400, "freeze_at needs a time zone, e.g. 2030-01-01T00:00:00Z")
        clock.freeze_at(moment)
    if request.advance_seconds is not None:
        clock.advance(request.advance_seconds)
    return _clock_view(clock)
