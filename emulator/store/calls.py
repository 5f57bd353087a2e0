"""Calls: the calls Pay sessions run on, and the calls that run TwiML (plain SQL).

:func:`get` reads what the Payments path needs (a :class:`~emulator.domain.records.CallRow`);
:func:`load` and :func:`save` the whole :class:`~emulator.domain.calls.CallRecord`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from emulator.domain.calls import COMPLETED, IN_PROGRESS, CallRecord
from emulator.domain.records import CallRow

__all__ = [
    "COMPLETED",
    "IN_PROGRESS",
    "get",
    "insert",
    "insert_many",
    "insert_record",
    "live_runners",
    "load",
    "of_account",
    "save",
    "set_caller",
]

# CallRecord's fields, in order, as the table's columns
_COLUMNS = (
    "sid",
    "account_sid",
    "status",
    "created_at_ms",
    "updated_at_ms",
    "direction",
    "to_number",
    "from_number",
    "caller",
    "url",
    "runs_twiml",
    "voice_url",
    "voice_method",
    "twiml",
    "fallback_url",
    "fallback_method",
    "status_callback",
    "status_callback_method",
    "status_callback_events",
    "timeout",
    "time_limit",
    "start_time_ms",
    "end_time_ms",
    "sequence",
)
_SELECT = "SELECT " + ", ".join(_COLUMNS) + " FROM calls"
_INSERT = f"INSERT INTO calls ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_UPDATE = (
    "UPDATE calls SET " + ", ".join(f"{column} = ?" for column in _COLUMNS[2:]) + " WHERE sid = ?"
)


def _values(record: CallRecord) -> tuple[Any, ...]:
    values = list(astuple(record))
    events = _COLUMNS.index("status_callback_events")
    values[events] = " ".join(record.status_callback_events)
    return tuple(values)


def _record(row: Sequence[Any]) -> CallRecord:
    values = list(row)
    events = _COLUMNS.index("status_callback_events")
    values[events] = tuple(values[events].split())
    twiml = _COLUMNS.index("runs_twiml")
    values[twiml] = bool(values[twiml])
    return CallRecord(*values)


def get(conn: sqlite3.Connection, sid: str) -> CallRow | None:
    row = conn.execute(
        "SELECT sid, account_sid, status, url, caller FROM calls WHERE sid = ?", (sid,)
    ).fetchone()
    return CallRow(*row) if row else None


def load(conn: sqlite3.Connection, sid: str) -> CallRecord | None:
    row = conn.execute(_SELECT + " WHERE sid = ?", (sid,)).fetchone()
    return _record(row) if row else None


def insert(
    conn: sqlite3.Connection,
    sid: str,
    account_sid: str,
    now_ms: int,
    url: str | None = None,
    caller: str | None = None,
) -> CallRow:
    """A call in progress that runs no TwiML (a control-plane call without a voice URL, or a
    CallSid the Payments API registers)."""
    record = CallRecord(
        sid, account_sid, IN_PROGRESS, now_ms, now_ms, url=url, caller=caller, start_time_ms=now_ms
    )
    insert_record(conn, record)
    return CallRow(sid, account_sid, IN_PROGRESS, url, caller)


def insert_record(conn: sqlite3.Connection, record: CallRecord) -> None:
    conn.execute(_INSERT, _values(record))


def insert_many(conn: sqlite3.Connection, records: Sequence[CallRecord]) -> None:
    conn.executemany("INSERT OR IGNORE" + _INSERT.removeprefix("INSERT"), map(_values, records))


def save(conn: sqlite3.Connection, record: CallRecord) -> None:
    values = _values(record)
    conn.execute(_UPDATE, (*values[2:], record.sid))


def set_caller(conn: sqlite3.Connection, sid: str, caller: str) -> None:
    conn.execute("UPDATE calls SET caller = ? WHERE sid = ?", (caller, sid))


def live_runners(conn: sqlite3.Connection) -> list[CallRecord]:
    """The calls running TwiML that have not ended (after a restart: none is running)."""
    rows = conn.execute(
        _SELECT + " WHERE runs_twiml AND status IN ('queued', 'ringing', 'in-progress')"
    ).fetchall()
    return [_record(row) for row in rows]


def of_account(
    conn: sqlite3.Connection, account_sid: str, offset: int, limit: int
) -> tuple[list[CallRecord], int]:
    """A page of the account's calls, newest first, and how many it has."""
    total = conn.execute(
        "SELECT count(*) FROM calls WHERE account_sid = ?", (account_sid,)
    ).fetchone()[0]
    rows = conn.execute(
        _SELECT + " WHERE account_sid = ? ORDER BY created_at_ms DESC, rowid DESC LIMIT ? OFFSET ?",
        (account_sid, limit, offset),
    ).fetchall()
    return [_record(row) for row in rows], total
