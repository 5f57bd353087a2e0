"""The Calls routes: place a call (201), fetch it (200), redirect or end it (200).

``POST .../Calls.json``, ``GET .../Calls/{Sid}.json`` and ``POST .../Calls/{Sid}.json``, with
the Twilio edge's authentication, journal and fault rules. No IdempotencyKey: the spec's
CreateCall and UpdateCall have none.
"""

from __future__ import annotations

import re

from emulator.domain.calls import CallNotLive
from emulator.domain.records import Answer
from emulator.errors import InvalidCallState, ResourceNotFound
from emulator.services.calls import CallService
from emulator.services.sessions import UnknownResource
from emulator.twilio_api.asgi import ApiRequest, Route
from emulator.twilio_api.call_params import parse_create_call, parse_update_call
from emulator.twilio_api.render import call_body

__all__ = ["CALLS_PATH", "CALL_PATH", "call_routes"]

_ACCOUNT = r"^/2010-04-01/Accounts/(?P<account_sid>AC[0-9a-fA-F]{32})"
CALLS_PATH = re.compile(_ACCOUNT + r"/Calls\.json$")
CALL_PATH = re.compile(_ACCOUNT + r"/Calls/(?P<call_sid>CA[0-9a-fA-F]{32})\.json$")

CREATED = 201
OK = 200


def call_routes(service: CallService) -> list[Route]:
    async def create(request: ApiRequest) -> Answer:
        call = await service.place(request.principal.account_sid, parse_create_call(request.form))
        return Answer(CREATED, call_body(call))

    async def fetch(request: ApiRequest) -> Answer:
        try:
            call = service.fetch(request.principal.account_sid, request.path_params["call_sid"])
        except UnknownResource:
            raise ResourceNotFound(request.path) from None
        return Answer(OK, call_body(call))

    async def update(request: ApiRequest) -> Answer:
        account_sid = request.principal.account_sid
        sid = request.path_params["call_sid"]
        try:
            service.fetch(account_sid, sid)  # an unknown call before a bad parameter
            call = await service.update(account_sid, sid, parse_update_call(request.form))
        except UnknownResource:
            raise ResourceNotFound(request.path) from None
        except CallNotLive:
            raise InvalidCallState.not_redirectable() from None
        return Answer(OK, call_body(call))

    return [
        Route(CALLS_PATH, create),
        Route(CALL_PATH, fetch, "GET"),
        Route(CALL_PATH, update),
    ]
