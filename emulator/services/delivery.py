"""StatusCallback delivery: durable rows written with the state change, and the worker that
sends them.

A row is inserted in the same transaction as the state change that causes it (:meth:`enqueue`),
so an accepted request never loses its callback and a refused or replayed one never makes
one. Once the transaction commits, the row is handed to the worker, which POSTs it without
ever delaying the API's answer: in order per session (one delivery at a time per session;
a call's status callbacks in order per call), concurrently across sessions, with Twilio's connection overrides
(:mod:`emulator.domain.overrides`: the URL's ``#ct=...&rc=...`` fragment, else the settings,
whose defaults are Twilio's: one retry, only when no connection could be made, all attempts
within 15 s).
Every attempt is recorded (:class:`~emulator.services.callback_log.CallbackLog`). Rows still
pending at start-up (the emulator was stopped or killed) are delivered then; a callback whose
delivery was cut short by a crash may therefore arrive twice, with the same
``I-Twilio-Idempotency-Token``, as Twilio's own webhooks may.

The requests go out through the one way out (:mod:`emulator.outgoing.client`): its host
policy, fairness per host, name look-ups and answer cap apply. One bad receiver harms nobody
else: anything that goes wrong with one delivery (a refused host, a name that does not
resolve, a bug) is recorded as a failed attempt and the session's queue moves on; the worker
never dies.

Shutdown (:meth:`begin_shutdown` at SIGTERM, then :meth:`stop`): long-polls answer at once; no
new delivery starts (what is pending stays pending, and is sent at the next start); deliveries
in flight have until ``shutdown_grace_s`` after the signal to finish and be recorded, so a
graceful restart delivers each callback exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from emulator.domain import overrides
from emulator.domain.masking import mask_card_numbers
from emulator.domain.overrides import (
    TWILIO_RETRY_COUNT,
    TWILIO_RETRY_POLICY,
    Failure,
    Overrides,
    RetryOn,
)
from emulator.domain.records import CallbackRecord, NewCallback, PendingCallback
from emulator.domain.urls import mask_url_password, scrub_password
from emulator.outgoing.client import Outgoing, Reply
from emulator.outgoing.webhooks import signed_webhook
from emulator.services.callback_log import AttemptOutcome, CallbackLog
from emulator.services.grace import finish_within
from emulator.store import accounts, calls
from emulator.store import callbacks as rows
from emulator.store.db import Database

__all__ = ["Delivery", "DeliverySettings"]

logger = logging.getLogger("emulator.callbacks")

RESPONSE_EXCERPT = 4096  # bytes of a receiver's answer the delivery log keeps
CACHE_SIZE = 4096  # entries per look-up cache (call URLs, tokens): bounded memory


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    timeout_s: float = 15.0  # all attempts of one callback (Twilio's tt), when no #tt= says
    retries: int = TWILIO_RETRY_COUNT  # Twilio's rc, when no #rc= says
    retry_policy: tuple[RetryOn, ...] = TWILIO_RETRY_POLICY  # Twilio's rp, when no #rp= says
    backoff_ms: int = 0
    base_url: str | None = None  # for relative StatusCallbacks on calls without a URL
    shutdown_grace_s: float = 10.0  # for deliveries in flight when the emulator stops

    def overrides(self) -> Overrides:
        """What a URL without a fragment gets (the connect timeout is Twilio's default;
        both timeouts are capped by the total time)."""
        total_ms = max(1, round(self.timeout_s * 1000))
        return Overrides(
            connect_timeout_ms=min(Overrides().connect_timeout_ms, total_ms),
            read_timeout_ms=total_ms,
            total_ms=total_ms,
            retry_count=self.retries,
            retry_policy=frozenset(self.retry_policy),
        )


class Delivery:
    """Delivers committed callbacks, in order per session (per call for a call's own)."""

    def __init__(
        self,
        db: Database,
        log: CallbackLog,
        outgoing: Outgoing,
        settings: DeliverySettings,
    ) -> None:
        self._db = db
        self._log = log
        self._outgoing = outgoing
        self._settings = settings
        self._queues: dict[str, deque[PendingCallback]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # An account's token never changes (a reset removes it); a call's URL changes as the
        # call runs TwiML (forget_call_url).
        self._call_urls: dict[str, str | None] = {}
        self._tokens: dict[str, str] = {}
        self._closing = False
        self._closing_event = asyncio.Event()
        self._deadline = 0.0  # time.monotonic() by which deliveries in flight must be done

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        pending = rows.pending(self._db.conn)
        for callback in pending:
            self._add(callback)
        if pending:
            logger.info("resuming %d pending callback deliveries", len(pending))

    def begin_shutdown(self, grace_s: float | None = None) -> None:
        """The emulator is stopping (SIGTERM or SIGINT): answer long-polls now, start no new
        delivery (what is pending stays pending, for the next start), and give deliveries in
        flight ``grace_s`` (``shutdown_grace_s``) from now to finish and be recorded.
        Safe to call more than once; only the first call counts."""
        if self._closing:
            return
        self._closing = True
        grace = self._settings.shutdown_grace_s if grace_s is None else grace_s
        self._deadline = time.monotonic() + max(grace, 0.0)
        self._closing_event.set()  # backoff waits end
        self._log.close()  # long-polls answer
        in_flight = sum(1 for task in self._tasks if not task.done())
        if in_flight:
            logger.info(
                "stopping: %d callback deliveries in flight get up to %.1f s to finish",
                in_flight,
                grace,
            )

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` by which work in flight must be done (after begin_shutdown)."""
        return self._deadline

    async def stop(self) -> None:
        """Let deliveries in flight finish (until the grace period ends), cancel the rest
        (they stay pending and are sent again at the next start), and write what the database
        could not take yet."""
        self.begin_shutdown()
        await finish_within(
            self._tasks,
            self._deadline,
            "%d callback deliveries still in flight after the grace period were cut short: "
            "they stay pending and are sent again at the next start",
        )
        await self._log.stop()

    def forget(self, account_sid: str | None = None) -> None:
        """Drop queued deliveries (all, or one account's): a reset wiped their rows."""
        self._call_urls.clear()
        self._tokens.clear()
        for queue in self._queues.values():
            kept = [p for p in queue if account_sid is not None and p.account_sid != account_sid]
            queue.clear()
            queue.extend(kept)
        self._log.forget(account_sid)

    def forget_call_url(self, call_sid: str) -> None:
        """The call's URL changed (it runs another TwiML document): look it up again."""
        self._call_urls.pop(call_sid, None)

    # --- queueing ----------------------------------------------------------------------------

    def enqueue(self, conn: sqlite3.Connection, callback: NewCallback) -> None:
        """Write a callback row in the current transaction; deliver it once that commits."""
        pending = rows.insert(conn, callback)
        self._db.after_commit(lambda: self._add(pending))

    async def redeliver(self, callback_id: int) -> CallbackRecord | None:
        """Queue a callback again (after the ones pending for its session)."""
        pending = await self._db.write(lambda conn: rows.reopen(conn, callback_id))
        if pending is None:
            return None
        self._add(pending)
        return self._log.find({"id": callback_id})[0]

    def _add(self, pending: PendingCallback) -> None:
        """Queue a committed callback; its session's (or, for a call status callback, its
        call's) deliveries run one at a time, in order.
        Once stopping, nothing new starts: the row stays pending for the next start."""
        if self._closing:
            return
        key = pending.queue
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            queue.append(pending)
            task = asyncio.get_running_loop().create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            queue.append(pending)

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue and not self._closing:
                pending = queue[0]
                try:
                    await self._deliver(pending)
                except Exception:  # _deliver records every failure itself: this is a bug
                    logger.exception("callback %d: delivery failed unexpectedly", pending.id)
                if queue and queue[0] is pending:
                    queue.popleft()
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]

    # --- delivery ----------------------------------------------------------------------------

    async def _deliver(self, pending: PendingCallback) -> None:
        """Attempt (and retry, as the URL's connection overrides say) one callback,
        recording every attempt. Every attempt, and the pauses between, fit in the total
        time (``#tt``); a retry that would not is not made."""
        settings = overrides.parse(pending.url, self._settings.overrides())
        deadline = time.monotonic() + settings.total_ms / 1000
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(pending, settings, deadline)
            backoff_s = self._settings.backoff_ms * 2 ** (attempt - 1) / 1000
            final = (
                outcome.delivered
                or attempt > settings.retry_count
                or not overrides.retried(settings.retry_policy, outcome.failure)
                or time.monotonic() + backoff_s >= deadline
            )
            self._log.record(pending, outcome, final)
            if final or self._closing:
                return  # not final and stopping: it stays pending, for the next start
            if backoff_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing_event.wait(), backoff_s)
            if self._closing:
                return

    async def _attempt(
        self, pending: PendingCallback, settings: Overrides, deadline: float
    ) -> AttemptOutcome:
        """One attempt; never raises (but for cancellation): whatever goes wrong is the
        attempt's error."""
        try:
            return await self._try(pending, settings, deadline)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("callback %d: delivery failed unexpectedly", pending.id, exc_info=True)
            error = f"delivery failed: {type(exc).__name__}: {exc}"
            shown = mask_url_password(pending.url)
            return AttemptOutcome(shown, error=scrub_password(error, pending.url))

    async def _try(
        self, pending: PendingCallback, settings: Overrides, deadline: float
    ) -> AttemptOutcome:
        url, problem = self._resolve(pending)
        if url is None:
            return AttemptOutcome(mask_url_password(pending.url), error=problem)
        url = overrides.without_fragment(url)  # the overrides are for Twilio, not the receiver
        token = self._token(pending.account_sid)
        if token is None:
            error = f"account {pending.account_sid} no longer exists"
            return AttemptOutcome(mask_url_password(url), error=error)
        request = signed_webhook(
            pending.method,
            url,
            pending.params,
            token,
            pending.idempotency_token,
            settings,
            deadline,
        )
        reply = await self._outgoing.send(request)
        return _outcome(reply, request.url)

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
            shown = mask_url_password(pending.url)
            return None, (
                f"relative StatusCallback {shown!r} cannot be resolved: the call has no url"
                " and no callback_base_url is set"
            )
        return urljoin(base, pending.url), None

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


def _outcome(reply: Reply, url: str) -> AttemptOutcome:
    """What a delivery attempt's reply is recorded as."""
    if reply.refusal is not None:
        return AttemptOutcome(reply.url, error=reply.refusal)
    if reply.error is not None:
        exc = reply.error
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError):
            reason = "TimeoutError: the callback's total time ran out"
        return AttemptOutcome(
            reply.url,
            reply.headers,
            error=scrub_password(reason, url),
            duration_ms=reply.duration_ms,
            failure=_failure(reply),
        )
    status = reply.status_code
    assert status is not None
    error = None if 200 <= status < 300 else f"HTTP {status}"
    failure: Failure | None = None
    if 400 <= status < 500:
        failure = "4xx"
    elif 500 <= status < 600:
        failure = "5xx"
    excerpt = mask_card_numbers(reply.body[:RESPONSE_EXCERPT].decode("utf-8", "replace"))
    return AttemptOutcome(
        reply.url,
        reply.headers,
        status,
        error,
        reply.duration_ms,
        failure=failure,
        response=excerpt,
    )


def _failure(reply: Reply) -> Failure | None:
    """How a request that got no whole answer failed, as a retry policy names it: ``ct`` no
    connection (TCP or TLS), ``rt`` no answer within the read timeout; None for an answer cut
    short ("Twilio doesn't retry on partial response") and anything else."""
    exc = reply.error
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return "ct"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return "rt" if reply.partial_status is None and not reply.body else None
    return None
