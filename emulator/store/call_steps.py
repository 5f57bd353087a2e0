"""A call's timeline: the steps of a call running TwiML (plain SQL).

What is written here is already fit to show: URLs with their password masked, documents and
texts with card numbers masked (the call runner does both before it writes).
"""

from __future__ import annotations

import json
import sqlite3

from emulator.domain.calls import CallStep

__all__ = ["add", "count", "of_call"]


def add(conn: sqlite3.Connection, step: CallStep) -> None:
    conn.execute(
        "INSERT INTO call_steps (call_sid, at_ms, kind, name, url, status_code, code, detail,"
        " body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            step.call_sid,
            step.at_ms,
            step.kind,
            step.name,
            step.url,
            step.status_code,
            step.code,
            json.dumps(dict(step.detail), separators=(",", ":")) if step.detail else "",
            step.body,
        ),
    )


def of_call(conn: sqlite3.Connection, call_sid: str, limit: int = 10_000) -> list[CallStep]:
    """The call's steps, in order."""
    rows = conn.execute(
        "SELECT id, call_sid, at_ms, kind, name, url, status_code, code, detail, body"
        " FROM call_steps WHERE call_sid = ? ORDER BY id LIMIT ?",
        (call_sid, limit),
    ).fetchall()
    steps = []
    for step_id, sid, at_ms, kind, name, url, status_code, code, detail, body in rows:
        pairs = tuple(json.loads(detail).items()) if detail else ()
        steps.append(
            CallStep(sid, at_ms, kind, name, url, status_code, code, pairs, body, id=step_id)
        )
    return steps


def count(conn: sqlite3.Connection, call_sid: str) -> int:
    row = conn.execute("SELECT count(*) FROM call_steps WHERE call_sid = ?", (call_sid,))
    return int(row.fetchone()[0])
