"""Control plane: calls and their simulated callers."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from emulator.control.accounts import ACCOUNT_SID
from emulator.deps import (
    CallerDep,
)
from emulator.domain.scripts import InvalidScript
from emulator.domain.vocabulary import CallerMode
from emulator.services.sessions import UnknownResource

__all__ = ["router"]

router = APIRouter()


class NewCallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_sid: str = Field(pattern=ACCOUNT_SID)
    caller: CallerMode | None = None
    script: dict[str, str] = Field(default_factory=dict)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


class NewCallResponse(BaseModel):
    call_sid: str
    account_sid: str
    status: str
    caller: str | None
    url: str | None


@router.post("/calls", status_code=201)
async def create_call(caller: CallerDep, request: NewCallRequest) -> NewCallResponse:
    """A new in-progress call with a simulated caller (``auto`` or ``manual``) and its script."""
    try:
        call = await caller.create_call(
            request.account_sid, request.caller, request.script, request.url
        )
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidScript as exc:
        raise HTTPException(400, f"invalid script: {exc}") from None
    return NewCallResponse(
        call_sid=call.sid,
        account_sid=call.account_sid,
        status=call.status,
        caller=call.caller,
        url=call.url,
    )


@router.post("/calls/{call_sid}/hangup")
async def hang_up(caller: CallerDep, call_sid: str) -> dict[str, str]:
    """End the call; a session still active on it ends with ``caller-hung-up``."""
    try:
        call = await caller.hang_up(call_sid)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    return {"call_sid": call.sid, "status": call.status}


class CallerModeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: CallerMode


@router.post("/calls/{call_sid}/caller")
async def set_caller(
    caller: CallerDep, call_sid: str, request: CallerModeRequest
) -> dict[str, str | None]:
    """Switch the call's simulated caller (and its active session's) to auto or manual."""
    try:
        call = await caller.set_caller(call_sid, request.mode)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    return {"call_sid": call.sid, "caller": call.caller}
