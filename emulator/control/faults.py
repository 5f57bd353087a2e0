"""Control plane: fault rules, and the request journal they act on."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emulator.control.accounts import ACCOUNT_SID
from emulator.deps import (
    FaultsDep,
    JournalDep,
)
from emulator.services.faults import Action

__all__ = ["router"]

router = APIRouter()


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


@router.delete("/faults/{rule_id}")
async def remove_fault(faults: FaultsDep, rule_id: int) -> dict[str, list[dict[str, Any]]]:
    """Remove one rule; answers the rules left."""
    if not faults.remove(rule_id):
        raise HTTPException(404, f"fault rule {rule_id} does not exist")
    return {"faults": [rule.view() for rule in faults.rules()]}
