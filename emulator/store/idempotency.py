"""Idempotency records: the first answer to a key, per account and resource.

The unique constraint on (account, resource, key) is what makes a key count once, whatever
the number of processes: a second writer of the same key fails inside its transaction.
"""

from __future__ import annotations

import sqlite3

from emulator.domain.records import StoredAnswer

__all__ = ["lookup", "purge", "remember"]


def lookup(
    conn: sqlite3.Connection, account_sid: str, scope_sid: str, key: str, not_before_ms: int
) -> StoredAnswer | None:
    """The stored answer, unless it is older than ``not_before_ms`` (expired: forgotten)."""
    row = conn.execute(
        "SELECT fingerprint, status, body, created_at_ms FROM idempotency_records"
        " WHERE account_sid = ? AND scope_sid = ? AND key = ?",
        (account_sid, scope_sid, key),
    ).fetchone()
    if row is None:
        return None
    if row[3] < not_before_ms:
        conn.execute(
            "DELETE FROM idempotency_records WHERE account_sid = ? AND scope_sid = ? AND key = ?",
            (account_sid, scope_sid, key),
        )
        return None
    return StoredAnswer(row[0], row[1], row[2])


def remember(
    conn: sqlite3.Connection,
    account_sid: str,
    scope_sid: str,
    key: str,
    answer: StoredAnswer,
    now_ms: int,
) -> None:
    conn.execute(
        "INSERT INTO idempotency_records (account_sid, scope_sid, key, fingerprint, status, body,"
        " created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (account_sid, scope_sid, key, answer.fingerprint, answer.status, answer.body, now_ms),
    )


def purge(conn: sqlite3.Connection, not_before_ms: int) -> int:
    """Forget the records older than ``not_before_ms``; returns how many."""
    return conn.execute(
        "DELETE FROM idempotency_records WHERE created_at_ms < ?", (not_before_ms,)
    ).rowcount
