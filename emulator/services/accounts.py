"""Accounts: fresh accounts for tests, fixtures, and wiping state.

Used by the control plane; every write goes through the database's group commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from emulator.clock import Clock
from emulator.domain.fixtures import FixtureSet, parse_fixtures
from emulator.errors import ConfigError
from emulator.ids import IdGenerator
from emulator.store import accounts, reset
from emulator.store.db import Database
from emulator.store.fixtures import insert_fixtures

__all__ = ["AccountService", "NewAccount", "NotAMainAccount", "UnknownAccount", "read_fixtures"]


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
                parent = accounts.get(conn, parent_sid)
                if parent is None:
                    raise UnknownAccount(parent_sid)
                if parent.parent_sid is not None:
                    raise NotAMainAccount(parent_sid)
            accounts.insert_account(
                conn, account.account_sid, account.auth_token, friendly_name, parent_sid, now
            )
            accounts.insert_api_key(
                conn, account.api_key_sid, account.api_key_secret, account.account_sid, now
            )
            return account

        return await self._db.write(insert)

    async def wipe(self, account_sid: str | None = None) -> None:
        """Wipe everything and reload the fixtures; or wipe one account's activity only."""
        now = self._clock.now_ms()

        def wipe_all(conn: sqlite3.Connection) -> None:
            reset.wipe_all(conn)
            insert_fixtures(conn, self._fixtures, now)

        def wipe_account(conn: sqlite3.Connection) -> None:
            assert account_sid is not None
            if accounts.get(conn, account_sid) is None:
                raise UnknownAccount(account_sid)
            reset.wipe_account(conn, account_sid)

        await self._db.write(wipe_all if account_sid is None else wipe_account)


def read_fixtures(paths: Iterable[Path]) -> FixtureSet:
    """Read, validate and merge fixture files; a :class:`ConfigError` names what is wrong."""
    files = []
    for path in paths:
        try:
            files.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigError(
                f"cannot read fixture file {str(path)!r}: {exc.strerror or exc}"
            ) from None
    return parse_fixtures(files)
