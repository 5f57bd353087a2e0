"""Pay Connectors installed on accounts (``Default`` needs no row)."""

from __future__ import annotations

import sqlite3

from emulator.payments.connectors import DEFAULT_CONNECTOR, Connector

__all__ = ["get"]


def get(conn: sqlite3.Connection, account_sid: str, name: str) -> Connector | None:
    """The account's connector called ``name``; ``Default`` unless declared otherwise."""
    row = conn.execute(
        "SELECT charge, tokenize, currencies, payment_methods, token_types FROM connectors"
        " WHERE account_sid = ? AND name = ?",
        (account_sid, name),
    ).fetchone()
    if row is None:
        return DEFAULT_CONNECTOR if name == DEFAULT_CONNECTOR.name else None
    charge, tokenize, currencies, payment_methods, token_types = row
    return Connector(
        name=name,
        charge=bool(charge),
        tokenize=bool(tokenize),
        currencies=tuple(currencies.split()) if currencies is not None else None,
        payment_methods=tuple(payment_methods.split()),
        token_types=tuple(token_types.split()),
    )
