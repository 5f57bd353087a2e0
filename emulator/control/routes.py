"""``/_emulator/...``: health, reset and accounts (its own router, as moto keeps moto-api).

The control plane has no authentication: it is meant for tests on a private network.
Its errors use FastAPI's usual ``{"detail": ...}`` shape, not Twilio's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from emulator import __version__
from emulator.accounts import NotAMainAccount, UnknownAccount
from emulator.control.deps import EmulatorDep

__all__ = ["router"]

router = APIRouter(prefix="/_emulator", tags=["control"])

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
    emulator: EmulatorDep,
    account_sid: Annotated[str | None, Query(pattern=ACCOUNT_SID)] = None,
) -> dict[str, str]:
    """Wipe all state and reload the fixtures; with ``account_sid``, only that account's data."""
    try:
        await emulator.accounts.reset(account_sid)
    except UnknownAccount:
        raise HTTPException(404, f"account {account_sid} does not exist") from None
    emulator.journal.clear(account_sid)
    return {"status": "reset", "scope": account_sid or "all"}


@router.post("/accounts", status_code=201)
async def create_account(
    emulator: EmulatorDep, request: NewAccountRequest | None = None
) -> NewAccountResponse:
    """A fresh account with random credentials (a subaccount when a parent is named)."""
    request = request or NewAccountRequest()
    try:
        account = await emulator.accounts.create(request.parent_account_sid, request.friendly_name)
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
    emulator: EmulatorDep,
    account_sid: str | None = None,
    call_sid: str | None = None,
    payment_sid: str | None = None,
    status: int | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The API requests received (newest last), optionally filtered."""
    entries = emulator.journal.query(account_sid, call_sid, payment_sid, status)
    return {"requests": [entry.as_dict() for entry in entries]}
