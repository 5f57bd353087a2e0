"""The Payments requests: create and update, applied to stored sessions.

``create`` and ``update`` run inside a transaction that their caller opened (the Twilio edge
wraps them with the IdempotencyKey's look-up and record, so that the state change and the
answer are committed together): each loads what the request acts on, asks the machine for
the next state, writes the session and the callback the event causes, and returns the
session. Errors are the machine's and the connectors' :class:`~emulator.errors.TwilioError`
subclasses, or :class:`~emulator.services.sessions.UnknownResource` for a call or session that
does not exist. What follows the commit (the auto caller keying, a Generic Pay Connector's
request) is handed to :mod:`emulator.services.caller` and :mod:`emulator.services.settlement`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from emulator.domain import connectors, machine
from emulator.domain.records import (
    TWIML,
    CreatePayment,
    ForcedOutcome,
    SessionRecord,
    UpdatePayment,
)
from emulator.domain.vocabulary import AUTO
from emulator.errors import (
    ChargeAmountInvalid,
    ConnectorUnknown,
    InvalidCallState,
    InvalidPayOperation,
)
from emulator.ids import IdGenerator
from emulator.services.caller import Caller
from emulator.services.sessions import Sessions, UnknownResource
from emulator.services.settlement import SettlementService
from emulator.services.vault import KeyedSoFar, Originals, Vault
from emulator.store import calls, sessions
from emulator.store import connectors as connector_store
from emulator.store.db import Database

__all__ = ["PaymentRequests"]


class PaymentRequests:
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        sessions: Sessions,
        caller: Caller,
        settlement: SettlementService,
        vault: Vault,
        keyed: KeyedSoFar,
        *,
        strict_calls: bool = False,
    ) -> None:
        self._db = db
        self._ids = ids
        self._sessions = sessions
        self._caller = caller
        self._settlement = settlement
        self._vault = vault
        self._keyed = keyed
        self._strict_calls = strict_calls

    def create(
        self,
        conn: sqlite3.Connection,
        now: int,
        account_sid: str,
        call_sid: str,
        request: Callable[[], CreatePayment],
    ) -> SessionRecord:
        """Start a session on the call. ``request`` parses the request: it is called once the
        call is known to exist, so that an unknown call is reported before a bad parameter."""
        call = calls.get(conn, call_sid)
        if call is None and not self._strict_calls:
            call = calls.insert(conn, call_sid, account_sid, now)
        if call is None or call.account_sid != account_sid:
            raise UnknownResource(f"call {call_sid} does not exist")
        if call.status != calls.IN_PROGRESS:
            raise InvalidCallState(f"Invalid call state: call {call_sid} is {call.status}")
        create = request()
        connector = connector_store.get(conn, account_sid, create.payment_connector)
        if connector is None:
            raise ConnectorUnknown(
                f"{ConnectorUnknown.message} No Pay Connector named"
                f" '{create.payment_connector}' is installed"
            )
        connectors.check_request(
            connector,
            create.payment_method,
            create.charge_amount is not None,
            create.currency,
            create.token_type,
            create.parameter,
        )
        if sessions.active_on_call(conn, call_sid):
            raise InvalidPayOperation(
                "Pay: Invalid Operation: a payment session is already in progress on this call"
            )
        session, event = machine.start(create.session_config())
        record = SessionRecord(
            sid=self._ids.sid("PK"),
            account_sid=account_sid,
            call_sid=call_sid,
            request=create.stored(),
            session=session,
            status_callback=create.status_callback,
            caller=call.caller or self._caller.default_mode,
            created_at_ms=now,
            updated_at_ms=now,
            forced_outcome=_validation_error(create),
        )
        sessions.insert(conn, record)
        self._sessions.announce(conn, record, event, now)
        if connector.generic is not None:  # it gets Description and Parameter as given
            originals = Originals(create.description, create.parameter)
            keep = partial(self._vault.keep_originals, account_sid, record.sid, originals)
            self._db.after_commit(keep)
        return record

    def update(
        self,
        conn: sqlite3.Connection,
        now: int,
        account_sid: str,
        call_sid: str,
        payment_sid: str,
        request: Callable[[], UpdatePayment],
    ) -> SessionRecord:
        """Capture, complete or cancel. ``request`` parses the request: it is called once the
        session is known to exist."""
        record = sessions.load(conn, payment_sid)
        if record is None or record.account_sid != account_sid or record.call_sid != call_sid:
            raise UnknownResource(f"payment session {payment_sid} does not exist")
        update = request()
        if record.origin == TWIML:
            raise InvalidPayOperation(
                "Pay: Invalid Operation: the payment session is run by a <Pay> verb on the call"
            )
        connector: connectors.Connector | None = None
        if update.capture is not None:
            session, event = machine.capture(record.session, update.capture)
        elif update.status == "complete":
            connector = self._settlement.connector_of(conn, record)
            session, event = machine.complete(
                record.session, self._settlement.settler(record, connector)
            )
        else:
            session, event = machine.cancel(record.session)
        record = replace(
            record, session=session, status_callback=update.status_callback, updated_at_ms=now
        )
        record = self._sessions.save(conn, record, now)
        if event.kind is machine.EventKind.PROCESS:
            assert connector is not None
            self._settlement.start_connector_request(record, connector)
        else:
            self._sessions.announce(conn, record, event, now)
        if event.kind is machine.EventKind.CAPTURE:
            self._keyed.drop(payment_sid)
            if record.caller == AUTO and event.item is not None:
                item = event.item
                self._db.after_commit(partial(self._caller.schedule_auto_entry, payment_sid, item))
        elif event.kind is not machine.EventKind.PROCESS:
            self._db.after_commit(partial(self._vault.drop, payment_sid))
        return record


def _validation_error(create: CreatePayment) -> ForcedOutcome | None:
    """What the session's complete ends with when the create was accepted with a parameter
    out of range (``invalid_charge_amount=validation-error``): Twilio's ``validation-error``
    ("An invalid parameter value, e.g., chargeAmount="-0.5"", the Payment resource's Result
    table), 64003 ("Pay: Invalid charge amount."). When it is reported is the emulator's
    choice: at the complete, like a connector's answer."""
    if not create.validation_error:
        return None
    return ForcedOutcome(
        machine.Result.VALIDATION_ERROR.value,
        pay_error_code=ChargeAmountInvalid.code,
        payment_error=create.validation_error,
    )
