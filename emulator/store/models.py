"""The schema, as SQLModel tables: the one place it is declared.

The server does not import this module: ``python -m emulator.store.models`` writes the DDL
SQLModel generates from these tables into ``store/schema.py``, which the server executes at
start-up (SQLAlchemy's import would cost it 17 MB of memory and 0.15 s of every start for a
few CREATE TABLE statements), and a test fails when that file is not up to date. The request
path reads and writes the tables with plain SQL on one sqlite3 connection (``store/db.py``),
so no ORM object is built per request either. Times are integer milliseconds since the
epoch (``*_ms``), from the emulator's clock.
"""

from __future__ import annotations

import json

from sqlalchemy import Table
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

__all__ = [
    "SCHEMA_VERSION",
    "Account",
    "ApiKey",
    "Call",
    "CallStep",
    "Callback",
    "CallbackAttempt",
    "Connector",
    "ConnectorAttempt",
    "FixtureRow",
    "IdempotencyRecord",
    "PaymentSession",
    "account_wipe",
    "schema_tables",
]

# Bumped whenever a table changes shape; a database of another version is refused at start-up.
SCHEMA_VERSION = 4

# What an account *is* (kept when one account is reset), and the fixture bookkeeping (kept
# too, so that a restart does not bring back what a reset removed). Every other table holds
# what accounts have done: an account reset wipes its rows, found through the table's own
# ``account_sid`` column or through a foreign key to a table that has one.
KEPT_BY_ACCOUNT_RESET = ("accounts", "api_keys", "connectors", "fixture_rows")


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
    """A call: one the Calls API placed or the control plane made (running TwiML), or one
    Pay sessions simply run on (a fixture, a control-plane call without a voice URL)."""

    __tablename__ = "calls"

    sid: str = Field(primary_key=True, min_length=34, max_length=34)
    account_sid: str = Field(foreign_key="accounts.sid", index=True)
    status: str = "in-progress"
    # The base of the call's relative URLs: the control plane's url, or the URL of the TwiML
    # document the call is executing.
    url: str | None = None
    caller: str | None = None  # "auto" or "manual"; None follows the emulator's setting
    created_at_ms: int
    updated_at_ms: int
    direction: str = "inbound"  # inbound or outbound-api
    to_number: str | None = None
    from_number: str | None = None
    runs_twiml: bool = False  # a runner fetches and executes its TwiML
    voice_url: str | None = None  # what it runs when answered (a redirect changes it)
    voice_method: str = "POST"
    twiml: str | None = None  # or this TwiML (the Twiml parameter, at most 4000 characters)
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: str = "completed"  # space-separated
    timeout: int = 60
    time_limit: int = 14400
    start_time_ms: int | None = None  # answered
    end_time_ms: int | None = None
    sequence: int = 0  # status callbacks sent (the next SequenceNumber)


class CallStep(SQLModel, table=True):
    """One step of a call running TwiML, for the timeline: a document requested (URL, status,
    time, the TwiML), a verb run, digits keyed, a status change, a notification."""

    __tablename__ = "call_steps"

    id: int | None = Field(default=None, primary_key=True)
    call_sid: str = Field(foreign_key="calls.sid", index=True)
    at_ms: int
    kind: str  # request, verb, input, status, notice
    name: str  # the verb, the status, the method, the notice's level
    url: str | None = None  # the password masked
    status_code: int | None = None
    code: int | None = None  # a notification's error code
    detail: str = ""  # JSON object: what the timeline shows of the step
    body: str = ""  # a document's text (at most 64 KiB, card numbers masked)


class Connector(SQLModel, table=True):
    """A Pay Connector installed on an account (``Default`` exists without a row)."""

    __tablename__ = "connectors"

    account_sid: str = Field(foreign_key="accounts.sid", primary_key=True)
    name: str = Field(primary_key=True)
    charge: bool = True
    tokenize: bool = True
    currencies: str | None = None  # space-separated ISO 4217 codes; None accepts any
    payment_methods: str = "credit-card ach-debit"
    token_types: str = "one-time reusable payment-method"
    # A Generic Pay Connector (the merchant's own endpoint); all None for a built-in one.
    endpoint_url: str | None = None
    username: str | None = None
    password: str | None = None
    mode: str | None = None  # "test" or "live"
    timeout_s: float | None = None
    retries: int | None = None
    legacy_paths: bool | None = None


