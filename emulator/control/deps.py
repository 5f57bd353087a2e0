"""Typed dependencies of the control-plane routes: one per service the routes use.

``create_app`` puts each service on the FastAPI app's ``state`` under the name below.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from emulator.accounts import AccountService
from emulator.callbacks.outbox import Outbox
from emulator.clock import Clock
from emulator.faults import Faults
from emulator.journal import Journal
from emulator.payments.service import PaymentService
from emulator.reset import Resetter

__all__ = [
    "AccountsDep",
    "ClockDep",
    "FaultsDep",
    "JournalDep",
    "OutboxDep",
    "PaymentsDep",
    "ResetterDep",
]


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


def get_accounts(request: Request) -> AccountService:
    service: AccountService = _state(request, "accounts")
    return service


def get_payments(request: Request) -> PaymentService:
    service: PaymentService = _state(request, "payments")
    return service


def get_outbox(request: Request) -> Outbox:
    outbox: Outbox = _state(request, "outbox")
    return outbox


def get_journal(request: Request) -> Journal:
    journal: Journal = _state(request, "journal")
    return journal


def get_faults(request: Request) -> Faults:
    faults: Faults = _state(request, "faults")
    return faults


def get_clock(request: Request) -> Clock:
    clock: Clock = _state(request, "clock")
    return clock


def get_resetter(request: Request) -> Resetter:
    resetter: Resetter = _state(request, "resetter")
    return resetter


AccountsDep = Annotated[AccountService, Depends(get_accounts)]
PaymentsDep = Annotated[PaymentService, Depends(get_payments)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
JournalDep = Annotated[Journal, Depends(get_journal)]
FaultsDep = Annotated[Faults, Depends(get_faults)]
ClockDep = Annotated[Clock, Depends(get_clock)]
ResetterDep = Annotated[Resetter, Depends(get_resetter)]
