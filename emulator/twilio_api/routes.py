"""The Payments routes: parse the form, run the service inside the IdempotencyKey's unit,
render the session.

``POST .../Calls/{CallSid}/Payments.json`` starts a session (201);
``POST .../Calls/{CallSid}/Payments/{Sid}.json`` captures, completes or cancels (202).
"""

from __future__ import annotations

import re
import sqlite3

from emulator.domain.records import Answer
from emulator.errors import ResourceNotFound
from emulator.services.idempotency import IdempotentAnswers, KeyScope, fingerprint
from emulator.services.payments import PaymentRequests
from emulator.services.sessions import UnknownResource
from emulator.twilio_api.asgi import ApiRequest, Route
from emulator.twilio_api.params import Form, idempotency_key, parse_create, parse_update
from emulator.twilio_api.render import payment_body

__all__ = ["CREATE_PATH", "UPDATE_PATH", "payment_routes"]

_CALL = r"^/2010-04-01/Accounts/(?P<account_sid>AC[0-9a-fA-F]{32})/Calls/(?P<call_sid>CA[0-9a-fA-F]{32})"
CREATE_PATH = re.compile(_CALL + r"/Payments\.json$")
UPDATE_PATH = re.compile(_CALL + r"/Payments/(?P<payment_sid>PK[0-9a-fA-F]{32})\.json$")

CREATED = 201
ACCEPTED = 202


def _scope(request: ApiRequest, form: Form, endpoint: str, resource_sid: str) -> KeyScope:
    return KeyScope(
        account_sid=request.principal.account_sid,
        resource_sid=resource_sid,
        key=idempotency_key(form),
        fingerprint=fingerprint(endpoint, request.form),
    )


def payment_routes(
    service: PaymentRequests,
    answers: IdempotentAnswers,
    *,
    invalid_charge_amount: str = "refuse",
) -> list[Route]:
    """The two routes. ``invalid_charge_amount``: how a create with a ChargeAmount out of
    range is answered (the setting: ``refuse`` or ``validation-error``)."""

    async def create(request: ApiRequest) -> Answer:
        account_sid = request.principal.account_sid
        call_sid = request.path_params["call_sid"]
        form = dict(request.form)

        def work(conn: sqlite3.Connection, now: int) -> Answer:
            try:
                record = service.create(
                    conn,
                    now,
                    account_sid,
                    call_sid,
                    lambda: parse_create(form, invalid_charge_amount),
                )
            except UnknownResource:
                raise ResourceNotFound(request.path) from None
            return Answer(CREATED, payment_body(record))

        return await answers.answer(_scope(request, form, "create", call_sid), work)

    async def update(request: ApiRequest) -> Answer:
        account_sid = request.principal.account_sid
        call_sid = request.path_params["call_sid"]
        payment_sid = request.path_params["payment_sid"]
        form = dict(request.form)

        def work(conn: sqlite3.Connection, now: int) -> Answer:
            try:
                record = service.update(
                    conn, now, account_sid, call_sid, payment_sid, lambda: parse_update(form)
                )
            except UnknownResource:
                raise ResourceNotFound(request.path) from None
            return Answer(ACCEPTED, payment_body(record))

        return await answers.answer(_scope(request, form, "update", payment_sid), work)

    return [Route(CREATE_PATH, create), Route(UPDATE_PATH, update)]
