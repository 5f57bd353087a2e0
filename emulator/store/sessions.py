"""Pay sessions in the ``payment_sessions`` table, read and written with plain SQL.

A row holds the create request (fixed for the session's life) and the machine's state;
:class:`SessionRecord` is the two together, as plain data.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from decimal import Decimal
from types import MappingProxyType

from emulator.domain.machine import Captured, Result, Session, Settlement, State
from emulator.domain.records import CreatePayment, ForcedOutcome, PayContext, SessionRecord

__all__ = [
    "active_on_call",
    "insert",
    "load",
    "processing",
    "save",
    "set_caller",
    "waiting_for_auto_caller",
    "with_deadlines",
]


_REQUEST_COLUMNS = (
    "payment_method, bank_account_type, charge_amount, currency, description, input,"
    " min_postal_code_length, parameter, payment_connector, postal_code, security_code, timeout,"
    " token_type, valid_card_types, require_matching_inputs, confirmation, caller, origin"
)
_STATE_COLUMNS = (
    "state, status_callback, capturing, captured, card_brand, gateway_outcome, result,"
    " confirmation_code, payment_token, profile_id, payment_error, pay_error_code,"
    " connector_error, connector_parameters, updated_at_ms, input_deadline_ms, forced_outcome,"
    " pay_context"
)
_SELECT = (
    f"SELECT sid, account_sid, call_sid, created_at_ms, {_REQUEST_COLUMNS}, {_STATE_COLUMNS}"
    " FROM payment_sessions WHERE sid = ?"
)
_UPDATE = (
    "UPDATE payment_sessions SET "
    + ", ".join(f"{column.strip()} = ?" for column in _STATE_COLUMNS.split(","))
    + " WHERE sid = ?"
)


def _state_values(record: SessionRecord) -> tuple[object, ...]:
    session = record.session
    settlement = session.settlement or Settlement(Result.SUCCESS)
    captured = {item: [c.value, c.fingerprint] for item, c in session.captured.items()}
    return (
        session.state.value,
        record.status_callback,
        session.capturing,
        json.dumps(captured, separators=(",", ":")),
        session.card_brand,
        session.gateway_outcome,
        session.result.value if session.result else None,
        settlement.confirmation_code,
        settlement.token,
        settlement.profile_id,
        settlement.error,
        settlement.pay_error_code,
        settlement.connector_error,
        json.dumps(settlement.parameters, separators=(",", ":")) if settlement.parameters else "",
        record.updated_at_ms,
        record.input_deadline_ms,
        json.dumps(asdict(record.forced_outcome)) if record.forced_outcome else None,
        json.dumps(asdict(record.pay), separators=(",", ":")) if record.pay else None,
    )


def insert(conn: sqlite3.Connection, record: SessionRecord) -> None:
    request = record.request
    request_values = (
        request.payment_method,
        request.bank_account_type,
        str(request.charge_amount) if request.charge_amount is not None else None,
        request.currency,
        request.description,
        request.input,
        request.min_postal_code_length,
        json.dumps(request.parameter) if request.parameter is not None else None,
        request.payment_connector,
        request.postal_code,
        request.security_code,
        request.timeout,
        request.token_type,
        " ".join(request.valid_card_types),
        ",".join(request.require_matching_inputs),
        request.confirmation,
        record.caller,
        record.origin,
    )
    values = (
        record.sid,
        record.account_sid,
        record.call_sid,
        record.created_at_ms,
        *request_values,
        *_state_values(record),
    )
    conn.execute(
        f"INSERT INTO payment_sessions (sid, account_sid, call_sid, created_at_ms, {_REQUEST_COLUMNS},"
        f" {_STATE_COLUMNS}) VALUES ({', '.join('?' * len(values))})",
        values,
    )


def save(conn: sqlite3.Connection, record: SessionRecord) -> None:
    """Write where the session has got to (the create request never changes)."""
    conn.execute(_UPDATE, (*_state_values(record), record.sid))


def load(conn: sqlite3.Connection, sid: str) -> SessionRecord | None:
    row = conn.execute(_SELECT, (sid,)).fetchone()
    if row is None:
        return None
    (sid, account_sid, call_sid, created_at_ms) = row[:4]
    (
        payment_method,
        bank_account_type,
        charge_amount,
        currency,
        description,
        input_,
        min_postal_code_length,
        parameter,
        payment_connector,
        postal_code,
        security_code,
        timeout,
        token_type,
        valid_card_types,
        require_matching_inputs,
        confirmation,
        caller,
        origin,
    ) = row[4:22]
    (
        state,
        status_callback,
        capturing,
        captured,
        card_brand,
        gateway_outcome,
        result,
        confirmation_code,
        payment_token,
        profile_id,
        payment_error,
        pay_error_code,
        connector_error,
        connector_parameters,
        updated_at_ms,
        input_deadline_ms,
        forced_outcome,
        pay_context,
    ) = row[22:]
    request = CreatePayment(
        status_callback="",
        payment_method=payment_method,
        bank_account_type=bank_account_type,
        charge_amount=Decimal(charge_amount) if charge_amount is not None else None,
        currency=currency,
        description=description,
        input=input_,
        min_postal_code_length=min_postal_code_length,
        parameter=json.loads(parameter) if parameter is not None else None,
        payment_connector=payment_connector,
        postal_code=bool(postal_code),
        security_code=bool(security_code),
        timeout=timeout,
        token_type=token_type,
        valid_card_types=tuple(valid_card_types.split()),
        require_matching_inputs=tuple(i for i in require_matching_inputs.split(",") if i),
        confirmation=bool(confirmation),
    )
    settlement = None
    if result is not None:
        settlement = Settlement(
            Result(result),
            confirmation_code=confirmation_code,
            token=payment_token,
            profile_id=profile_id,
            error=payment_error,
            pay_error_code=pay_error_code,
            connector_error=connector_error,
            parameters=tuple(
                (key, value) for key, value in json.loads(connector_parameters or "[]")
            ),
        )
    session = Session(
        config=request.session_config(),
        state=State(state),
        capturing=capturing,
        captured=MappingProxyType(
            {item: Captured(value, fp) for item, (value, fp) in json.loads(captured).items()}
        ),
        card_brand=card_brand,
        gateway_outcome=gateway_outcome,
        settlement=settlement,
    )
    return SessionRecord(
        sid=sid,
        account_sid=account_sid,
        call_sid=call_sid,
        request=request,
        session=session,
        status_callback=status_callback,
        caller=caller,
        created_at_ms=created_at_ms,
        updated_at_ms=updated_at_ms,
        input_deadline_ms=input_deadline_ms,
        forced_outcome=ForcedOutcome(**json.loads(forced_outcome)) if forced_outcome else None,
        origin=origin,
        pay=PayContext(**json.loads(pay_context)) if pay_context else None,
    )


def active_on_call(conn: sqlite3.Connection, call_sid: str) -> list[str]:
    """The SIDs of the sessions not yet ended on a call (active, or processing: at most one,
    by the rules)."""
    rows = conn.execute(
        "SELECT sid FROM payment_sessions WHERE call_sid = ? AND state IN ('active', 'processing')",
        (call_sid,),
    ).fetchall()
    return [row[0] for row in rows]


def waiting_for_auto_caller(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(session SID, item) of the active sessions whose auto caller was asked for an item."""
    rows = conn.execute(
        "SELECT sid, capturing FROM payment_sessions"
        " WHERE state = 'active' AND caller = 'auto' AND capturing IS NOT NULL"
    ).fetchall()
    return [(sid, item) for sid, item in rows]


def set_caller(conn: sqlite3.Connection, sid: str, caller: str) -> None:
    """Switch the simulated caller of a session between ``auto`` and ``manual``."""
    conn.execute("UPDATE payment_sessions SET caller = ? WHERE sid = ?", (caller, sid))


def with_deadlines(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(session SID, deadline) of the active sessions waiting for the caller to go on keying."""
    rows = conn.execute(
        "SELECT sid, input_deadline_ms FROM payment_sessions"
        " WHERE state = 'active' AND input_deadline_ms IS NOT NULL"
    ).fetchall()
    return [(sid, deadline) for sid, deadline in rows]


def processing(conn: sqlite3.Connection) -> list[str]:
    """The SIDs of the sessions waiting for a connector's answer."""
    rows = conn.execute("SELECT sid FROM payment_sessions WHERE state = 'processing'").fetchall()
    return [row[0] for row in rows]
