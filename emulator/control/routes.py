"""``/_emulator/...``: what tests use to drive and inspect the emulator (its own router, as
moto keeps moto-api apart): health, reset, accounts, calls and their callers, sessions,
callbacks and the request journal.

The control plane has no authentication: it is meant for tests on a private network.
Its errors use FastAPI's usual ``{"detail": ...}`` shape, not Twilio's.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator import __version__
from emulator.clock import Clock, format_iso_ms
from emulator.control.views import callback_view, connector_view, session_view
from emulator.deps import (
    AccountsDep,
    CallbackLogDep,
    CallerDep,
    ChangesDep,
    ClockDep,
    DeliveryDep,
    FaultsDep,
    JournalDep,
    ResetterDep,
    SessionsDep,
    SettlementDep,
)
from emulator.domain.fixtures import ConnectorFixture
from emulator.domain.machine import NothingToCapture
from emulator.domain.records import ForcedOutcome
from emulator.domain.scripts import InvalidScript
from emulator.domain.vocabulary import CallerMode
from emulator.paths import CONTROL_PREFIX
from emulator.services.accounts import NotAMainAccount, UnknownAccount
from emulator.services.faults import Action
from emulator.services.sessions import Sessions, UnknownResource
from emulator.services.settlement import SessionOver, SettlementService

__all__ = ["router"]

router = APIRouter(prefix=CONTROL_PREFIX, tags=["control"])

ACCOUNT_SID = r"^AC[0-9a-fA-F]{32}$"


class Health(BaseModel):
    status: str
    version: str


class NewAccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_account_sid: str | None = Field(default=None, pattern=ACCOUNT_SID)
    friendly_name: str = ""


class NewAccountResponse(BaseModel):
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    parent_account_sid: str | None


@router.get("/health")
async def health() -> Health:
    return Health(status="ok", version=__version__)


@router.post("/reset")
async def reset(
    resetter: ResetterDep,
    account_sid: Annotated[str | None, Query(pattern=ACCOUNT_SID)] = None,
) -> dict[str, str]:
    """Wipe all state and reload the fixtures; with ``account_sid``, only that account's data."""
    try:
        await resetter.reset(account_sid)
    except UnknownAccount:
        raise HTTPException(404, f"account {account_sid} does not exist") from None
    return {"status": "reset", "scope": account_sid or "all"}


@router.post("/accounts", status_code=201)
async def create_account(
    accounts: AccountsDep, request: NewAccountRequest | None = None
) -> NewAccountResponse:
    """A fresh account with random credentials (a subaccount when a parent is named)."""
    request = request or NewAccountRequest()
    try:
        account = await accounts.create(request.parent_account_sid, request.friendly_name)
    except UnknownAccount:
        raise HTTPException(404, f"account {request.parent_account_sid} does not exist") from None
    except NotAMainAccount:
        raise HTTPException(
            400, f"account {request.parent_account_sid} is a subaccount and cannot have subaccounts"
        ) from None
    return NewAccountResponse(
        account_sid=account.account_sid,
        auth_token=account.auth_token,
        api_key_sid=account.api_key_sid,
        api_key_secret=account.api_key_secret,
        parent_account_sid=account.parent_account_sid,
    )