class PaymentSession(SQLModel, table=True):
    """A Pay session: what the create request fixed, and where the machine has got to."""

    __tablename__ = "payment_sessions"
    __table_args__ = (Index("ix_payment_sessions_call_state", "call_sid", "state"),)

    sid: str = Field(primary_key=True, min_length=34, max_length=34)
    account_sid: str = Field(foreign_key="accounts.sid", index=True)
    call_sid: str = Field(foreign_key="calls.sid")
    state: str
    # the create request
    payment_method: str
    bank_account_type: str | None = None
    charge_amount: str | None = None  # decimal text; None when tokenizing
    currency: str
    description: str = ""
    input: str = "dtmf"
    min_postal_code_length: int | None = None
    parameter: str | None = None  # JSON object
    payment_connector: str
    postal_code: bool
    security_code: bool
    timeout: int
    token_type: str
    valid_card_types: str  # space-separated
    require_matching_inputs: str = ""  # comma-separated
    confirmation: bool = False
    caller: str = "manual"  # the simulated caller's mode, from the call when the session started
    origin: str = "rest"  # rest: the Payments API; twiml: a <Pay> verb
    pay_context: str | None = None  # JSON: a <Pay> verb's action, statusCallback, tries...
    # where the session is
    status_callback: str  # of the latest accepted request
    capturing: str | None = None
    captured: str = "{}"  # JSON: item -> [masked value, keyed fingerprint or null]
    card_brand: str | None = None
    gateway_outcome: str | None = None  # a magic number's outcome (built-in connectors)
    input_deadline_ms: int | None = None  # when the caller's silence ends the prompt
    forced_outcome: str | None = None  # JSON: the outcome the control plane asked for
    # how it ended
    result: str | None = None
    confirmation_code: str = ""
    payment_token: str = ""
    profile_id: str = ""
    payment_error: str = ""
    pay_error_code: int | None = None
    connector_error: str = ""
    connector_parameters: str = ""  # JSON: a Generic Pay Connector's returned parameters
    created_at_ms: int
    updated_at_ms: int


