"""Pay Connectors installed on accounts (``Default`` needs no row), and the requests made to
Generic Pay Connectors' endpoints."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from emulator.domain.connectors import DEFAULT_CONNECTOR, Connector
from emulator.domain.gpc import ConnectorAttempt, GenericConnector

__all__ = ["attempts_of", "get", "insert_attempt", "put"]

_COLUMNS = (
    "charge, tokenize, currencies, payment_methods, token_types,"
    " endpoint_url, username, password, mode, timeout_s, retries, legacy_paths"
)


def get(conn: sqlite3.Connection, account_sid: str, name: str) -> Connector | None:
    """The account's connector called ``name``; ``Default`` unless declared otherwise."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM connectors WHERE account_sid = ? AND name = ?",
        (account_sid, name),
    ).fetchone()
    if row is None:
        return DEFAULT_CONNECTOR if name == DEFAULT_CONNECTOR.name else None
    (charge, tokenize, currencies, payment_methods, token_types, url, username, password) = row[:8]
    mode, timeout_s, retries, legacy_paths = row[8:]
    generic = None
    if url is not None:
        generic = GenericConnector(
            endpoint_url=url,
            username=username or "",
            password=password or "",
            mode=mode or "test",
            timeout_s=timeout_s,
            retries=retries,
            legacy_paths=bool(legacy_paths),
        )
    return Connector(
        name=name,
        charge=bool(charge),
        tokenize=bool(tokenize),
        currencies=tuple(currencies.split()) if currencies is not None else None,
        payment_methods=tuple(payment_methods.split()),
        token_types=tuple(token_types.split()),
        generic=generic,
    )


def put(conn: sqlite3.Connection, account_sid: str, connector: Connector) -> None:
    """Install a connector on the account, replacing one of the same name."""
    generic = connector.generic
    conn.execute(
        f"INSERT OR REPLACE INTO connectors (account_sid, name, {_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            account_sid,
            connector.name,
            connector.charge,
            connector.tokenize,
            " ".join(connector.currencies) if connector.currencies is not None else None,
            " ".join(connector.payment_methods),
            " ".join(connector.token_types),
            generic.endpoint_url if generic else None,
            generic.username if generic else None,
            generic.password if generic else None,
            generic.mode if generic else None,
            generic.timeout_s if generic else None,
            generic.retries if generic else None,
            generic.legacy_paths if generic else None,
        ),
    )


def insert_attempt(
    conn: sqlite3.Connection, payment_sid: str, account_sid: str, attempt: ConnectorAttempt
) -> None:
    conn.execute(
        "INSERT INTO connector_attempts (payment_sid, account_sid, url, transaction_id, attempt,"
        " status_code, latency_ms, error, request_body, response_excerpt, started_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            payment_sid,
            account_sid,
            attempt.url,
            attempt.transaction_id,
            attempt.attempt,
            attempt.status_code,
            round(attempt.latency_ms, 3),
            attempt.error,
            attempt.request_body,
            attempt.response_excerpt,
            attempt.started_at_ms,
        ),
    )


def attempts_of(conn: sqlite3.Connection, payment_sid: str) -> list[ConnectorAttempt]:
    """A session's connector requests, in the order they were made."""
    rows: Sequence[tuple[object, ...]] = conn.execute(
        "SELECT url, transaction_id, attempt, status_code, latency_ms, error, request_body,"
        " response_excerpt, started_at_ms FROM connector_attempts WHERE payment_sid = ?"
        " ORDER BY id",
        (payment_sid,),
    ).fetchall()
    return [ConnectorAttempt(*row) for row in rows]  # type: ignore[arg-type]
