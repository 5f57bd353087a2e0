"""Calls: the live calls Pay sessions run on (plain SQL on the request path)."""

from __future__ import annotations

import sqlite3

from emulator.domain.records import CallRow

__all__ = ["COMPLETED", "IN_PROGRESS", "end", "get", "insert", "set_caller"]

IN_PROGRESS = "in-progress"
COMPLETED = "completed"


def get(conn: sqlite3.Connection, sid: str) -> CallRow | None:
    row = conn.execute(
        "SELECT sid, account_sid, status, url, caller FROM calls WHERE sid = ?", (sid,)
    ).fetchone()
    return CallRow(*row) if row else None


def insert(
    conn: sqlite3.Connection,
    sid: str,
    account_sid: str,
    now_ms: int,
    url: str | None = None,
    caller: str | None = None,
) -> CallRow:
    conn.execute(
        "INSERT INTO calls (sid, account_sid, status, url, caller, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (sid, account_sid, IN_PROGRESS, url, caller, now_ms),
    )
    return CallRow(sid, account_sid, IN_PROGRESS, url, caller)


def end(conn: sqlite3.Connection, sid: str) -> None:
    conn.execute("UPDATE calls SET status = ? WHERE sid = ?", (COMPLETED, sid))


def set_caller(conn: sqlite3.Connection, sid: str, caller: str) -> None:
    conn.execute("UPDATE calls SET caller = ? WHERE sid = ?", (caller, sid))
