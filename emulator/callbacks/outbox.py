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

One bad receiver harms nobody else:

* anything that goes wrong with one delivery (a URL the HTTP client refuses, a name that does
  not resolve, a host not in ``callback_hosts``, a bug) is recorded as a failed attempt and
  the session's queue moves on: the worker never dies;
* at most ``host_concurrency`` deliveries are in flight to one host (scheme, host, port) at a
  time, so a hanging receiver holds only slots of its own and delays only callbacks to itself;
* names are resolved off the request path through a shared cache that keeps failures for a
  while (``emulator.callbacks.resolver``), and at most ``max_response_bytes`` of an answer
  are read (``emulator.callbacks.transport``);
* credentials in a URL (``https://user:pass@host/...``) are sent as HTTP Basic, and the
  password is masked (``****``) in everything shown (``emulator.callbacks.urls``).

Shutdown (``begin_shutdown`` at SIGTERM, then ``stop``): long-polls (``wait_for``) answer at
once; no new delivery starts (what is pending stays pending, and is sent at the next start);
deliveries in flight have until ``shutdown_grace_s`` after the signal to finish and be
recorded, so a graceful restart delivers each callback exactly once.

A full disk: when an attempt cannot be recorded (``DatabaseFull``), its outcome is kept in
memory, shown by ``find`` as if written, and written as soon as the database takes writes
again; so a callback delivered while the disk was full is not sent again after a restart
(unless the process stops before space returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx

from emulator.callbacks.resolver import Resolver
from emulator.callbacks.signing import compute_signature
from emulator.callbacks.transport import CallbackTransport
from emulator.callbacks.urls import MASK, basic_authorization, mask_url_password, scrub_password
from emulator.clock import Clock
from emulator.errors import DatabaseFull
from emulator.store import accounts, calls
from emulator.store import callbacks as rows
from emulator.store.callbacks import CallbackRecord, PendingCallback
from emulator.store.db import Database

__all__ = ["Outbox", "OutboxSettings", "form_body"]

logger = logging.getLogger("emulator.callbacks")

RESPONSE_EXCERPT = 4096  # bytes of a receiver's answer the delivery log keeps

USER_AGENT = "TwilioProxy/1.1"
MAX_IN_FLIGHT = 512  # all hosts together: a safety net for file descriptors, far above need
CACHE_SIZE = 4096  # entries per look-up cache (URLs, call URLs, tokens): bounded memory
FLUSH_FIRST_S = 0.2  # outcomes kept in memory (disk full): first try to write them again
FLUSH_MAX_S = 5.0  # ... then doubling up to this


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    timeout_s: float = 15.0
    retries: int = 0
    backoff_ms: int = 1000
    base_url: str | None = None  # for relative StatusCallbacks on calls without a URL
    hosts: tuple[str, ...] = ()  # hosts callbacks may go to; empty: any
    host_concurrency: int = 8  # deliveries in flight to one host at a time
    max_response_bytes: int = 65536  # of a receiver's answer, read; the rest is not
    shutdown_grace_s: float = 10.0  # for deliveries in flight when the emulator stops


@dataclass(frozen=True, slots=True)
class _Outcome:
    url: str  # as shown: the password masked
    headers: dict[str, str]  # as shown: credentials masked; empty when nothing was sent
    status_code: int | None
    error: str | None
    duration_ms: float
    retryable: bool = True  # False: trying again cannot help (refused host, bad URL, ...)
    response: str = ""  # the start of the receiver's answer, for the delivery log

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class _Unrecorded:
    """An attempt's record that the database could not take yet (its disk is full)."""

    callback_id: int
    account_sid: str
    outcome: _Outcome
    state: str
    now_ms: int


class _HostSlots:
    """At most ``limit`` holders per key at a time; a key's entry lives while it is used."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[tuple[str, str, int], tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, str, int]) -> AsyncIterator[None]:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = (asyncio.Semaphore(self._limit), [0])
        semaphore, users = slot
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0 and self._slots.get(key) is slot:
                del self._slots[key]

    def __len__(self) -> int:
        return len(self._slots)


class Outbox:
    """Delivers committed callbacks, in order per session."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: OutboxSettings,
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._queues: dict[str, deque[PendingCallback]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()  # set (and replaced) whenever an attempt is recorded
        self._transport = CallbackTransport(
            resolver=resolver, max_response_bytes=settings.max_response_bytes
        )
        self._timeouts = dict.fromkeys(("connect", "read", "write", "pool"), settings.timeout_s)
        self._urls: dict[str, httpx.URL] = {}
        # Neither a call's URL nor an account's token changes; only a reset removes them.
        self._call_urls: dict[str, str | None] = {}
        self._tokens: dict[str, str] = {}
        self._allowed_hosts = frozenset(_host_key(host) for host in settings.hosts if host.strip())
        self._host_slots = _HostSlots(settings.host_concurrency)
        self._sending = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._closing = False
        self._closing_event = asyncio.Event()
        self._deadline = 0.0  # time.monotonic() by which deliveries in flight must be done
        self._backlog: list[_Unrecorded] = []
        self._recording: set[asyncio.Future[None]] = set()  # records waiting for their commit
        self._flusher: asyncio.Task[None] | None = None

    @property
    def resolver(self) -> Resolver:
        return self._transport.resolver

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
        self._notify()  # long-polls answer
        in_flight = sum(1 for task in self._tasks if not task.done())
        if in_flight:
            logger.info(
                "stopping: %d callback deliveries in flight get up to %.1f s to finish",
                in_flight,
                grace,
            )

    async def stop(self) -> None:
        """Let deliveries in flight finish (until the grace period ends), cancel the rest
        (they stay pending and are sent again at the next start), write what the database
        could not take yet, and close the connections."""
        self.begin_shutdown()
        tasks = {task for task in self._tasks if not task.done()}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(self._deadline - time.monotonic(), 0))
            if late:
                logger.warning(
                    "%d callback deliveries still in flight after the grace period were cut "
                    "short: they stay pending and are sent again at the next start",
                    len(late),
                )
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
        if self._recording:  # the last records' commit (the next turn)
            await asyncio.gather(*self._recording, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        if self._backlog:
            try:
                await self._write_backlog()
            except Exception as exc:
                logger.warning(
                    "%d callback delivery outcomes could not be recorded (%s): those callbacks "
                    "will be sent again at the next start",
                    len(self._backlog),
                    exc,
                )
        await self._transport.aclose()

    def forget(self, account_sid: str | None = None) -> None:
        """Drop queued deliveries (all, or one account's): a reset wiped their rows."""
        self._call_urls.clear()
        self._tokens.clear()
        for queue in self._queues.values():
            kept = [p for p in queue if account_sid is not None and p.account_sid != account_sid]
            queue.clear()
            queue.extend(kept)
        # Their ids may be reused by new rows: outcomes kept in memory must not apply to those.
        self._backlog = [
            u for u in self._backlog if account_sid is not None and u.account_sid != account_sid
        ]

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
        """Queue a committed callback; its session's deliveries run one at a time, in order.
        Once stopping, nothing new starts: the row stays pending for the next start."""
        if self._closing:
            return
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
            while queue and not self._closing:
                pending = queue[0]
                try:
                    await self._deliver(pending)
                except Exception:  # _deliver records every failure itself: this is a bug
                    logger.exception("callback %d: delivery failed unexpectedly", pending.id)
                if queue and queue[0] is pending:
                    queue.popleft()
        finally:
            if self._queues.get(payment_sid) is queue:
                del self._queues[payment_sid]

    async def _deliver(self, pending: PendingCallback) -> None:
        """Attempt (and retry) one callback, recording every attempt."""
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(pending)
            final = outcome.delivered or not outcome.retryable or attempt > self._settings.retries
            self._record(pending, outcome, final)
            if final or self._closing:
                return  # not final and stopping: it stays pending, for the next start
            backoff_s = self._settings.backoff_ms * 2 ** (attempt - 1) / 1000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing_event.wait(), backoff_s)
            if self._closing:
                return

    async def _attempt(self, pending: PendingCallback) -> _Outcome:
        """One attempt; never raises (but for cancellation): whatever goes wrong is the
        attempt's error."""
        try:
            return await self._try(pending)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("callback %d: delivery failed unexpectedly", pending.id, exc_info=True)
            error = f"delivery failed: {type(exc).__name__}: {exc}"
            return _Outcome(
                mask_url_password(pending.url),
                {},
                None,
                scrub_password(error, pending.url),
                0.0,
                retryable=False,
            )

    async def _try(self, pending: PendingCallback) -> _Outcome:
        url, problem = self._resolve(pending)
        if url is None:
            return _Outcome(mask_url_password(pending.url), {}, None, problem, 0.0, False)
        shown = mask_url_password(url)
        try:
            target = self._url(url)
        except httpx.InvalidURL as exc:
            error = scrub_password(f"invalid URL: {exc}", url)
            return _Outcome(shown, {}, None, error, 0.0, False)
        if target.scheme not in ("http", "https") or not target.raw_host:
            return _Outcome(shown, {}, None, "invalid URL: not an absolute http(s) URL", 0.0, False)
        refusal = self._refused(target)
        if refusal is not None:
            return _Outcome(shown, {}, None, refusal, 0.0, False)
        token = self._token(pending.account_sid)
        if token is None:
            error = f"account {pending.account_sid} no longer exists"
            return _Outcome(shown, {}, None, error, 0.0, False)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "I-Twilio-Idempotency-Token": pending.idempotency_token,
            # Twilio signs the URL as it was set, credentials included
            "X-Twilio-Signature": compute_signature(token, url, pending.params),
        }
        shown_headers = headers
        if target.username or target.password:
            headers = {
                **headers,
                "Authorization": basic_authorization(target.username, target.password),
            }
            shown_headers = {**headers, "Authorization": "Basic " + MASK}
        request = httpx.Request(
            "POST",
            target,
            content=form_body(pending.params),
            headers=headers,
            extensions={"timeout": self._timeouts},
        )
        origin = (target.scheme, target.raw_host.decode("ascii").lower(), target.port or 0)
        async with self._host_slots.hold(origin), self._sending:
            started = time.perf_counter()
            try:
                response = await self._transport.handle_async_request(request)
            except httpx.HTTPError as exc:
                elapsed = (time.perf_counter() - started) * 1000
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                return _Outcome(shown, shown_headers, None, scrub_password(reason, url), elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        status = response.status_code
        failure = None if 200 <= status < 300 else f"HTTP {status}"
        excerpt = response.content[:RESPONSE_EXCERPT].decode("utf-8", "replace")
        return _Outcome(shown, shown_headers, status, failure, elapsed, response=excerpt)

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

    def _refused(self, target: httpx.URL) -> str | None:
        """Why ``target``'s host may not be called (``callback_hosts``), or None."""
        if not self._allowed_hosts:
            return None
        host = _host_key(target.host)
        if host in self._allowed_hosts or _host_key(target.raw_host.decode("ascii")) in (
            self._allowed_hosts
        ):
            return None
        return (
            f"host {target.host!r} is not in callback_hosts "
            f"({', '.join(sorted(self._allowed_hosts))}): not sent (no look-up, no connection)"
        )

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

    # --- recording -------------------------------------------------------------------------

    def _record(self, pending: PendingCallback, outcome: _Outcome, final: bool) -> None:
        """Record an attempt, without waiting for the commit (the session's next delivery
        need not wait for it); never raises. When the disk is full the record is kept in
        memory and written once the database takes writes again."""
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
        unrecorded = _Unrecorded(pending.id, pending.account_sid, outcome, state, now)
        if self._backlog:  # after the ones waiting, in order
            self._keep(unrecorded)
            self._notify()
            return
        try:
            committed = self._db.write_soon(
                lambda conn: _write_attempt(conn, unrecorded), savepoint=False
            )  # only the first insert can fail
        except DatabaseFull:
            self._keep(unrecorded)
        except sqlite3.Error:
            pass  # a reset wiped the row meanwhile
        except Exception:
            logger.exception("callback %d: its attempt could not be recorded", pending.id)
        else:
            self._recording.add(committed)
            committed.add_done_callback(lambda done: self._recorded(done, unrecorded))
            return
        self._notify()

    def _recorded(self, committed: asyncio.Future[None], unrecorded: _Unrecorded) -> None:
        """An attempt's record was committed, or its commit failed."""
        self._recording.discard(committed)
        if not committed.cancelled():
            error = committed.exception()
            if isinstance(error, DatabaseFull):
                self._keep(unrecorded)
            elif error is not None and not isinstance(error, sqlite3.Error):
                logger.error(
                    "callback %d: its attempt could not be recorded: %r",
                    unrecorded.callback_id,
                    error,
                )
        self._notify()

    def _keep(self, unrecorded: _Unrecorded) -> None:
        if not self._backlog:
            logger.warning(
                "the database is full: callback delivery outcomes are kept in memory until "
                "they can be written"
            )
        self._backlog.append(unrecorded)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        """Write the kept outcomes once the database takes writes again."""
        delay = FLUSH_FIRST_S
        while self._backlog:
            await asyncio.sleep(delay)
            try:
                await self._write_backlog()
            except DatabaseFull:
                delay = min(delay * 2, FLUSH_MAX_S)
            except Exception:
                logger.exception("writing kept callback delivery outcomes failed")
                delay = min(delay * 2, FLUSH_MAX_S)
            else:
                logger.info("the database takes writes again: kept delivery outcomes written")
                delay = FLUSH_FIRST_S

    async def _write_backlog(self) -> None:
        batch = list(self._backlog)
        written = {id(u) for u in batch}

        def write(conn: sqlite3.Connection) -> None:
            for unrecorded in batch:
                # a reset may have wiped the row meanwhile (its first statement fails alone)
                with contextlib.suppress(sqlite3.IntegrityError):
                    _write_attempt(conn, unrecorded)
            # dropped from memory the moment they are committed, not a turn later: ``find``
            # must never count an attempt twice, and ``stop`` never write one twice
            self._db.after_commit(lambda: self._written(written))

        await self._db.write(write)

    def _written(self, written: set[int]) -> None:
        self._backlog = [u for u in self._backlog if id(u) not in written]
        self._notify()

    def _notify(self) -> None:
        """Wake every ``wait_for``."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- what the control plane sees -----------------------------------------------------

    def find(self, filters: Mapping[str, str | int | None]) -> list[CallbackRecord]:
        found = rows.find(self._db.conn, filters)
        if self._backlog:
            found = [self._with_kept(record) for record in found]
        return found

    def _with_kept(self, record: CallbackRecord) -> CallbackRecord:
        """``record`` as it will be once the outcomes kept in memory are written."""
        kept = [u for u in self._backlog if u.callback_id == record.id]
        if not kept:
            return record
        last = kept[-1]
        return dataclasses.replace(
            record,
            state=last.state,
            attempts=record.attempts + len(kept),
            status_code=last.outcome.status_code,
            error=last.outcome.error,
            delivered_at_ms=last.now_ms if last.state == "delivered" else None,
            last_url=last.outcome.url,
            last_headers=dict(last.outcome.headers),
        )

    async def wait_for(
        self, filters: Mapping[str, str | int | None], count: int, timeout_s: float
    ) -> list[CallbackRecord]:
        """The callbacks matching ``filters`` once ``count`` of them were attempted, or when
        ``timeout_s`` runs out, or at once when the emulator is stopping, whichever comes
        first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            changed = self._changed
            found = self.find(filters)
            if self._closing or sum(1 for c in found if c.attempts > 0) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def redeliver(self, callback_id: int) -> CallbackRecord | None:
        """Queue a callback again (after the ones pending for its session)."""
        pending = await self._db.write(lambda conn: rows.reopen(conn, callback_id))
        if pending is None:
            return None
        self._add(pending)
        return self.find({"id": callback_id})[0]


def _write_attempt(conn: sqlite3.Connection, unrecorded: _Unrecorded) -> None:
    outcome = unrecorded.outcome
    rows.record_attempt(
        conn,
        unrecorded.callback_id,
        url=outcome.url,
        headers=outcome.headers,
        status_code=outcome.status_code,
        duration_ms=round(outcome.duration_ms, 3),
        error=outcome.error,
        state=unrecorded.state,
        now_ms=unrecorded.now_ms,
        response=outcome.response,
    )


def _host_key(host: str) -> str:
    """A host as ``callback_hosts`` compares it: lower case, no brackets, no final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


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
