"""Read-only listings for the inspector: accounts, calls, sessions and delivery attempts,
paged, with their counts (:mod:`emulator.domain.summaries`). Nothing here writes.

Lists are newest first. Sessions are ordered by ``rowid`` (the order they were inserted in,
which is the order they were created in), so a page of the newest sessions of an account
walks the account's index and sorts nothing, however many sessions there are.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from emulator.domain.records import SessionRecord
from emulator.domain.summaries import AccountSummary, Attempt, CallSummary, Page, Totals
from emulator.domain.urls import MASK, mask_url_password
from emulator.store import sessions as session_rows

__all__ = [
    "MAX_SEARCH",
    "account",
    "accounts",
    "attempts",
    "call",
    "calls",
    "failed_callbacks",
    "from_fixtures",
    "last_entries",
    "session_states",
    "sessions",
    "sessions_of_calls",
    "totals",
]

MAX_SEARCH = 64
"""The longest free-text search kept (characters): longer ones are cut."""

# What a free-text search looks in: any part of a session's SID, call, account, Description.
_SEARCHED = ("sid", "call_sid", "account_sid", "description")

_ACCOUNT_COLUMNS = (
    "a.sid, a.friendly_name, a.parent_sid, a.created_at_ms,"
    " (SELECT count(*) FROM calls WHERE account_sid = a.sid),"
    " (SELECT count(*) FROM payment_sessions WHERE account_sid = a.sid),"
    " (SELECT count(*) FROM payment_sessions WHERE account_sid = a.sid AND state = 'active')"
)
_CALL_COLUMNS = (
    "c.sid, c.account_sid, c.status, c.url, c.caller, c.created_at_ms,"
    " (SELECT count(*) FROM payment_sessions WHERE call_sid = c.sid)"
)
_ATTEMPT_COLUMNS = (
    "id",
    "callback_id",
    "url",
    "headers",
    "status_code",
    "duration_ms",
    "error",
    "attempted_at_ms",
    "response",
)


# --- counts ------------------------------------------------------------------------


def totals(conn: sqlite3.Connection) -> Totals:
    return Totals(
        accounts=conn.execute("SELECT count(*) FROM accounts").fetchone()[0],
        calls=conn.execute("SELECT count(*) FROM calls").fetchone()[0],
        sessions=session_states(conn),
        callbacks=dict(
            conn.execute("SELECT state, count(*) FROM callbacks GROUP BY state").fetchall()
        ),
    )


def session_states(
    conn: sqlite3.Connection,
    account_sid: str | None = None,
    call_sid: str | None = None,
    *,
    text: str | None = None,
    failed_callbacks: bool = False,
) -> dict[str, int]:
    """How many sessions are in each state (of an account, or a call; matching ``text``;
    with a failed callback)."""
    where, args = _session_where(account_sid, call_sid, None, text, failed_callbacks)
    rows = conn.execute(
        f"SELECT state, count(*) FROM payment_sessions{where} GROUP BY state", args
    ).fetchall()
    return dict(rows)


# --- accounts and calls --------------------------------------------------------------


def accounts(conn: sqlite3.Connection, offset: int, limit: int) -> Page[AccountSummary]:
    total = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
    rows = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a"
        " ORDER BY a.created_at_ms DESC, a.rowid DESC LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()
    return Page([AccountSummary(*row) for row in rows], total, offset, limit)


def account(conn: sqlite3.Connection, account_sid: str) -> AccountSummary | None:
    row = conn.execute(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.sid = ?", (account_sid,)
    ).fetchone()
    return AccountSummary(*row) if row else None


def calls(conn: sqlite3.Connection, account_sid: str, offset: int, limit: int) -> Page[CallSummary]:
    total = conn.execute(
        "SELECT count(*) FROM calls WHERE account_sid = ?", (account_sid,)
    ).fetchone()[0]
    rows = conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM calls c WHERE c.account_sid = ?"
        " ORDER BY c.created_at_ms DESC, c.rowid DESC LIMIT ? OFFSET ?",
        (account_sid, limit, offset),
    ).fetchall()
    return Page([CallSummary(*row) for row in rows], total, offset, limit)


def call(conn: sqlite3.Connection, call_sid: str) -> CallSummary | None:
    row = conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM calls c WHERE c.sid = ?", (call_sid,)
    ).fetchone()
    return CallSummary(*row) if row else None


# --- sessions ------------------------------------------------------------------------


def sessions(
    conn: sqlite3.Connection,
    *,
    offset: int,
    limit: int,
    account_sid: str | None = None,
    call_sid: str | None = None,
    state: str | None = None,
    text: str | None = None,
    failed_callbacks: bool = False,
) -> Page[SessionRecord]:
    """Sessions, newest first, optionally of one account, one call, in one state, whose SID,
    call, account or Description contains ``text`` (any case), that have a callback whose
    delivery failed."""
    where, args = _session_where(account_sid, call_sid, state, text, failed_callbacks)
    total = conn.execute(f"SELECT count(*) FROM payment_sessions{where}", args).fetchone()[0]
    sids = conn.execute(
        f"SELECT sid FROM payment_sessions{where} ORDER BY rowid DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return Page(_load(conn, (sid for (sid,) in sids)), total, offset, limit)


def failed_callbacks(conn: sqlite3.Connection, sids: Sequence[str]) -> dict[str, int]:
    """How many callbacks of each of these sessions failed to be delivered (sessions with
    none are left out)."""
    if not sids:
        return {}
    marks = ", ".join("?" * len(sids))
    rows = conn.execute(
        "SELECT payment_sid, count(*) FROM callbacks"
        f" WHERE payment_sid IN ({marks}) AND state = 'failed' GROUP BY payment_sid",
        tuple(sids),
    ).fetchall()
    return dict(rows)


def last_entries(conn: sqlite3.Connection, sids: Sequence[str]) -> dict[str, dict[str, str]]:
    """The fields of the callback of each session's last caller entry (a ``key-in`` or an
    ``input-timeout``); sessions with none are left out."""
    if not sids:
        return {}
    marks = ", ".join("?" * len(sids))
    rows = conn.execute(
        "SELECT payment_sid, params FROM callbacks WHERE id IN (SELECT max(id) FROM callbacks"
        f" WHERE payment_sid IN ({marks}) AND event IN ('key-in', 'input-timeout')"
        " GROUP BY payment_sid)",
        tuple(sids),
    ).fetchall()
    return {sid: dict(json.loads(params)) for sid, params in rows}


def from_fixtures(conn: sqlite3.Connection, sid: str) -> bool:
    """Whether a fixture file declared this account (or API key, or call)."""
    row = conn.execute("SELECT 1 FROM fixture_rows WHERE key = ?", (sid,)).fetchone()
    return row is not None


def sessions_of_calls(
    conn: sqlite3.Connection, call_sids: Sequence[str], per_call: int
) -> dict[str, list[SessionRecord]]:
    """The newest ``per_call`` sessions of each call, newest first."""
    if not call_sids:
        return {}
    marks = ", ".join("?" * len(call_sids))
    rows = conn.execute(
        "SELECT call_sid, sid FROM (SELECT call_sid, sid, row_number() OVER"
        " (PARTITION BY call_sid ORDER BY rowid DESC) AS n FROM payment_sessions"
        f" WHERE call_sid IN ({marks})) WHERE n <= ? ORDER BY call_sid, n",
        (*call_sids, per_call),
    ).fetchall()
    found: dict[str, list[SessionRecord]] = {sid: [] for sid in call_sids}
    for call_sid, sid in rows:
        record = session_rows.load(conn, sid)
        if record is not None:
            found[call_sid].append(record)
    return found


def _load(conn: sqlite3.Connection, sids: Iterable[str]) -> list[SessionRecord]:
    records = (session_rows.load(conn, sid) for sid in sids)
    return [record for record in records if record is not None]


# --- delivery attempts -----------------------------------------------------------------


def attempts(conn: sqlite3.Connection, callback_ids: Sequence[int]) -> dict[int, list[Attempt]]:
    """Every delivery attempt of these callbacks, oldest first."""
    found: dict[int, list[Attempt]] = {callback_id: [] for callback_id in callback_ids}
    if not callback_ids:
        return found
    marks = ", ".join("?" * len(callback_ids))
    cursor = conn.execute(
        f"SELECT * FROM callback_attempts WHERE callback_id IN ({marks}) ORDER BY id",
        tuple(callback_ids),
    )
    names = [column[0] for column in cursor.description]
    for row in cursor.fetchall():
        values = dict(zip(names, row, strict=True))
        attempt = Attempt(
            callback_id=values["callback_id"],
            url=mask_url_password(values["url"]),
            headers=_masked(json.loads(values["headers"]) if values["headers"] else {}),
            status_code=values["status_code"],
            duration_ms=values["duration_ms"],
            error=values["error"],
            attempted_at_ms=values["attempted_at_ms"],
            response=values.get("response") or "",
            extra={k: v for k, v in values.items() if k not in _ATTEMPT_COLUMNS},
        )
        found[attempt.callback_id].append(attempt)
    return found


def _masked(headers: dict[str, str]) -> dict[str, str]:
    """Recorded headers as shown: credentials masked (the outbox records them masked; this
    keeps rows of any other origin safe to show too)."""
    return {
        name: f"{value.split(' ', 1)[0]} {MASK}"
        if name.lower() == "authorization" and not value.endswith(MASK)
        else value
        for name, value in headers.items()
    }


def _like(text: str) -> str:
    """A LIKE pattern (with ``ESCAPE '\\'``) that finds ``text`` anywhere, its wildcards
    taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _session_where(
    account_sid: str | None,
    call_sid: str | None,
    state: str | None,
    text: str | None,
    failed_callbacks: bool,
) -> tuple[str, tuple[str, ...]]:
    where, args = _where(account_sid=account_sid, call_sid=call_sid, state=state)
    clauses = [where.removeprefix(" WHERE ")] if where else []
    text = (text or "").strip()[:MAX_SEARCH]
    if text:
        pattern = _like(text)
        clauses.append(
            "(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in _SEARCHED) + ")"
        )
        args += (pattern,) * len(_SEARCHED)
    if failed_callbacks:  # the index on (state, id) finds the failed ones
        clauses.append("sid IN (SELECT payment_sid FROM callbacks WHERE state = 'failed')")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _where(**filters: str | None) -> tuple[str, tuple[str, ...]]:
    """`` WHERE a = ? AND b = ?`` for the filters given (column names are ours, not input)."""
    given = {column: value for column, value in filters.items() if value}
    if not given:
        return "", ()
    return " WHERE " + " AND ".join(f"{column} = ?" for column in given), tuple(given.values())
