"""Typed dependencies of the control plane's and the inspector's routes: one per service.

The edges reach the services through these and nothing else (never the store, never
``app.py``). ``create_app`` puts each service on the FastAPI app's ``state`` under the
attribute name its getter reads (:data:`STATE_NAMES`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from emulator.clock import Clock
from emulator.services.accounts import AccountService
from emulator.services.callback_log import CallbackLog
from emulator.services.caller import Caller
from emulator.services.calls import CallService
from emulator.services.changes import Changes
from emulator.services.delivery import Delivery
from emulator.services.faults import Faults
from emulator.services.journal import Journal
from emulator.services.listings import Listings
from emulator.services.metrics import Metrics
from emulator.services.phones import PhoneBook
from emulator.services.reset import Resetter
from emulator.services.sessions import Sessions
from emulator.services.settlement import SettlementService
from emulator.services.streams import Streams

__all__ = [
    "STATE_NAMES",
    "AccountsDep",
    "CallbackLogDep",
    "CallerDep",
    "CallsDep",
    "ChangesDep",
    "ClockDep",
    "DeliveryDep",
    "FaultsDep",
    "JournalDep",
    "ListingsDep",
    "MetricsDep",
    "PhonesDep",
    "ResetterDep",
    "SessionsDep",
    "SettlementDep",
    "StreamsDep",
]

STATE_NAMES = {
    "accounts": AccountService,
    "callback_log": CallbackLog,
    "caller": Caller,
    "calls": CallService,
    "changes": Changes,
    "clock": Clock,
    "delivery": Delivery,
    "faults": Faults,
    "journal": Journal,
    "listings": Listings,
    "metrics": Metrics,
    "phones": PhoneBook,
    "resetter": Resetter,
    "sessions": Sessions,
    "settlement": SettlementService,
    "streams": Streams,
}
"""The ``app.state`` attribute of each service, and its type."""


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name)


def get_accounts(request: Request) -> AccountService:
    service: AccountService = _state(request, "accounts")
    return service


def get_callback_log(request: Request) -> CallbackLog:
    service: CallbackLog = _state(request, "callback_log")
    return service


def get_caller(request: Request) -> Caller:
    service: Caller = _state(request, "caller")
    return service


def get_calls(request: Request) -> CallService:
    service: CallService = _state(request, "calls")
    return service


def get_changes(request: Request) -> Changes:
    service: Changes = _state(request, "changes")
    return service


def get_clock(request: Request) -> Clock:
    clock: Clock = _state(request, "clock")
    return clock


def get_delivery(request: Request) -> Delivery:
    service: Delivery = _state(request, "delivery")
    return service


def get_faults(request: Request) -> Faults:
    service: Faults = _state(request, "faults")
    return service


def get_journal(request: Request) -> Journal:
    service: Journal = _state(request, "journal")
    return service


def get_listings(request: Request) -> Listings:
    service: Listings = _state(request, "listings")
    return service


def get_metrics(request: Request) -> Metrics:
    service: Metrics = _state(request, "metrics")
    return service


def get_phones(request: Request) -> PhoneBook:
    service: PhoneBook = _state(request, "phones")
    return service


def get_resetter(request: Request) -> Resetter:
    service: Resetter = _state(request, "resetter")
    return service


def get_sessions(request: Request) -> Sessions:
    service: Sessions = _state(request, "sessions")
    return service


def get_settlement(request: Request) -> SettlementService:
    service: SettlementService = _state(request, "settlement")
    return service


def get_streams(request: Request) -> Streams:
    service: Streams = _state(request, "streams")
    return service


AccountsDep = Annotated[AccountService, Depends(get_accounts)]
CallbackLogDep = Annotated[CallbackLog, Depends(get_callback_log)]
CallerDep = Annotated[Caller, Depends(get_caller)]
CallsDep = Annotated[CallService, Depends(get_calls)]
ChangesDep = Annotated[Changes, Depends(get_changes)]
ClockDep = Annotated[Clock, Depends(get_clock)]
DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
FaultsDep = Annotated[Faults, Depends(get_faults)]
JournalDep = Annotated[Journal, Depends(get_journal)]
ListingsDep = Annotated[Listings, Depends(get_listings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
PhonesDep = Annotated[PhoneBook, Depends(get_phones)]
ResetterDep = Annotated[Resetter, Depends(get_resetter)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
SettlementDep = Annotated[SettlementService, Depends(get_settlement)]
StreamsDep = Annotated[Streams, Depends(get_streams)]
