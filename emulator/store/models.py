"""The schema, as SQLModel tables.

SQLModel declares the tables and creates them; the request path reads and writes them with
plain SQL on one sqlite3 connection (``store/db.py``), so no ORM object is built per request.
Times are integer milliseconds since the epoch (``*_ms``), from the emulator's clock.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import Field, SQLModel

__all__ = ["SCHEMA_VERSION", "Account", "ApiKey", "Call", "FixtureRow", "schema_tables"]

# Bumped whenever a table changes shape; a database of another version is refused at start-up.
SCHEMA_VERSION = 1


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    sid: str = Field(primary_key=True, min_length=34, max_length=34)
    auth_token: str
    friendly_name: str = ""
    parent_sid: str | None = Field(default=None, foreign_key="accounts.sid", index=True)
    created_at_ms: int


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    sid: str = Field(primary_key=True, min_length=34, max_length=34)
    secret: str
    account_sid: str = Field(foreign_key="accounts.sid", index=True)
    friendly_name: str = ""
    created_at_ms: int


class Call(SQLModel, table=True):
    __tablename__ = "calls"
    sid: str = Field(primary_key=True, min_length=34, max_length=34)
    account_sid: str = Field(foreign_key="accounts.sid", index=True)
    status: str = "in-progress"
    created_at_ms: int


class FixtureRow(SQLModel, table=True):
    """The SIDs fixture files have inserted: each is inserted once, so that a restart neither
    duplicates a row nor brings back one that a client removed (a full reset clears this)."""

    __tablename__ = "fixture_rows"

    sid: str = Field(primary_key=True)


def schema_tables() -> list[Table]:
    """Every table, parents before children (the order to create; reversed, to wipe)."""
    return list(SQLModel.metadata.sorted_tables)
