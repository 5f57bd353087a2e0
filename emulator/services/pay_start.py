"""A ``<Pay>``'s payment session started, or why none is: what is checked before the caller
is asked anything.

In this order (the emulator's choice, as the Payments API's create checks the request before
the state it meets): an attribute Twilio refuses (:attr:`~emulator.domain.twiml_pay.Pay.invalid`),
the connector (installed, 64004; able to serve the payment, 64013, 64007, 64005, 64006,
64011, 64014), each ending the ``<Pay>`` with ``validation-error``; then another session
active on the call (an agent's): ``internal-error``, and the ``<Pay>``'s statusCallback gets
``ErrorType=session-in-progress``. Otherwise a session of the same machine as an agent's,
marked ``twiml``, with what the verb gave that a create request has no field for
(:class:`~emulator.domain.records.PayContext`).
"""

from __future__ import annotations

import sqlite3
from functools import partial

from emulator.clock import Clock
from emulator.domain import connectors, machine
from emulator.domain.calls import CallRecord
from emulator.domain.pay_payloads import Params, refusal_params
from emulator.domain.records import TWIML, CreatePayment, PayContext, SessionRecord
from emulator.domain.twiml import Pay
from emulator.domain.twiml_pay import MaxAttemptsMeans, tries
from emulator.domain.vocabulary import ACH_DEBIT
from emulator.errors import ConnectorUnknown, InvalidPayOperation, TwilioError
from emulator.ids import IdGenerator
from emulator.services.caller import Caller
from emulator.services.pay_events import PayEvents
from emulator.services.sessions import Sessions
from emulator.services.vault import Originals, Vault
from emulator.store import connectors as connector_store
from emulator.store import sessions as session_store
from emulator.store.db import Database

__all__ = ["Detail", "PayStarts"]

Detail = list[tuple[str, object]]


class PayStarts:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        sessions: Sessions,
        caller: Caller,
        vault: Vault,
        events: PayEvents,
        means: MaxAttemptsMeans,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._sessions = sessions
        self._caller = caller
        self._vault = vault
        self._events = events
        self._means = means

    def start(
        self,
        conn: sqlite3.Connection,
        call: CallRecord,
        verb: Pay,
        action: str,
        status_callback: str | None,
    ) -> tuple[SessionRecord | Params, Detail]:
        """(the session, or the ``action`` request's parameters of a ``<Pay>`` that asks
        nothing; the verb's step on the call's timeline), inside the caller's transaction."""
        now = self._clock.now_ms()
        per_item = tries(verb.max_attempts, self._means)
        charging = verb.charge_amount is not None
        detail: Detail = [
            ("chargeAmount", verb.charge_amount),
            ("currency", verb.currency if charging else None),
            ("tokenType", None if charging else verb.token_type),
            ("paymentMethod", verb.payment_method),
            ("paymentConnector", verb.payment_connector),
            ("action", action),
            ("statusCallback", status_callback),
            ("maxAttempts", f"{verb.max_attempts} ({per_item} tries an item)"),
            ("timeout", verb.timeout),
            ("language", verb.language),
        ]
        parameter = {p.name: p.value for p in verb.parameters} or None
        connector = connector_store.get(conn, call.account_sid, verb.payment_connector)
        refusal = _refusal(verb, connector, parameter)
        if refusal is None and session_store.active_on_call(conn, call.sid):
            message = (
                "Pay: Invalid Operation: a payment session is already in progress on this call"
            )
            refusal = ("internal-error", message, InvalidPayOperation.code)
            if status_callback:
                self._events.refused(
                    conn,
                    call.account_sid,
                    call.sid,
                    status_callback,
                    verb.status_callback_method,
                    "session-in-progress",
                    now,
                )
        if refusal is not None:
            result, message, code = refusal
            detail += [("result", result), ("paymentError", message), ("payErrorCode", code)]
            return refusal_params(result, verb.payment_method, message, code), detail
        assert connector is not None
        create = CreatePayment(
            status_callback="",
            payment_method=verb.payment_method,
            bank_account_type=verb.bank_account_type if verb.payment_method == ACH_DEBIT else None,
            charge_amount=verb.charge_amount,
            currency=verb.currency,
            description=verb.description,
            min_postal_code_length=verb.min_postal_code_length,
            parameter=parameter,
            payment_connector=verb.payment_connector,
            postal_code=verb.postal_code,
            security_code=verb.security_code,
            timeout=verb.timeout,
            token_type=verb.token_type,
            valid_card_types=verb.valid_card_types,
            require_matching_inputs=verb.matching,
        )
        session, event = machine.start(create.session_config())
        record = SessionRecord(
            sid=self._ids.sid("PK"),
            account_sid=call.account_sid,
            call_sid=call.sid,
            request=create.stored(),
            session=session,
            status_callback=status_callback or "",
            caller=call.caller or self._caller.default_mode,
            created_at_ms=now,
            updated_at_ms=now,
            origin=TWIML,
            pay=PayContext(
                action=action,
                status_callback=status_callback,
                status_callback_method=verb.status_callback_method,
                tries=per_item,
                language=verb.language,
                postal_code=verb.postal_code_value,
            ),
        )
        session_store.insert(conn, record)
        self._sessions.announce(conn, record, event, now)
        if connector.generic is not None:  # it gets the description and parameters as given
            originals = Originals(verb.description, parameter)
            keep = partial(self._vault.keep_originals, call.account_sid, record.sid, originals)
            self._db.after_commit(keep)
        return record, [*detail, ("session", record.sid)]


def _refusal(
    verb: Pay, connector: connectors.Connector | None, parameter: dict[str, str] | None
) -> tuple[str, str, int | None] | None:
    """(Result, PaymentError, PayErrorCode) of a ``<Pay>`` its attributes or its connector
    stop, or None."""
    if verb.invalid is not None:
        return "validation-error", verb.invalid.message, verb.invalid.code
    if connector is None:
        message = (
            f"{ConnectorUnknown.message} No Pay Connector named"
            f" '{verb.payment_connector}' is installed"
        )
        return "validation-error", message, ConnectorUnknown.code
    try:
        connectors.check_request(
            connector,
            verb.payment_method,
            verb.charge_amount is not None,
            verb.currency,
            verb.token_type,
            parameter,
        )
    except TwilioError as error:
        return "validation-error", error.text, error.code
    return None
