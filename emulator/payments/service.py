"""Payments: one request, one transaction. Idempotency, the machine, the store.

``create`` and ``update`` each run as one unit of the database's group commit: look up the
IdempotencyKey (a stored answer is returned as it was, byte for byte), load what the request
acts on, ask the machine for the next state, write the session and the idempotency record,
and return the answer, which the caller gets only once all of it is committed.

The request arrives already parsed by the edge, or as the error its parsing raised: that
error is an answer of the endpoint like any other, stored against the key.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, Generic, TypeVar

from emulator.clock import Clock
from emulator.errors import (
    ConnectorUnknown,
    IdempotencyKeyReused,
    InvalidCallState,
    InvalidPayOperation,
    ResourceNotFound,
    TwilioError,
)
from emulator.ids import IdGenerator
from emulator.payments import connectors, machine
from emulator.payments.requests import CreatePayment, UpdatePayment
from emulator.store import calls, idempotency, sessions
from emulator.store import connectors as connector_store
from emulator.store.db import Database
from emulator.store.sessions import SessionRecord
from emulator.twilio_api.render import Answer, payment_body

__all__ = ["PaymentService", "Requested"]

logger = logging.getLogger("emulator.payments")

CREATE: Final = "create"
UPDATE: Final = "update"


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Requested(Generic[T]):
    """What the edge hands over: the request's identity, and the request or its parse error."""

    account_sid: str
    path: str
    idempotency_key: str
    fingerprint: str
    parsed: T | TwilioError

    def request(self) -> T:
        if isinstance(self.parsed, TwilioError):
            raise self.parsed
        return self.parsed


class PaymentService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        strict_calls: bool = False,
        idempotency_ttl_ms: int = 24 * 3600 * 1000,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._strict_calls = strict_calls
        self._ttl_ms = idempotency_ttl_ms

    # --- the two endpoints -----------------------------------------------------------------

    async def create(self, call_sid: str, requested: Requested[CreatePayment]) -> Answer:
        return await self._idempotent(
            requested, call_sid, lambda conn, now: self._create(conn, now, call_sid, requested)
        )

    async def update(
        self, call_sid: str, payment_sid: str, requested: Requested[UpdatePayment]
    ) -> Answer:
        return await self._idempotent(
            requested,
            payment_sid,
            lambda conn, now: self._update(conn, now, call_sid, payment_sid, requested),
        )

    # --- idempotency -----------------------------------------------------------------------

    async def _idempotent(
        self,
        requested: Requested[CreatePayment] | Requested[UpdatePayment],
        scope_sid: str,
        work: Callable[[sqlite3.Connection, int], Answer],
    ) -> Answer:
        def unit(conn: sqlite3.Connection) -> Answer:
            now = self._clock.now_ms()
            key = requested.idempotency_key
            stored = idempotency.lookup(
                conn, requested.account_sid, scope_sid, key, now - self._ttl_ms
            )
            if stored is not None:
                if stored.fingerprint != requested.fingerprint:
                    raise IdempotencyKeyReused(
                        f"IdempotencyKey '{key}' was already used with different parameters"
                    )
                return Answer(stored.status, stored.body)
            conn.execute("SAVEPOINT attempt")
            try:
                answer = work(conn, now)
            except TwilioError as exc:
                if exc.status >= 500:
                    raise
                conn.execute("ROLLBACK TO attempt")
                answer = Answer(exc.status, exc.body())
            conn.execute("RELEASE attempt")
            record = idempotency.StoredAnswer(requested.fingerprint, answer.status, answer.body)
            idempotency.remember(conn, requested.account_sid, scope_sid, key, record, now)
            return answer

        try:
            return await self._db.write(unit)
        except sqlite3.IntegrityError:
            # Another process stored this key between our look-up and our insert: its
            # answer is now committed, so a second pass replays it.
            return await self._db.write(unit)

    async def purge_expired_keys(self) -> int:
        not_before = self._clock.now_ms() - self._ttl_ms
        return await self._db.write(lambda conn: idempotency.purge(conn, not_before))

    # --- the work of each endpoint -----------------------------------------------------------

    def _create(
        self,
        conn: sqlite3.Connection,
        now: int,
        call_sid: str,
        requested: Requested[CreatePayment],
    ) -> Answer:
        account_sid = requested.account_sid
        call = calls.get(conn, call_sid)
        if call is None and not self._strict_calls:
            call = calls.insert(conn, call_sid, account_sid, now)
        if call is None or call.account_sid != account_sid:
            raise ResourceNotFound(requested.path)
        if call.status != calls.IN_PROGRESS:
            raise InvalidCallState(f"Invalid call state: call {call_sid} is {call.status}")
        request = requested.request()
        connector = connector_store.get(conn, account_sid, request.payment_connector)
        if connector is None:
            raise ConnectorUnknown(
                f"Pay: Invalid paymentConnector attribute: no connector named"
                f" '{request.payment_connector}' is installed"
            )
        connectors.check_request(
            connector,
            request.payment_method,
            request.charge_amount is not None,
            request.currency,
            request.token_type,
        )
        if sessions.active_on_call(conn, call_sid):
            raise InvalidPayOperation(
                "Pay: Invalid Operation: a payment session is already in progress on this call"
            )
        session, _event = machine.start(request.session_config())
        record = SessionRecord(
            sid=self._ids.sid("PK"),
            account_sid=account_sid,
            call_sid=call_sid,
            request=request,
            session=session,
            status_callback=request.status_callback,
            created_at_ms=now,
            updated_at_ms=now,
        )
        sessions.insert(conn, record)
        return Answer(201, _body(record))

    def _update(
        self,
        conn: sqlite3.Connection,
        now: int,
        call_sid: str,
        payment_sid: str,
        requested: Requested[UpdatePayment],
    ) -> Answer:
        record = sessions.load(conn, payment_sid)
        if (
            record is None
            or record.account_sid != requested.account_sid
            or record.call_sid != call_sid
        ):
            raise ResourceNotFound(requested.path)
        request = requested.request()
        if request.capture is not None:
            session, _event = machine.capture(record.session, request.capture)
        elif request.status == "complete":
            session, _event = machine.complete(record.session, self._settler(record))
        else:
            session, _event = machine.cancel(record.session)
        record = replace(
            record,
            session=session,
            status_callback=request.status_callback,
            updated_at_ms=now,
        )
        sessions.save(conn, record)
        return Answer(202, _body(record))

    def _settler(self, record: SessionRecord) -> Callable[[machine.Session], machine.Settlement]:
        def settle(session: machine.Session) -> machine.Settlement:
            return connectors.settle(
                record.request.payment_method,
                record.request.charge_amount is not None,
                record.request.token_type,
                session.card_outcome,
                self._ids.hex32,
            )

        return settle


def _body(record: SessionRecord) -> bytes:
    return payment_body(
        record.account_sid, record.call_sid, record.sid, record.created_at_ms, record.updated_at_ms
    )
