"""What the control plane shows: JSON views of sessions and callbacks (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.callbacks.urls import mask_url_password
from emulator.clock import format_iso_ms
from emulator.payments import machine
from emulator.payments.model import SessionRecord
from emulator.store.callbacks import CallbackRecord

__all__ = ["callback_view", "session_view"]


def session_view(record: SessionRecord, history: Sequence[CallbackRecord]) -> dict[str, Any]:
    """A session: where it is, what it still needs, what it captured (masked), its history
    (one entry per callback it caused). A password in a URL is shown as ``****``."""
    session = record.session
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
        "history": [_history_entry(callback) for callback in history],
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
        "url": mask_url_password(callback.last_url or callback.url),
        "params": dict(callback.params),
        "headers": callback.last_headers,
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