class Callback(SQLModel, table=True):
    """The callback outbox: one row per StatusCallback, written with the state change."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_pending", "state", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    payment_sid: str | None = Field(default=None, index=True)  # None: a call status callback
    # Not indexed: every index clustered by session or call costs a page per session in each
    # commit; listing an account's or a call's callbacks (control plane only) scans instead.
    account_sid: str
    call_sid: str
    event: str  # what caused it (create, capture, key-in, complete, cancel, hang-up, star)
    url: str  # as the request gave it (relative URLs are resolved at delivery)
    method: str = "POST"  # a call's StatusCallbackMethod may be GET: the params in the query
    params: str  # JSON list of [name, value] pairs: the form body, masked values only
    idempotency_token: str  # I-Twilio-Idempotency-Token, the same on every attempt
    state: str = "pending"  # pending, delivered or failed
    attempts: int = 0
    status_code: int | None = None  # of the last attempt
    error: str | None = None  # of the last attempt
    created_at_ms: int
    delivered_at_ms: int | None = None


class CallbackAttempt(SQLModel, table=True):
    """One delivery attempt of a callback: what was sent and what came back."""

    __tablename__ = "callback_attempts"

    id: int | None = Field(default=None, primary_key=True)
    callback_id: int = Field(foreign_key="callbacks.id", index=True)
    url: str
    headers: str  # JSON object
    status_code: int | None = None
    duration_ms: float
    error: str | None = None
    response: str = ""  # the start of the receiver's answer (RESPONSE_EXCERPT bytes)
    attempted_at_ms: int


class ConnectorAttempt(SQLModel, table=True):
    """One request to a Generic Pay Connector's endpoint: what was sent (card data masked)
    and what came back."""

    __tablename__ = "connector_attempts"

    id: int | None = Field(default=None, primary_key=True)
    payment_sid: str = Field(foreign_key="payment_sessions.sid", index=True)
    account_sid: str
    url: str
    transaction_id: str
    attempt: int
    status_code: int | None = None
    latency_ms: float
    error: str | None = None
    request_body: str  # JSON, card number, security code and bank account masked
    response_excerpt: str
    started_at_ms: int


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to an IdempotencyKey, per account and resource (call or session)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_sid", "scope_sid", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_sid: str = Field(foreign_key="accounts.sid")
    scope_sid: str
    key: str
    fingerprint: str  # hash of the request's parameters
    status: int
    body: bytes
    created_at_ms: int = Field(index=True)


class FixtureRow(SQLModel, table=True):
    """The fixture rows inserted so far (SID, or ``connector:AC…:name``): each is inserted
    once, so that a restart neither duplicates a row nor brings back one that a client
    removed (a full reset clears this)."""

    __tablename__ = "fixture_rows"

    key: str = Field(primary_key=True)


def schema_tables() -> list[Table]:
    """Every table, parents before children (the order to create; reversed, to wipe)."""
    return list(SQLModel.metadata.sorted_tables)


def account_wipe() -> list[str]:
    """The statements that wipe one account's activity (``?`` is the account SID), children
    before parents; derived from the tables, so a new table cannot be forgotten."""
    statements: list[str] = []
    for table in reversed(schema_tables()):
        if table.name in KEPT_BY_ACCOUNT_RESET:
            continue
        if "account_sid" in table.columns:
            statements.append(f"DELETE FROM {table.name} WHERE account_sid = ?")
            continue
        owned = [
            key
            for key in table.foreign_keys
            if "account_sid" in key.column.table.columns
            and key.column.table.name not in KEPT_BY_ACCOUNT_RESET
        ]
        if not owned:
            raise ValueError(
                f"table {table.name} has no account_sid column and no foreign key to a table"
                " with one: say in KEPT_BY_ACCOUNT_RESET whether an account reset keeps it"
            )
        key = owned[0]
        statements.append(
            f"DELETE FROM {table.name} WHERE {key.parent.name} IN (SELECT {key.column.name}"
            f" FROM {key.column.table.name} WHERE account_sid = ?)"
        )
    return statements


def schema_module() -> str:
    """The text of ``store/schema.py``: the SQLite DDL of these tables, in creation order."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    statements: list[str] = []
    for table in schema_tables():
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
            for index in sorted(table.indexes, key=lambda index: str(index.name))
        )
    lines = [
        '"""The SQLite schema, generated from the SQLModel tables in ``store/models.py``.',
        "",
        "Do not edit: run ``python -m emulator.store.models`` after changing a table (a test",
        "checks that this file is what the tables generate).",
        '"""',
        "",
        "SCHEMA_VERSION = " + repr(SCHEMA_VERSION),
        "",
        "# Parents before children: the order to create; reversed, the order to wipe.",
        "TABLES = (",
        *(f"    {_literal(table.name)}," for table in schema_tables()),
        ")",
        "",
        "STATEMENTS = (",
        *(f"    {_literal(statement.strip())}," for statement in statements),
        ")",
        "",
        "# What an account reset deletes (``?`` is the account SID), children before parents.",
        "ACCOUNT_WIPE = (",
        *(f"    {_literal(statement)}," for statement in account_wipe()),
        ")",
        "",
    ]
    return "\n".join(lines)


def _literal(text: str) -> str:
    """A string literal as ruff's formatter writes it (double quotes unless that escapes)."""
    if '"' in text and "'" not in text:
        return repr(text)
    return json.dumps(text)


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("schema.py")
    target.write_text(schema_module())
    print(f"wrote {target}")
