"""What the control plane shows: JSON views of calls, sessions and callbacks (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from emulator.clock import format_iso_ms
from emulator.domain import machine
from emulator.domain.calls import CallRecord, CallStep
from emulator.domain.connectors import Connector
from emulator.domain.gpc import ConnectorAttempt
from emulator.domain.records import CallbackRecord, SessionRecord
from emulator.domain.urls import mask_url_password

__all__ = [
    "call_view",
    "callback_view",
    "connector_request_view",
    "connector_view",
    "session_view",
    "step_view",
]


def session_view(
    record: SessionRecord,
    history: Sequence[CallbackRecord],
    connector_requests: Sequence[ConnectorAttempt] = (),
) -> dict[str, Any]:
    """A session: where it is, what it still needs, what it captured (masked), its history
    (one entry per callback it caused), the requests made to its Generic Pay Connector.
    A password in a URL is shown as ``****``."""
    session = record.session
    forced = record.forced_outcome
    return {
        "sid": record.sid,
        "account_sid": record.account_sid,
        "call_sid": record.call_sid,
        "state": session.state.value,
        "capturing": session.capturing,
        "required": list(machine.required(session)),
        "captured": {item: c.value for item, c in session.captured.items()},
        "card_type": session.card_brand,
        "result": session.result.value if session.result else None,
        "caller": record.caller,
        "status_callback": mask_url_password(record.status_callback),
        "connector": record.request.payment_connector,
        "timeout": record.request.timeout,
        "input_deadline": format_iso_ms(record.input_deadline_ms)
        if record.input_deadline_ms is not None
        else None,
        "forced_outcome": asdict(forced) if forced is not None else None,
        "origin": record.origin,
        "pay": _pay_view(record),
        "history": [_history_entry(callback) for callback in history],
        "connector_requests": [connector_request_view(a) for a in connector_requests],
    }


def _pay_view(record: SessionRecord) -> dict[str, Any] | None:
    """What a ``<Pay>`` verb's session holds beyond an agent's (None for an agent's)."""
    pay = record.pay
    if pay is None:
        return None
    return {
        "action": mask_url_password(pay.action),
        "status_callback": mask_url_password(pay.status_callback) if pay.status_callback else None,
        "status_callback_method": pay.status_callback_method,
        "tries": pay.tries,
        "attempt": pay.attempt,
        "language": pay.language,
    }


def connector_request_view(attempt: ConnectorAttempt) -> dict[str, Any]:
    """One request to a Generic Pay Connector (its body with card data masked)."""
    return {
        "url": attempt.url,
        "transaction_id": attempt.transaction_id,
        "attempt": attempt.attempt,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "request_body": json.loads(attempt.request_body),
        "response": attempt.response_excerpt,
        "at": format_iso_ms(attempt.started_at_ms),
    }


def connector_view(account_sid: str, connector: Connector) -> dict[str, Any]:
    """A Pay Connector as installed (a generic one's password shown as ``****``)."""
    generic = connector.generic
    return {
        "account_sid": account_sid,
        "name": connector.name,
        "charge": connector.charge,
        "tokenize": connector.tokenize,
        "currencies": list(connector.currencies) if connector.currencies is not None else None,
        "payment_methods": list(connector.payment_methods),
        "token_types": list(connector.token_types),
        "generic": None
        if generic is None
        else {
            "endpoint_url": mask_url_password(generic.endpoint_url),
            "username": generic.username,
            "password": "****" if generic.password else "",
            "mode": generic.mode,
            "timeout_s": generic.timeout_s,
            "retries": generic.retries,
            "legacy_paths": generic.legacy_paths,
        },
    }


def _history_entry(callback: CallbackRecord) -> dict[str, Any]:
    fields = dict(callback.params)
    entry: dict[str, Any] = {
        "event": callback.event,
        "at": format_iso_ms(callback.created_at_ms),
    }
    if "Capture" in fields:
        entry["item"] = fields["Capture"]
    if callback.event == machine.EventKind.KEY_IN.value:
        entry["partial"] = fields.get("PartialResult") == "true"
        entry["error_type"] = fields.get("ErrorType") or None
    if "Result" in fields:
        entry["result"] = fields["Result"]
    return entry


def callback_view(callback: CallbackRecord) -> dict[str, Any]:
    return {
        "id": callback.id,
        "payment_sid": callback.payment_sid,
        "account_sid": callback.account_sid,
        "call_sid": callback.call_sid,
        "event": callback.event,
        "method": callback.method,
        "url": mask_url_password(callback.last_url or callback.url),
        "params": dict(callback.params),
        "headers": callback.last_headers,
        "response": callback.last_response,
        "idempotency_token": callback.idempotency_token,
        "state": callback.state,
        "attempts": callback.attempts,
        "status_code": callback.status_code,
        "error": callback.error,
        "created_at": format_iso_ms(callback.created_at_ms),
        "delivered_at": format_iso_ms(callback.delivered_at_ms)
        if callback.delivered_at_ms
        else None,
    }


def _iso(ms: int | None) -> str | None:
    return format_iso_ms(ms) if ms is not None else None


def step_view(step: CallStep) -> dict[str, Any]:
    """One step of a call's timeline (already masked where it was written)."""
    view: dict[str, Any] = {"at": format_iso_ms(step.at_ms), "kind": step.kind, "name": step.name}
    if step.url is not None:
        view["url"] = step.url
    if step.status_code is not None:
        view["status_code"] = step.status_code
    if step.code is not None:
        view["code"] = step.code
    view.update(step.detail)
    if step.body:
        view["body"] = step.body
    return view


def call_view(
    call: CallRecord,
    waiting: str | None,
    steps: Sequence[CallStep],
    status_callbacks: Sequence[CallbackRecord],
    pay_callbacks: Sequence[CallbackRecord] = (),
) -> dict[str, Any]:
    """A call: its status and numbers, what it waits in (``gather``, ``pause``, ``pay``),
    its timeline, its own status callbacks (its sessions' are theirs) and what its
    ``<Pay>``s sent (their statusCallbacks, an ``action`` requested once the call ended)."""
    return {
        "call_sid": call.sid,
        "account_sid": call.account_sid,
        "status": call.status,
        "direction": call.direction,
        "from": call.from_,
        "to": call.to,
        "caller": call.caller,
        "url": mask_url_password(call.url) if call.url else None,
        "runs_twiml": call.runs_twiml,
        "voice_url": mask_url_password(call.voice_url) if call.voice_url else None,
        "waiting": waiting,
        "created_at": format_iso_ms(call.created_at_ms),
        "start_time": _iso(call.start_time_ms),
        "end_time": _iso(call.end_time_ms),
        "duration": call.duration,
        "steps": [step_view(step) for step in steps],
        "status_callbacks": [callback_view(callback) for callback in status_callbacks],
        "pay_callbacks": [callback_view(callback) for callback in pay_callbacks],
    }