@router.get("/requests")
async def requests(
    journal: JournalDep,
    account_sid: str | None = None,
    call_sid: str | None = None,
    payment_sid: str | None = None,
    status: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The API requests received (newest last), optionally filtered."""
    entries = journal.query(account_sid, call_sid, payment_sid, status)
    return {"requests": [entry.as_dict() for entry in entries]}


# --- calls and the simulated caller ------------------------------------------------------


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


class KeyInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digits: str = Field(min_length=1, max_length=64)
    partial: bool = False


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


@router.post("/payments/{payment_sid}/input")
async def key_in(
    caller: CallerDep,
    sessions: SessionsDep,
    settlement: SettlementDep,
    payment_sid: str,
    request: KeyInRequest,
) -> dict[str, Any]:
    """The caller keys digits into the item being captured (``*`` ends the session)."""
    try:
        await caller.key_in(payment_sid, request.digits, request.partial)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except NothingToCapture:
        raise HTTPException(409, f"nothing is being captured on {payment_sid}") from None
    return _session_view(sessions, settlement, payment_sid)


@router.get("/payments/{payment_sid}")
async def payment(
    sessions: SessionsDep, settlement: SettlementDep, payment_sid: str
) -> dict[str, Any]:
    """Where a session has got to: state, item being captured, what is missing, history."""
    return _session_view(sessions, settlement, payment_sid)


def _session_view(
    sessions: Sessions, settlement: SettlementService, payment_sid: str
) -> dict[str, Any]:
    record = sessions.get(payment_sid)
    if record is None:
        raise HTTPException(404, f"payment session {payment_sid} does not exist")
    return session_view(
        record, sessions.history(payment_sid), settlement.connector_requests(payment_sid)
    )


OUTCOME_RESULTS = ("success", "payment-connector-error", "validation-error")


class OutcomeRequest(BaseModel):
    """The complete callback's fields the next ``Status=complete`` produces."""

    model_config = ConfigDict(extra="forbid")

    result: str
    pay_error_code: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$")
    payment_error: str | None = Field(default=None, max_length=512)
    connector_error: str | None = Field(default=None, max_length=512)


@router.post("/payments/{payment_sid}/outcome")
async def force_outcome(
    sessions: SessionsDep, settlement: SettlementDep, payment_sid: str, request: OutcomeRequest
) -> dict[str, Any]:
    """Decide what the session's next ``Status=complete`` produces, whatever the card."""
    if request.result not in OUTCOME_RESULTS:
        raise HTTPException(400, f"result must be one of {', '.join(OUTCOME_RESULTS)}")
    outcome = ForcedOutcome(
        result=request.result,
        pay_error_code=int(request.pay_error_code) if request.pay_error_code else None,
        payment_error=request.payment_error or "",
        connector_error=request.connector_error or "",
    )
    try:
        await settlement.force_outcome(payment_sid, outcome)
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except SessionOver as exc:
        raise HTTPException(409, str(exc)) from None
    return _session_view(sessions, settlement, payment_sid)


# --- Pay Connectors ----------------------------------------------------------------------


@router.post("/connectors", status_code=201)
async def put_connector(settlement: SettlementDep, request: ConnectorFixture) -> dict[str, Any]:
    """Install a Pay Connector on an account (a fixture entry's fields; a ``generic`` object
    makes it a Generic Pay Connector); one of the same name on the account is replaced."""
    try:
        await settlement.put_connector(request.account_sid, request.connector())
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    return connector_view(request.account_sid, request.connector())


# --- callbacks ---------------------------------------------------------------------------


@router.get("/callbacks")
async def callbacks(
    log: CallbackLogDep,
    payment_sid: str | None = None,
    call_sid: str | None = None,
    account_sid: str | None = None,
    wait_for: Annotated[int, Query(ge=0)] = 0,
    timeout_s: Annotated[float, Query(alias="timeout", gt=0, le=120)] = 10.0,
) -> dict[str, list[dict[str, Any]]]:
    """The StatusCallbacks, in order; ``wait_for=N`` waits until N of them were attempted."""
    filters = {"payment_sid": payment_sid, "call_sid": call_sid, "account_sid": account_sid}
    if wait_for:
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


# --- faults ------------------------------------------------------------------------------


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Action
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]+$")
    path: str | None = None  # a regular expression, searched in the request path
    account_sid: str | None = Field(default=None, pattern=ACCOUNT_SID)
    status: int = Field(default=500, ge=400, le=599)
    code: int = Field(default=20500, ge=1)
    message: str | None = None
    delay_ms: int = Field(default=0, ge=0, le=120_000)
    times: int | None = Field(default=None, ge=1)
    probability: float | None = Field(default=None, gt=0, le=1)

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value


@router.post("/faults", status_code=201)
async def add_fault(faults: FaultsDep, request: FaultRequest) -> dict[str, Any]:
    """A rule answering matching Twilio requests with an error, a delay or a dropped connection."""
    return faults.add(**request.model_dump()).view()


@router.get("/faults")
async def list_faults(faults: FaultsDep) -> dict[str, list[dict[str, Any]]]:
    """The rules, with how often each fired."""
    return {"faults": [rule.view() for rule in faults.rules()]}


@router.delete("/faults")
async def clear_faults(faults: FaultsDep) -> dict[str, list[dict[str, Any]]]:
    faults.clear()
    return {"faults": []}


# --- the clock ---------------------------------------------------------------------------


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


# --- live views: the change feed, and what the inspector needs ------------------------------

EVENTS_RETRY_MS = 1000  # how soon a browser reconnects
EVENTS_KEEPALIVE_S = 5.0
EVENTS_LIFETIME_S = 15.0  # a stream ends after this, and the browser reconnects at once
EVENTS_MIN_INTERVAL_S = 0.2  # at most five "changed" events a second: bursts coalesce


def _event_id(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() and len(text) < 19 else None


@router.get("/events")
async def events(
    changes: ChangesDep,
    since: Annotated[int | None, Query(ge=0)] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: ``changed`` (data: the new version) whenever the emulator's state
    moved on (a commit, a journal entry, a control-plane write), at most five a second; a
    comment every few seconds otherwise. ``since`` (or the ``Last-Event-ID`` a reconnecting
    browser sends) is the version the client has seen: a newer one is announced at once.
    A stream ends after some seconds, or when the server stops; browsers reconnect by
    themselves."""
    seen = _event_id(last_event_id)
    start = seen if seen is not None else since if since is not None else changes.version

    async def stream() -> AsyncIterator[str]:
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

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/changes")
async def change_version(changes: ChangesDep) -> dict[str, int]:
    """The change feed's version, for clients that poll instead of listening to events."""
    return {"version": changes.version}


@router.delete("/faults/{rule_id}")
async def remove_fault(faults: FaultsDep, rule_id: int) -> dict[str, list[dict[str, Any]]]:
    """Remove one rule; answers the rules left."""
    if not faults.remove(rule_id):
        raise HTTPException(404, f"fault rule {rule_id} does not exist")
    return {"faults": [rule.view() for rule in faults.rules()]}
