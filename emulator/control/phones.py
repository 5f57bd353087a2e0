"""Control plane: phones, the simulated caller who answers at a number before any call exists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from emulator.control.accounts import ACCOUNT_SID
from emulator.deps import PhonesDep
from emulator.domain.phones import Phone
from emulator.domain.scripts import MAX_SCRIPT_ITEMS, InvalidScript
from emulator.domain.vocabulary import AUTO, CallerMode
from emulator.services.sessions import UnknownResource

__all__ = ["router"]

router = APIRouter()

NUMBER = r"^\S{1,64}$"


class PhoneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_sid: str = Field(pattern=ACCOUNT_SID)
    number: str = Field(pattern=NUMBER, max_length=64)
    caller: CallerMode = AUTO
    script: dict[str, str] = Field(default_factory=dict, max_length=MAX_SCRIPT_ITEMS)


class PhoneView(BaseModel):
    account_sid: str
    number: str
    caller: str
    items: list[str]  # the script's keys: its values may be card numbers, never shown


class PhoneList(BaseModel):
    phones: list[PhoneView]


class Removed(BaseModel):
    removed: int


def _view(phone: Phone) -> PhoneView:
    return PhoneView(
        account_sid=phone.account_sid, number=phone.number, caller=phone.caller, items=phone.items
    )


@router.post("/phones", status_code=201)
async def set_phone(phones: PhonesDep, request: PhoneRequest) -> PhoneView:
    """Set up the phone at ``number`` for the account: every call the Calls API places to it
    (``To``), and every control-plane call from it that names no caller or script, starts
    with this caller mode and script. Replaces the phone already at that number."""
    try:
        phone = phones.set(
            Phone(request.account_sid, request.number, request.caller, request.script)
        )
    except UnknownResource as exc:
        raise HTTPException(404, str(exc)) from None
    except InvalidScript as exc:
        raise HTTPException(400, f"invalid script: {exc}") from None
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return _view(phone)


@router.get("/phones")
async def list_phones(
    phones: PhonesDep,
    account_sid: Annotated[str | None, Query(pattern=ACCOUNT_SID)] = None,
) -> PhoneList:
    """The phones set up (of one account), oldest first, with their scripts' items only."""
    return PhoneList(phones=[_view(phone) for phone in phones.listed(account_sid)])


@router.delete("/phones")
async def remove_phones(
    phones: PhonesDep,
    account_sid: Annotated[str | None, Query(pattern=ACCOUNT_SID)] = None,
    number: Annotated[str | None, Query(pattern=NUMBER, max_length=64)] = None,
) -> Removed:
    """Forget the phones (of one account; only the one at ``number``). Calls already placed
    keep their callers."""
    return Removed(removed=phones.remove(account_sid, number))
