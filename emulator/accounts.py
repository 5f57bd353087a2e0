"""Accounts and their data: fresh accounts for tests, and resets.

Used by the control plane; every write goes through the database's group commit.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.ids import IdGenerator
from emulator.store.db import Database
from emulator.store.fixtures import FixtureSet, insert_fixtures
from emulator.store.schema import TABLES

__all__ = ["AccountService", "NewAccount", "NotAMainAccount", "UnknownAccount"]

# What an account has done (not what it is), children before parents.
ACTIVITY_DELETES: tuple[str, ...] = (
    "DELETE FROM callback_attempts WHERE callback_id IN"
    " (SELECT id FROM callbacks WHERE account_sid = ?)",
    "DELETE FROM callbacks WHERE account_sid = ?",
    "DELETE FROM idempotency_records WHERE account_sid = ?",
    "DELETE FROM payment_sessions WHERE account_sid = ?",
    "DELETE FROM calls WHERE account_sid = ?",
)


class UnknownAccount(LookupError):
    """The account named does not exist."""


class NotAMainAccount(ValueError):
    """Subaccounts cannot have subaccounts of their own (as on Twilio)."""


@dataclass(frozen=True, slots=True)
class NewAccount:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    parent_account_sid: str | None


class AccountService:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, fixtures: FixtureSet):
        self._db = db
        self._clock = clock
        self._ids = ids
        self._fixtures = fixtures

    def load_fixtures(self) -> None:
        """At start-up: insert the fixture rows that are not stored yet."""
        self._db.run_sync(lambda conn: insert_fixtures(conn, self._fixtures, self._clock.now_ms()))

    async def create(self, parent_sid: str | None = None, friendly_name: str = "") -> NewAccount:
        account = NewAccount(
            account_sid=self._ids.sid("AC"),
            auth_token=self._ids.secret(),
            api_key_sid=self._ids.sid("SK"),
            api_key_secret=self._ids.secret(),
            parent_account_sid=parent_sid,
        )
        now = self._clock.now_ms()

        def insert(conn: sqlite3.Connection) -> NewAccount:
            if parent_sid is not None:
                parent = conn.execute(
                    "SELECT parent_sid FROM accounts WHERE sid = ?", (parent_sid,)
                ).fetchone()
                if parent is None:
                    raise UnknownAccount(parent_sid)
                if parent[0] is not None:
                    raise NotAMainAccount(parent_sid)
            conn.execute(
                "INSERT INTO accounts (sid, auth_token, friendly_name, parent_sid, created_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                (account.account_sid, account.auth_token, friendly_name, parent_sid, now),
            )
            conn.execute(
                "INSERT INTO api_keys (sid, secret, account_sid, friendly_name, created_at_ms)"
                " VALUES (?, ?, ?, '', ?)",
                (account.api_key_sid, account.api_key_secret, account.account_sid, now),
            )
            return account

        return await self._db.write(insert)

    async def reset(self, account_sid: str | None = None) -> None:
        """Wipe everything and reload the fixtures; or wipe one account's activity only."""
        now = self._clock.now_ms()

        def wipe_all(conn: sqlite3.Connection) -> None:
            for table in reversed(TABLES):
                conn.execute(f"DELETE FROM {table}")
            insert_fixtures(conn, self._fixtures, now)

        def wipe_account(conn: sqlite3.Connection) -> None:
            if not _exists(conn, account_sid):
                raise UnknownAccount(account_sid)
            for statement in ACTIVITY_DELETES:
                conn.execute(statement, (account_sid,))

        await self._db.write(wipe_all if account_sid is None else wipe_account)


def _exists(conn: sqlite3.Connection, account_sid: str | None) -> bool:
    return (
        conn.execute("SELECT 1 FROM accounts WHERE sid = ?", (account_sid,)).fetchone() is not None
    )
