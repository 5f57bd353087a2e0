"""Control plane: health, reset, and fresh accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from emulator import __version__
from emulator.deps import (
    AccountsDep,
    ResetterDep,
)
from emulator.services.accounts import NotAMainAccount, UnknownAccount

__all__ = ["ACCOUNT_SID", "router"]

router = APIRouter()

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
