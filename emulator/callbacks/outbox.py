"""The callback outbox: durable rows written with the state change, and the worker that
delivers them.

A row is inserted in the same transaction as the state change that causes it (``enqueue``),
so an accepted request never loses its callback and a refused or replayed one never makes
one. Once the transaction commits, the row is handed to the worker, which POSTs it without
ever delaying the API's answer: in order per session (one delivery at a time per session),
concurrently across sessions, with a timeout and optional retries with exponential backoff.
Every attempt is recorded (URL, headers, status, duration, error). Rows still pending at
start-up (the emulator was stopped or killed) are delivered then; a callback whose delivery
was cut short by a crash may therefore arrive twice, with the same
``I-Twilio-Idempotency-Token``, as Twilio's own webhooks may.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx

from emulator.callbacks.signing import compute_signature
from emulator.callbacks.transport import CallbackTransport
from emulator.clock import Clock, format_iso_ms
from emulator.store.db import Database

__all__ = ["Outbox", "OutboxSettings", "PendingCallback", "enqueue", "form_body"]

logger = logging.getLogger("emulator.callbacks")

USER_AGENT = "TwilioProxy/1.1"
MAX_CONCURRENT_DELIVERIES = 64
CACHE_SIZE = 4096  # entries per look-up cache (URLs, call URLs, tokens): bounded memory


@dataclass(frozen=True, slots=True)
class PendingCallback:
    id: int
    payment_sid: str
    account_sid: str
    call_sid: str
    url: str
    params: tuple[tuple[str, str], ...]
    idempotency_token: str


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    timeout_s: float = 15.0
    retries: int = 0
    backoff_ms: int = 1000
    base_url: str | None = None  # for relative StatusCallbacks on calls without a URL


def enqueue(
    conn: sqlite3.Connection,
    *,
    payment_sid: str,
    account_sid: str,
    call_sid: str,
    event: str,
    url: str,
    params: Sequence[tuple[str, str]],
    idempotency_token: str,
    now_ms: int,
) -> PendingCallback:
    """Insert a callback row in the current transaction; hand it to the worker after commit."""
    cursor = conn.execute(
        "INSERT INTO callbacks (payment_sid, account_sid, call_sid, event, url, params,"
        " idempotency_token, state, attempts, created_at_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
        (
            payment_sid,
            account_sid,
            call_sid,
            event,
            url,
            json.dumps(params, separators=(",", ":")),
            idempotency_token,
            now_ms,
        ),
    )
    assert cursor.lastrowid is not None
    return PendingCallback(
        cursor.lastrowid, payment_sid, account_sid, call_sid, url, tuple(params), idempotency_token
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    url: str
    headers: dict[str, str]
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        """A URL that cannot be resolved, or an account that is gone, will not get better."""
        return self.status_code is not None or self.headers != {}


class Outbox:
    """Delivers committed callbacks, in order per session."""

    def __init__(self, db: Database, clock: Clock, settings: OutboxSettings) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._queues: dict[str, deque[PendingCallback]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._attempted = asyncio.Condition()
        self._transport = CallbackTransport()
        self._timeouts = dict.fromkeys(("connect", "read", "write", "pool"), settings.timeout_s)
        self._urls: dict[str, httpx.URL] = {}
        # Neither a call's URL nor an account's token changes; only a reset removes them.
        self._call_urls: dict[str, str | None] = {}
        self._tokens: dict[str, str] = {}
        self._sending = asyncio.Semaphore(MAX_CONCURRENT_DELIVERIES)

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        rows = self._db.conn.execute(
            "SELECT id, payment_sid, account_sid, call_sid, url, params, idempotency_token"
            " FROM callbacks WHERE state = 'pending' ORDER BY id"
        ).fetchall()
        for row in rows:
            self.add(_pending_from_row(row))
        if rows:
            logger.info("resuming %d pending callback deliveries", len(rows))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._transport.aclose()

    def forget(self, account_sid: str | None = None) -> None:
        """Drop queued deliveries (all, or one account's): a reset wiped their rows."""
        self._call_urls.clear()
        self._tokens.clear()
        for queue in self._queues.values():
            kept = [p for p in queue if account_sid is not None and p.account_sid != account_sid]
            queue.clear()
            queue.extend(kept)

    # --- delivery ----------------------------------------------------------------------------

    def add(self, pending: PendingCallback) -> None:
        """Queue a committed callback; its session's deliveries run one at a time, in order."""
        queue = self._queues.get(pending.payment_sid)
        if queue is None:
            queue = self._queues[pending.payment_sid] = deque()
            queue.append(pending)
            task = asyncio.get_running_loop().create_task(self._drain(pending.payment_sid))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            queue.append(pending)

    async def _drain(self, payment_sid: str) -> None:
        queue = self._queues[payment_sid]
        try:
            while queue:
                pending = queue[0]
                attempt = 0
                while True:
                    attempt += 1
                    outcome = await self._attempt(pending)
                    final = (
                        outcome.delivered
                        or not outcome.retryable
                        or attempt > self._settings.retries
                    )
                    await self._record(pending, outcome, final)
                    if final:
                        break
                    await asyncio.sleep(self._settings.backoff_ms * 2 ** (attempt - 1) / 1000)
                if queue and queue[0] is pending:
                    queue.popleft()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("callback delivery for session %s stopped", payment_sid)
        finally:
            if self._queues.get(payment_sid) is queue:
                del self._queues[payment_sid]

    def _resolve(self, pending: PendingCallback) -> tuple[str | None, str | None]:
        """The absolute URL to POST to, or None and why."""
        if urlsplit(pending.url).scheme:
            return pending.url, None
        if pending.call_sid not in self._call_urls:
            if len(self._call_urls) >= CACHE_SIZE:
                self._call_urls.clear()
            row = self._db.conn.execute(
                "SELECT url FROM calls WHERE sid = ?", (pending.call_sid,)
            ).fetchone()
            self._call_urls[pending.call_sid] = row[0] if row else None
        base = self._call_urls[pending.call_sid] or self._settings.base_url
        if not base:
            return None, (
                f"relative StatusCallback {pending.url!r} cannot be resolved: the call has no url"
                " and no callback_base_url is set"
            )
        return urljoin(base, pending.url), None

    async def _attempt(self, pending: PendingCallback) -> _Outcome:
        url, problem = self._resolve(pending)
        if url is None:
            return _Outcome(pending.url, {}, None, problem, 0.0)
        token = self._token(pending.account_sid)
        if token is None:
            return _Outcome(url, {}, None, f"account {pending.account_sid} no longer exists", 0.0)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": pending.idempotency_token,
            "X-Twilio-Signature": compute_signature(token, url, pending.params),
        }
        request = httpx.Request(
            "POST",
            self._url(url),
            content=form_body(pending.params),
            headers=headers,
            extensions={"timeout": self._timeouts},
        )
        started = time.perf_counter()
        try:
            async with self._sending:
                response = await self._transport.handle_async_request(request)
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return _Outcome(url, headers, None, reason, elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return _Outcome(url, headers, response.status_code, error, elapsed)

    def _token(self, account_sid: str) -> str | None:
        token = self._tokens.get(account_sid)
        if token is None:
            row = self._db.conn.execute(
                "SELECT auth_token FROM accounts WHERE sid = ?", (account_sid,)
            ).fetchone()
            if row is None:
                return None
            if len(self._tokens) >= CACHE_SIZE:
                self._tokens.clear()
            token = self._tokens[account_sid] = row[0]
        return token

    def _url(self, url: str) -> httpx.URL:
        """Parsed once per distinct URL: most callbacks of a test suite share a few."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= CACHE_SIZE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def _record(self, pending: PendingCallback, outcome: _Outcome, final: bool) -> None:
        now = self._clock.now_ms()
        state = "delivered" if outcome.delivered else ("failed" if final else "pending")
        if not outcome.delivered:
            logger.info(
                "callback %d to %s: %s%s",
                pending.id,
                outcome.url,
                outcome.error,
                "" if final else " (will retry)",
            )

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO callback_attempts (callback_id, url, headers, status_code,"
                " duration_ms, error, attempted_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    pending.id,
                    outcome.url,
                    json.dumps(outcome.headers),
                    outcome.status_code,
                    round(outcome.duration_ms, 3),
                    outcome.error,
                    now,
                ),
            )
            conn.execute(
                "UPDATE callbacks SET state = ?, attempts = attempts + 1, status_code = ?,"
                " error = ?, delivered_at_ms = ? WHERE id = ?",
                (
                    state,
                    outcome.status_code,
                    outcome.error,
                    now if outcome.delivered else None,
                    pending.id,
                ),
            )

        with contextlib.suppress(sqlite3.Error):  # a reset may have wiped the row meanwhile
            await self._db.write(write, savepoint=False)  # only the first insert can fail
        async with self._attempted:
            self._attempted.notify_all()

    # --- what the control plane sees -----------------------------------------------------

    def find(self, filters: Mapping[str, str | None]) -> list[dict[str, Any]]:
        where, args = [], []
        for column in ("id", "payment_sid", "call_sid", "account_sid"):
            value = filters.get(column)
            if value:
                where.append(f"c.{column} = ?")
                args.append(value)
        rows = self._db.conn.execute(
            "SELECT c.id, c.payment_sid, c.account_sid, c.call_sid, c.event, c.url, c.params,"
            " c.idempotency_token, c.state, c.attempts, c.status_code, c.error, c.created_at_ms,"
            " c.delivered_at_ms, a.url, a.headers FROM callbacks c LEFT JOIN callback_attempts a"
            " ON a.id = (SELECT max(id) FROM callback_attempts WHERE callback_id = c.id)"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY c.id",
            args,
        ).fetchall()
        return [_view(row) for row in rows]

    async def wait_for(
        self, filters: Mapping[str, str | None], count: int, timeout_s: float
    ) -> list[dict[str, Any]]:
        """The callbacks matching ``filters`` once ``count`` of them were attempted, or when
        ``timeout_s`` runs out, whichever comes first."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with self._attempted:
            while True:
                callbacks = self.find(filters)
                if sum(1 for c in callbacks if c["attempts"] > 0) >= count:
                    return callbacks
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return callbacks
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._attempted.wait(), remaining)

    async def redeliver(self, callback_id: int) -> dict[str, Any] | None:
        """Queue a callback again (after the ones pending for its session)."""

        def reopen(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
            row = conn.execute(
                "SELECT id, payment_sid, account_sid, call_sid, url, params, idempotency_token"
                " FROM callbacks WHERE id = ?",
                (callback_id,),
            ).fetchone()
            if row is not None:
                conn.execute("UPDATE callbacks SET state = 'pending' WHERE id = ?", (callback_id,))
            return tuple(row) if row is not None else None

        row = await self._db.write(reopen)
        if row is None:
            return None
        self.add(_pending_from_row(row))
        return self.find({"id": str(callback_id)})[0]


_NEEDS_NO_QUOTING = re.compile(r"[A-Za-z0-9_.~-]*")


def form_body(params: Sequence[tuple[str, str]]) -> bytes:
    """``urllib.parse.urlencode(params).encode()``, without quoting what needs none: most
    callback fields are SIDs and plain words, and urlencode's quoting was a tenth of the
    cost of a delivery."""
    return "&".join(
        (name if _NEEDS_NO_QUOTING.fullmatch(name) else quote_plus(name))
        + "="
        + (value if _NEEDS_NO_QUOTING.fullmatch(value) else quote_plus(value))
        for name, value in params
    ).encode()


def _pending_from_row(row: Sequence[Any]) -> PendingCallback:
    callback_id, payment_sid, account_sid, call_sid, url, params, token = row
    pairs = tuple((name, value) for name, value in json.loads(params))
    return PendingCallback(callback_id, payment_sid, account_sid, call_sid, url, pairs, token)


def _view(row: Sequence[Any]) -> dict[str, Any]:
    (
        callback_id,
        payment_sid,
        account_sid,
        call_sid,
        event,
        url,
        params,
        token,
        state,
        attempts,
        status_code,
        error,
        created_at_ms,
        delivered_at_ms,
        attempt_url,
        attempt_headers,
    ) = row
    return {
        "id": callback_id,
        "payment_sid": payment_sid,
        "account_sid": account_sid,
        "call_sid": call_sid,
        "event": event,
        "url": attempt_url or url,
        "params": dict(json.loads(params)),
        "headers": json.loads(attempt_headers) if attempt_headers else {},
        "idempotency_token": token,
        "state": state,
        "attempts": attempts,
        "status_code": status_code,
        "error": error,
        "created_at": format_iso_ms(created_at_ms),
        "delivered_at": format_iso_ms(delivered_at_ms) if delivered_at_ms else None,
    }
