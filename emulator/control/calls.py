"""Control plane: calls, their simulated callers, and what a call running TwiML did."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from emulator.control.accounts import ACCOUNT_SID
from emulator.control.views import call_view
from emulator.deps import CallerDep, CallsDep
from emulator.domain.calls import CALL_EVENTS
from emulator.domain.scripts import MAX_SCRIPT_ITEMS, InvalidScript
from emulator.domain.vocabulary import CallerMode
from emulator.services.calls import CallService, InboundCall, NotGathering
from emulator.services.sessions import UnknownResource

__all__ = ["router"]

router = APIRouter()

Url = Field(default=None, pattern=r"^https?://\S+$", max_length=4000)
Method = Literal["GET", "POST"]
Number = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\s]+$")
Event = Literal["initiated", "ringing", "answered", "completed"]


def _completed() -> list[Event]:
    return ["completed"]


class NewCallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    account_sid: str = Field(pattern=ACCOUNT_SID)
    caller: CallerMode | None = None
    script: dict[str, str] = Field(default_factory=dict, max_length=MAX_SCRIPT_ITEMS)
    url: str | None = Url
    voice_url: str | None = Url
    method: Method = "POST"
    from_: str | None = Field(
        default=None, alias="from", min_length=1, max_length=64, pattern=r"^\S+$"
    )
    to: str | None = Number
    fallback_url: str | None = Url
    fallback_method: Method = "POST"
    status_callback: str | None = Url
    status_callback_method: Method = "POST"
    status_callback_event: list[Event] = Field(default_factory=_completed, max_length=4)


class NewCallResponse(BaseModel):
    call_sid: str
    account_sid: str
    status: str
    caller: str | None
    url: str | None
    direction: str
    voice_url: str | None


@router.post("/calls", status_code=201)
async def create_call(calls: CallsDep, request: NewCallRequest) -> NewCallResponse:
    """A new call with a simulated caller (``auto`` or ``manual``) and its script. With a
    ``voice_url``: an inbound call, ringing, that fetches its TwiML from there; without: a
    call in progress that runs no TwiML."""
    try:
        call = await calls.create(
            InboundCall(
                request.account_sid,
                caller=request.caller,
                script=request.script,
                url=request.url,
                voice_url=request.voice_url,
                method=request.method,
                from_=request.from_,
                to=request.to,
                fallback_url=request.fallback_url,
                fallback_method=request.fallback_method,
                status_callback=request.status_callback,
                status_callback_method=request.status_callback_method,
                status_callback_events=tuple(
                    event for event in CALL_EVENTS if event in request.status_callback_event
                ),
            )
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
        direction=call.direction,
        voice_url=call.voice_url,
    )


@router.get("/calls/{call_sid}")
async def call(calls: CallsDep, call_sid: str) -> dict[str, Any]:
    """The call: its status, what it waits in, its timeline (documents, verbs, prompts,
    ``<Pay>`` steps, keys, notifications), its status callbacks and what its ``<Pay>``s
    sent."""
    return _view(calls, call_sid)


def _view(calls: CallService, call_sid: str) -> dict[str, Any]:
    record = calls.get(call_sid)
    if record is None:
        raise HTTPException(404, f"call {call_sid} does not exist")
    return call_view(
        record,
        calls.waiting(call_sid),
        calls.steps(call_sid),
        calls.status_callbacks(call_sid),
        calls.pay_callbacks(call_sid),
    )


@router.post("/calls/{call_sid}/hangup")
async def hang_up(calls: CallsDep, call_sid: str) -> dict[str, str]:
    """End the call; a session still active on it ends with ``caller-hung-up``."""
    try:
        call = await calls.hang_up(call_sid)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    return {"call_sid": call.sid, "status": call.status}


class DigitsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digits: str = Field(min_length=1, max_length=64, pattern=r"^[0-9*#]+$")


@router.post("/calls/{call_sid}/digits")
async def key_digits(calls: CallsDep, call_sid: str, request: DigitsRequest) -> dict[str, Any]:
    """The caller keys digits into the call's ``<Gather>``, or into what its ``<Pay>`` asks
    for (``#`` ends an entry, ``*`` the ``<Pay>``); 409 when it waits in neither."""
    try:
        await calls.key(call_sid, request.digits)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except NotGathering as exc:
        raise HTTPException(409, str(exc)) from None
    return _view(calls, call_sid)


class CallerModeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: CallerMode
    script: dict[str, str] | None = Field(default=None, max_length=MAX_SCRIPT_ITEMS)


@router.post("/calls/{call_sid}/caller")
async def set_caller(
    caller: CallerDep, call_sid: str, request: CallerModeRequest
) -> dict[str, str | None]:
    """Switch the call's simulated caller (and its active session's) to auto or manual; with
    ``script``, give it a new script."""
    try:
        call = await caller.set_caller(call_sid, request.mode, request.script)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidScript as exc:
        raise HTTPException(400, f"invalid script: {exc}") from None
    return {"call_sid": call.sid, "caller": call.caller}
