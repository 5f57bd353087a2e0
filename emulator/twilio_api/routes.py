"""The Payments routes: parse the form once, call the service, hand back its answer.

``POST .../Calls/{CallSid}/Payments.json`` starts a session (201);
``POST .../Calls/{CallSid}/Payments/{Sid}.json`` captures, completes or cancels (202).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from emulator.errors import TwilioError
from emulator.payments.service import PaymentService, Requested
from emulator.store.idempotency import fingerprint
from emulator.twilio_api.asgi import ApiRequest, Route
from emulator.twilio_api.params import Form, parse_create, parse_update, require
from emulator.twilio_api.render import Answer

__all__ = ["CREATE_PATH", "UPDATE_PATH", "payment_routes"]

_CALL = r"^/2010-04-01/Accounts/(?P<account_sid>AC[0-9a-fA-F]{32})/Calls/(?P<call_sid>CA[0-9a-fA-F]{32})"
CREATE_PATH = re.compile(_CALL + r"/Payments\.json$")
UPDATE_PATH = re.compile(_CALL + r"/Payments/(?P<payment_sid>PK[0-9a-fA-F]{32})\.json$")

T = TypeVar("T")


def _requested(request: ApiRequest, endpoint: str, parse: Callable[[Form], T]) -> Requested[T]:
    form = dict(request.form)
    key = require(form, "IdempotencyKey")
    parsed: T | TwilioError
    try:
        parsed = parse(form)
    except TwilioError as exc:
        parsed = exc
    return Requested(
        account_sid=request.principal.account_sid,
        path=request.path,
        idempotency_key=key,
        fingerprint=fingerprint(endpoint, request.form),
        parsed=parsed,
    )


def payment_routes(service: PaymentService) -> list[Route]:
    async def create(request: ApiRequest) -> Answer:
        requested = _requested(request, "create", parse_create)
        return await service.create(request.path_params["call_sid"], requested)

    async def update(request: ApiRequest) -> Answer:
        requested = _requested(request, "update", parse_update)
        params = request.path_params
        return await service.update(params["call_sid"], params["payment_sid"], requested)

    return [Route(CREATE_PATH, create), Route(UPDATE_PATH, update)]
