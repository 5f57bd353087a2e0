"""Wiping state: everything (a full reset), or what one account has done."""

from __future__ import annotations

import sqlite3

from emulator.store.schema import ACCOUNT_WIPE, TABLES

__all__ = ["wipe_account", "wipe_all"]


def wipe_all(conn: sqlite3.Connection) -> None:
    """Empty every table, children first."""
    for table in reversed(TABLES):
        conn.execute(f"DELETE FROM {table}")


def wipe_account(conn: sqlite3.Connection, account_sid: str) -> None:
    """Delete what an account has done (calls, sessions, callbacks, idempotency records),
    keeping the account, its keys and its connectors (``store/models.py`` says which)."""
    for statement in ACCOUNT_WIPE:
        conn.execute(statement, (account_sid,))
