"""The callback outbox's rows: one per StatusCallback, and one per delivery attempt.

A callback's row keeps its URL as the request gave it (credentials included: delivery needs
them, after a restart too); everything read back for showing (:func:`find`) has the password
of a URL masked (``user:****@host``), and so has every attempt's record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from emulator.domain.records import CallbackRecord, NewCallback, Params, PendingCallback
from emulator.domain.urls import MASK, mask_url_password

__all__ = [
    "find",
    "insert",
    "pending",
    "record_attempt",
    "reopen",
]


def _params(text: str) -> Params:
    return tuple((name, value) for name, value in json.loads(text))


_PENDING_COLUMNS = "id, payment_sid, account_sid, call_sid, url, params, idempotency_token, method"


def _pending(row: Sequence[Any]) -> PendingCallback:
    callback_id, payment_sid, account_sid, call_sid, url, params, token, method = row
    return PendingCallback(
        callback_id, payment_sid, account_sid, call_sid, url, _params(params), token, method
    )


def insert(conn: sqlite3.Connection, callback: NewCallback) -> PendingCallback:
    cursor = conn.execute(
        "INSERT INTO callbacks (payment_sid, account_sid, call_sid, event, url, method, params,"
        " idempotency_token, state, attempts, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
        (
            callback.payment_sid,
            callback.account_sid,
            callback.call_sid,
            callback.event,
            callback.url,
            callback.method,
            json.dumps(callback.params, separators=(",", ":")),
            callback.idempotency_token,
            callback.created_at_ms,
        ),
    )
    assert cursor.lastrowid is not None
    return PendingCallback(
        cursor.lastrowid,
        callback.payment_sid,
        callback.account_sid,
        callback.call_sid,
        callback.url,
        callback.params,
        callback.idempotency_token,
        callback.method,
    )


def pending(conn: sqlite3.Connection) -> list[PendingCallback]:
    """Every callback not yet delivered or given up on, oldest first."""
    rows = conn.execute(
        f"SELECT {_PENDING_COLUMNS} FROM callbacks WHERE state = 'pending' ORDER BY id"
    ).fetchall()
    return [_pending(row) for row in rows]


def record_attempt(
    conn: sqlite3.Connection,
    callback_id: int,
    *,
    url: str,
    headers: Mapping[str, str],
    status_code: int | None,
    duration_ms: float,
    error: str | None,
    state: str,
    now_ms: int,
    response: str = "",
) -> None:
    """Record one attempt and where the callback now stands (the first statement is the only
    one that can fail: the callback's row may have been wiped by a reset meanwhile).

    ``url`` and ``headers`` are stored as given: the caller masks credentials first."""
    conn.execute(
        "INSERT INTO callback_attempts (callback_id, url, headers, status_code,"
        " duration_ms, error, response, attempted_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            callback_id,
            url,
            json.dumps(dict(headers)),
            status_code,
            duration_ms,
            error,
            response,
            now_ms,
        ),
    )
    conn.execute(
        "UPDATE callbacks SET state = ?, attempts = attempts + 1, status_code = ?,"
        " error = ?, delivered_at_ms = ? WHERE id = ?",
        (
            state,
            status_code,
            error,
            now_ms if state == "delivered" else None,
            callback_id,
        ),
    )


def reopen(conn: sqlite3.Connection, callback_id: int) -> PendingCallback | None:
    """Mark a callback pending again (to be sent again); None if there is no such callback."""
    row = conn.execute(
        f"SELECT {_PENDING_COLUMNS} FROM callbacks WHERE id = ?", (callback_id,)
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE callbacks SET state = 'pending' WHERE id = ?", (callback_id,))
    return _pending(row)


_FILTERS = ("id", "payment_sid", "call_sid", "account_sid")


def find(conn: sqlite3.Connection, filters: Mapping[str, str | int | None]) -> list[CallbackRecord]:
    """The callbacks matching every filter given (``id``, ``payment_sid``, ``call_sid``,
    ``account_sid``), in the order they were made, each with its last attempt."""
    where, args = [], []
    for column in _FILTERS:
        value = filters.get(column)
        if value:
            where.append(f"c.{column} = ?")
            args.append(value)
    rows = conn.execute(
        "SELECT c.id, c.payment_sid, c.account_sid, c.call_sid, c.event, c.url, c.params,"
        " c.idempotency_token, c.state, c.attempts, c.status_code, c.error, c.created_at_ms,"
        " c.delivered_at_ms, a.url, a.headers, a.response, c.method FROM callbacks c"
        " LEFT JOIN callback_attempts a"
        " ON a.id = (SELECT max(id) FROM callback_attempts WHERE callback_id = c.id)"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY c.id",
        args,
    ).fetchall()
    return [_record(row) for row in rows]


def _record(row: Sequence[Any]) -> CallbackRecord:
    (
        callback_id,
        payment_sid,
        account_sid,
        call_sid,
        event,
        url,
        params,
        token,
        state,
        attempts,
        status_code,
        error,
        created_at_ms,
        delivered_at_ms,
        last_url,
        last_headers,
        last_response,
        method,
    ) = row
    return CallbackRecord(
        id=callback_id,
        payment_sid=payment_sid,
        account_sid=account_sid,
        call_sid=call_sid,
        event=event,
        url=mask_url_password(url),
        params=_params(params),
        idempotency_token=token,
        state=state,
        attempts=attempts,
        status_code=status_code,
        error=error,
        created_at_ms=created_at_ms,
        delivered_at_ms=delivered_at_ms,
        last_url=mask_url_password(last_url) if last_url else last_url,
        last_headers=_masked_headers(json.loads(last_headers)) if last_headers else {},
        last_response=last_response or "",
        method=method,
    )


def _masked_headers(headers: dict[str, str]) -> dict[str, str]:
    """Recorded headers as shown: credentials masked (the outbox records them masked already;
    this keeps rows of any other origin safe to show too)."""
    for name, value in headers.items():
        if name.lower() == "authorization" and not value.endswith(MASK):
            scheme = value.split(" ", 1)[0]
            headers[name] = f"{scheme} {MASK}"
    return headers
