"""Fixture rows: writing what the fixture files declare (:mod:`emulator.domain.fixtures`).

Loading is idempotent: a row whose SID is already stored is left as it is, so restarting
never duplicates rows nor undoes what clients changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Protocol, TypeVar

from emulator.domain.calls import IN_PROGRESS, CallRecord
from emulator.domain.fixtures import FixtureSet, parents_first
from emulator.store import calls as call_store
from emulator.store import connectors as connector_store

__all__ = ["insert_fixtures"]


class _HasSid(Protocol):
    @property
    def sid(self) -> str: ...


_F = TypeVar("_F", bound=_HasSid)


def insert_fixtures(conn: sqlite3.Connection, fixtures: FixtureSet, now_ms: int) -> None:
    """Insert the fixture rows never inserted before into this database.

    A row is inserted once: a restart leaves alone what clients changed or removed, and a
    row added to a fixture file appears at the next start. A full reset starts afresh.
    """
    loaded = {row[0] for row in conn.execute("SELECT key FROM fixture_rows")}

    def new(items: Iterable[_F]) -> list[_F]:
        return [item for item in items if item.sid not in loaded]

    accounts = new(parents_first(fixtures.accounts))
    api_keys = new(fixtures.api_keys)
    calls = new(fixtures.calls)
    conn.executemany(
        "INSERT OR IGNORE INTO accounts (sid, auth_token, friendly_name, parent_sid, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        [(a.sid, a.auth_token, a.friendly_name, a.parent_sid, now_ms) for a in accounts],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO api_keys (sid, secret, account_sid, friendly_name, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        [(k.sid, k.secret, k.account_sid, k.friendly_name, now_ms) for k in api_keys],
    )
    call_store.insert_many(
        conn,
        [
            CallRecord(
                c.sid,
                c.account_sid,
                c.status,
                now_ms,
                now_ms,
                caller=c.caller,
                url=c.url,
                start_time_ms=now_ms,
                end_time_ms=None if c.status == IN_PROGRESS else now_ms,
            )
            for c in calls
        ],
    )
    connectors = [c for c in fixtures.connectors if c.key not in loaded]
    for fixture in connectors:
        connector_store.put(conn, fixture.account_sid, fixture.connector())
    keys = [a.sid for a in accounts] + [k.sid for k in api_keys] + [c.sid for c in calls]
    keys += [c.key for c in connectors]
    conn.executemany("INSERT INTO fixture_rows (key) VALUES (?)", [(k,) for k in keys])
