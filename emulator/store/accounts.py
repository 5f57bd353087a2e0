"""Accounts and their API keys: credentials, the parent of a subaccount, new accounts."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["AccountRow", "auth_token", "credential", "get", "insert_account", "insert_api_key"]


@dataclass(frozen=True, slots=True)
class AccountRow:
    sid: str
    parent_sid: str | None  # None for a main account


def credential(conn: sqlite3.Connection, user: str) -> tuple[str, str] | None:
    """(secret, account SID) for an account SID (its auth token) or an API key SID."""
    if user.startswith("AC"):
        row = conn.execute("SELECT auth_token FROM accounts WHERE sid = ?", (user,)).fetchone()
        return (row[0], user) if row else None
    if user.startswith("SK"):
        row = conn.execute(
            "SELECT secret, account_sid FROM api_keys WHERE sid = ?", (user,)
        ).fetchone()
        return (row[0], row[1]) if row else None
    return None


def auth_token(conn: sqlite3.Connection, account_sid: str) -> str | None:
    row = conn.execute("SELECT auth_token FROM accounts WHERE sid = ?", (account_sid,)).fetchone()
    return row[0] if row else None


def get(conn: sqlite3.Connection, account_sid: str) -> AccountRow | None:
    row = conn.execute(
        "SELECT sid, parent_sid FROM accounts WHERE sid = ?", (account_sid,)
    ).fetchone()
    return AccountRow(*row) if row else None


def insert_account(
    conn: sqlite3.Connection,
    sid: str,
    auth_token: str,
    friendly_name: str,
    parent_sid: str | None,
    now_ms: int,
) -> None:
    conn.execute(
        "INSERT INTO accounts (sid, auth_token, friendly_name, parent_sid, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        (sid, auth_token, friendly_name, parent_sid, now_ms),
    )


def insert_api_key(
    conn: sqlite3.Connection, sid: str, secret: str, account_sid: str, now_ms: int
) -> None:
    conn.execute(
        "INSERT INTO api_keys (sid, secret, account_sid, friendly_name, created_at_ms)"
        " VALUES (?, ?, ?, '', ?)",
        (sid, secret, account_sid, now_ms),
    )
