"""Control plane: payment sessions as the caller and a test see them: keyed digits, the
session's view, forced outcomes, Pay Connectors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from emulator.control.views import connector_view, session_view
from emulator.deps import (
    CallerDep,
    SessionsDep,
    SettlementDep,
)
from emulator.domain.fixtures import ConnectorFixture
from emulator.domain.machine import NothingToCapture
from emulator.domain.records import ForcedOutcome
from emulator.services.sessions import Sessions, UnknownResource
from emulator.services.settlement import SessionOver, SettlementService

__all__ = ["router"]

router = APIRouter()


class KeyInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digits: str = Field(min_length=1, max_length=64)
    partial: bool = False


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


@router.post("/connectors", status_code=201)
async def put_connector(settlement: SettlementDep, request: ConnectorFixture) -> dict[str, Any]:
    """Install a Pay Connector on an account (a fixture entry's fields; a ``generic`` object
    makes it a Generic Pay Connector); one of the same name on the account is replaced."""
    try:
        await settlement.put_connector(request.account_sid, request.connector())
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    return connector_view(request.account_sid, request.connector())
