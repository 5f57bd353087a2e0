"""The callbacks' record: every delivery attempt written down, and what is read back.

:meth:`CallbackLog.record` writes an attempt without waiting for its commit (the session's
next delivery need not wait) and never raises. When the disk is full (``DatabaseFull``) the
attempt's outcome is kept in memory, shown by :meth:`find` as if written, and written as soon
as the database takes writes again; so a callback delivered while the disk was full is not
sent again after a restart (unless the process stops before space returns).

:meth:`find` and :meth:`wait_for` are what the control plane, the inspector and the services
read; a long-poll (``wait_for``) answers when enough attempts are recorded, when its time runs
out, or at once when the emulator is stopping (:meth:`close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from emulator.clock import Clock
from emulator.domain.overrides import Failure
from emulator.domain.records import CallbackRecord, PendingCallback
from emulator.errors import DatabaseFull
from emulator.services.metrics import Metrics
from emulator.store import callbacks as rows
from emulator.store.db import Database

__all__ = ["AttemptOutcome", "CallbackLog"]

logger = logging.getLogger("emulator.callbacks")

FLUSH_FIRST_S = 0.2  # outcomes kept in memory (disk full): first try to write them again
FLUSH_MAX_S = 5.0  # ... then doubling up to this


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """One delivery attempt, as recorded: the URL and headers as shown (password and
    credentials masked; no headers when nothing was sent), the answer's status and start."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int | None = None
    error: str | None = None
    duration_ms: float = 0.0
    # How it failed, as a retry policy names it (a 4xx or 5xx answer, no connection, no
    # answer in time); None: delivered, or a failure no retry policy names (refused host,
    # bad URL, an answer cut short, ...).
    failure: Failure | None = None
    response: str = ""  # the start of the receiver's answer, for the delivery log

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class _Unrecorded:
    """An attempt's record that the database could not take yet (its disk is full)."""

    callback_id: int
    account_sid: str
    outcome: AttemptOutcome
    state: str
    now_ms: int


class CallbackLog:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics | None = None) -> None:
        self._db = db
        self._clock = clock
        self._metrics = metrics
        self._changed = asyncio.Event()  # set (and replaced) whenever an attempt is recorded
        self._closing = False
        self._backlog: list[_Unrecorded] = []
        self._recording: set[asyncio.Future[None]] = set()  # records waiting for their commit
        self._flusher: asyncio.Task[None] | None = None

    # --- recording -------------------------------------------------------------------------

    def record(self, pending: PendingCallback, outcome: AttemptOutcome, final: bool) -> None:
        """Record an attempt, without waiting for the commit; never raises."""
        now = self._clock.now_ms()
        state = "delivered" if outcome.delivered else ("failed" if final else "pending")
        _log_attempt(pending, outcome, final)
        if self._metrics is not None:
            shown = state if state != "pending" else "retrying"
            self._metrics.callback_attempt(shown, outcome.duration_ms / 1000)
        unrecorded = _Unrecorded(pending.id, pending.account_sid, outcome, state, now)
        if self._backlog:  # after the ones waiting, in order
            self._keep(unrecorded)
            self.notify()
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
        self.notify()

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
        self.notify()

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
        self.notify()

    def notify(self) -> None:
        """Wake every ``wait_for``."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        """The emulator is stopping: long-polls answer at once."""
        self._closing = True
        self.notify()

    async def stop(self) -> None:
        """Wait for the last records' commit, and write what the database could not take
        yet (if it can now)."""
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

    def forget(self, account_sid: str | None = None) -> None:
        """A reset wiped the rows (all, or one account's): their ids may be reused by new
        rows, so outcomes kept in memory must not apply to those."""
        self._backlog = [
            u for u in self._backlog if account_sid is not None and u.account_sid != account_sid
        ]

    # --- what is read back -----------------------------------------------------------------

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


def _log_attempt(pending: PendingCallback, outcome: AttemptOutcome, final: bool) -> None:
    """A failed attempt is logged at info, a delivery at debug; with the structured fields
    the JSON log format shows (``event``: ``callback.delivered``, ``callback.failed`` or
    ``callback.retrying``)."""
    if outcome.delivered:
        level, event, what = logging.DEBUG, "callback.delivered", f"{outcome.status_code}"
    else:
        level = logging.INFO
        event = "callback.failed" if final else "callback.retrying"
        what = f"{outcome.error}{'' if final else ' (will retry)'}"
    if not logger.isEnabledFor(level):
        return
    logger.log(
        level,
        "callback %d to %s: %s",
        pending.id,
        outcome.url,
        what,
        extra={
            "event": event,
            "account": pending.account_sid,
            "call": pending.call_sid,
            "session": pending.payment_sid,
            "callback_id": pending.id,
            "status": outcome.status_code,
            "duration_ms": round(outcome.duration_ms, 3),
        },
    )


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
