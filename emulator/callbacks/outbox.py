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
import logging
import re
import sqlite3
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx

from emulator.callbacks.signing import compute_signature
from emulator.callbacks.transport import CallbackTransport
from emulator.clock import Clock
from emulator.store import accounts, calls
from emulator.store import callbacks as rows
from emulator.store.callbacks import CallbackRecord, PendingCallback
from emulator.store.db import Database

__all__ = ["Outbox", "OutboxSettings", "form_body"]

logger = logging.getLogger("emulator.callbacks")

USER_AGENT = "TwilioProxy/1.1"
MAX_CONCURRENT_DELIVERIES = 64
CACHE_SIZE = 4096  # entries per look-up cache (URLs, call URLs, tokens): bounded memory


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    timeout_s: float = 15.0
    retries: int = 0
    backoff_ms: int = 1000
    base_url: str | None = None  # for relative StatusCallbacks on calls without a URL


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
        pending = rows.pending(self._db.conn)
        for callback in pending:
            self._add(callback)
        if pending:
            logger.info("resuming %d pending callback deliveries", len(pending))

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

    def enqueue(
        self,
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
    ) -> None:
        """Write a callback row in the current transaction; deliver it once that commits."""
        pending = rows.insert(
            conn,
            payment_sid=payment_sid,
            account_sid=account_sid,
            call_sid=call_sid,
            event=event,
            url=url,
            params=params,
            idempotency_token=idempotency_token,
            now_ms=now_ms,
        )
        self._db.after_commit(lambda: self._add(pending))

    def _add(self, pending: PendingCallback) -> None:
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
            call = calls.get(self._db.conn, pending.call_sid)
            self._call_urls[pending.call_sid] = call.url if call else None
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
            token = accounts.auth_token(self._db.conn, account_sid)
            if token is None:
                return None
            if len(self._tokens) >= CACHE_SIZE:
                self._tokens.clear()
            self._tokens[account_sid] = token
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
            rows.record_attempt(
                conn,
                pending.id,
                url=outcome.url,
                headers=outcome.headers,
                status_code=outcome.status_code,
                duration_ms=round(outcome.duration_ms, 3),
                error=outcome.error,
                state=state,
                now_ms=now,
            )

        with contextlib.suppress(sqlite3.Error):  # a reset may have wiped the row meanwhile
            await self._db.write(write, savepoint=False)  # only the first insert can fail
        async with self._attempted:
            self._attempted.notify_all()

    # --- what the control plane sees -----------------------------------------------------

    def find(self, filters: Mapping[str, str | int | None]) -> list[CallbackRecord]:
        return rows.find(self._db.conn, filters)

    async def wait_for(
        self, filters: Mapping[str, str | int | None], count: int, timeout_s: float
    ) -> list[CallbackRecord]:
        """The callbacks matching ``filters`` once ``count`` of them were attempted, or when
        ``timeout_s`` runs out, whichever comes first."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        async with self._attempted:
            while True:
                found = self.find(filters)
                if sum(1 for c in found if c.attempts > 0) >= count:
                    return found
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return found
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._attempted.wait(), remaining)

    async def redeliver(self, callback_id: int) -> CallbackRecord | None:
        """Queue a callback again (after the ones pending for its session)."""
        pending = await self._db.write(lambda conn: rows.reopen(conn, callback_id))
        if pending is None:
            return None
        self._add(pending)
        return self.find({"id": callback_id})[0]


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
