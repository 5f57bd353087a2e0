"""The caller's side of a call: keyed digits, a hang-up, the auto caller, the caller's silence.

Every call has a simulated caller. In ``auto`` mode it keys its scripted value
(:mod:`emulator.domain.scripts`) shortly after each accepted Capture; in ``manual`` mode it
keys nothing until a test says so. The session's ``Timeout`` runs on the emulator's clock
(:mod:`emulator.services.deadlines`): when it passes, what was keyed is validated as it stands,
or the callback says ``input-timeout``. Each action is a transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, replace
from functools import partial

from emulator.clock import Clock
from emulator.domain import machine
from emulator.domain.records import CallRow, SessionRecord
from emulator.domain.scripts import CallerScripts
from emulator.domain.vocabulary import AUTO, SILENCE, CallerMode
from emulator.services.sessions import Sessions, UnknownResource
from emulator.services.vault import SECRET_ITEMS, KeyedSoFar, Vault, fingerprint
from emulator.store import calls, sessions
from emulator.store import connectors as connector_store
from emulator.store.db import Database

__all__ = ["Caller", "CallerSettings"]

logger = logging.getLogger("emulator.payments")


@dataclass(frozen=True, slots=True)
class CallerSettings:
    mode: CallerMode = AUTO  # the default mode of a call's simulated caller
    delay_s: float = 0.05  # how soon the auto caller keys after a Capture


class Caller:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        sessions: Sessions,
        scripts: CallerScripts,
        vault: Vault,
        keyed: KeyedSoFar,
        settings: CallerSettings,
    ) -> None:
        self._db = db
        self._clock = clock
        self._sessions = sessions
        self._scripts = scripts
        self._vault = vault
        self._keyed = keyed
        self._settings = settings
        self._auto_tasks: set[asyncio.Task[None]] = set()
        sessions.deadlines.fire_with(self._input_timed_out)

    @property
    def default_mode(self) -> CallerMode:
        return self._settings.mode

    @property
    def delay_s(self) -> float:
        """How soon the auto caller keys (after a Capture, or a ``<Gather>``'s prompts)."""
        return self._settings.delay_s

    # --- calls -----------------------------------------------------------------------------

    async def set_caller(
        self, call_sid: str, mode: CallerMode, script: dict[str, str] | None = None
    ) -> CallRow:
        """Switch the call's simulated caller (and its active session's) to ``auto`` or
        ``manual``, and with ``script`` give it a new script; an auto caller at once keys the
        item being captured, if any."""

        def unit(conn: sqlite3.Connection) -> CallRow:
            call = calls.get(conn, call_sid)
            if call is None:
                raise UnknownResource(f"call {call_sid} does not exist")
            if script is not None:
                self._scripts.set(call_sid, script)  # validates first
            calls.set_caller(conn, call_sid, mode)
            for sid in sessions.active_on_call(conn, call_sid):
                sessions.set_caller(conn, sid, mode)
                record = sessions.load(conn, sid)
                item = record.session.capturing if record is not None else None
                if mode == AUTO and item is not None:
                    self._db.after_commit(partial(self.schedule_auto_entry, sid, item))
            return replace(call, caller=mode)

        return await self._db.write(unit)

    def end_sessions(self, conn: sqlite3.Connection, call_sid: str, now: int) -> None:
        """The call has ended (inside its transaction): a session still active on it ends
        with ``caller-hung-up``."""
        for sid in sessions.active_on_call(conn, call_sid):
            record = sessions.load(conn, sid)
            assert record is not None
            ended = machine.hang_up(record.session)
            if ended is not None:
                session, event = ended
                record = replace(record, session=session, updated_at_ms=now)
                self._sessions.save(conn, record, now)
                self._sessions.announce(conn, record, event, now)
                self._keyed.drop(sid)
                self._db.after_commit(partial(self._vault.drop, sid))

    # --- keying ----------------------------------------------------------------------------

    async def key_in(
        self, payment_sid: str, digits: str, partial: bool, expected_item: str | None = None
    ) -> SessionRecord | None:
        """The caller keys ``digits`` into the item being captured.

        Partial entries add up until an entry with ``partial`` false completes the item; ``*``
        ends the session. With ``expected_item`` (the auto caller), nothing happens unless that
        item is still the one being captured. Raises :class:`UnknownResource`, or
        :class:`~emulator.domain.machine.NothingToCapture`.
        """

        def unit(conn: sqlite3.Connection) -> SessionRecord | None:
            now = self._clock.now_ms()
            record = sessions.load(conn, payment_sid)
            if record is None:
                raise UnknownResource(f"payment session {payment_sid} does not exist")
            item = record.session.capturing
            if expected_item is not None and (
                item != expected_item or record.session.state is not machine.State.ACTIVE
            ):
                return None
            so_far = self._keyed.get(payment_sid, item)
            whole = digits if digits == machine.STAR else so_far + digits
            keyed = machine.KeyedDigits(whole, partial, fingerprint(item or "", whole))
            session, event = machine.key_in(record.session, keyed, self._clock.now().date())
            record = self._after_keying(conn, record, session, event, whole, now)
            if partial and digits != machine.STAR and item is not None:
                self._keyed.put(payment_sid, item, whole)
            else:
                self._keyed.drop(payment_sid)
            return record

        return await self._db.write(unit)

    def _after_keying(
        self,
        conn: sqlite3.Connection,
        record: SessionRecord,
        session: machine.Session,
        event: machine.Event,
        digits: str,
        now: int,
    ) -> SessionRecord:
        """Write what the caller's keying did, and keep the digits of a secret item a Generic
        Pay Connector will need (in memory: :class:`~emulator.services.vault.Vault`)."""
        item = event.item
        if (
            event.kind is machine.EventKind.KEY_IN
            and not event.partial
            and event.error_type is None
            and item in SECRET_ITEMS
        ):
            connector = connector_store.get(
                conn, record.account_sid, record.request.payment_connector
            )
            if connector is not None and connector.generic is not None:
                keep = partial(self._vault.keep, record.account_sid, record.sid, item, digits)
                self._db.after_commit(keep)
        if session.state is not machine.State.ACTIVE:
            self._db.after_commit(partial(self._vault.drop, record.sid))
        under_way = event.kind is machine.EventKind.KEY_IN and event.partial
        record = self._sessions.save(
            conn,
            replace(record, session=session, updated_at_ms=now),
            now,
            entry_under_way=under_way,
        )
        self._sessions.announce(conn, record, event, now)
        return record

    async def _input_timed_out(self, payment_sid: str) -> None:
        """The session's Timeout passed since the caller last keyed (or, with
        input_timeout_from=capture, since the Capture):
        what was keyed is validated as it stands, or the callback says ``input-timeout``."""

        def unit(conn: sqlite3.Connection) -> None:
            now = self._clock.now_ms()
            record = sessions.load(conn, payment_sid)
            if record is None or record.input_deadline_ms is None:
                return
            if record.input_deadline_ms > now:  # the clock moved back, or the timer was early
                deadline = record.input_deadline_ms
                self._db.after_commit(partial(self._sessions.deadlines.set, payment_sid, deadline))
                return
            item = record.session.capturing
            typed = self._keyed.get(payment_sid, item)
            self._keyed.drop(payment_sid)
            keyed = None
            if item is not None and typed:
                keyed = machine.KeyedDigits(typed, False, fingerprint(item, typed))
            try:
                session, event = machine.input_timeout(
                    record.session, keyed, self._clock.now().date()
                )
            except machine.NothingToCapture:
                return
            self._after_keying(conn, record, session, event, typed, now)

        await self._db.write(unit)

    # --- the auto caller -------------------------------------------------------------------

    def schedule_auto_entry(self, payment_sid: str, item: str) -> None:
        """In a moment, the auto caller keys its value for ``item`` (if still captured)."""
        loop = asyncio.get_running_loop()
        loop.call_later(self._settings.delay_s, self._start_auto_entry, payment_sid, item)

    def _start_auto_entry(self, payment_sid: str, item: str) -> None:
        task = asyncio.get_running_loop().create_task(self._auto_entry(payment_sid, item))
        self._auto_tasks.add(task)
        task.add_done_callback(self._auto_tasks.discard)

    async def _auto_entry(self, payment_sid: str, item: str) -> None:
        record = sessions.load(self._db.conn, payment_sid)
        if record is None or record.session.capturing != item or record.caller != AUTO:
            return  # the caller was switched to manual meanwhile: it keys nothing
        value = self._scripts.value(
            record.call_sid, item, record.session.card_brand, self._clock.now().date()
        )
        try:
            if value.endswith(SILENCE):  # keys what comes before, then goes quiet
                if value != SILENCE:
                    digits = value.removesuffix(SILENCE)
                    await self.key_in(payment_sid, digits, partial=True, expected_item=item)
            else:
                await self.key_in(payment_sid, value, partial=False, expected_item=item)
        except (UnknownResource, machine.NothingToCapture):
            pass  # the session ended or was wiped meanwhile
        except Exception:
            logger.exception("the auto caller could not key in %s for %s", item, payment_sid)

    # --- life cycle ------------------------------------------------------------------------

    def resume(self) -> None:
        """After a restart: auto callers key in what they were about to key in; the callers'
        timeouts run on (a deadline already past fires at once, and since half-keyed digits
        are not kept across a restart, it reports ``input-timeout``)."""
        conn = self._db.conn
        for sid, item in sessions.waiting_for_auto_caller(conn):
            self.schedule_auto_entry(sid, item)
        for sid, deadline in sessions.with_deadlines(conn):
            self._sessions.deadlines.set(sid, deadline)

    async def stop(self) -> None:
        await self._sessions.deadlines.stop()
        for task in list(self._auto_tasks):
            task.cancel()
        await asyncio.gather(*self._auto_tasks, return_exceptions=True)

    def forget(self, account_sid: str | None = None) -> None:
        """After a reset (of everything, or of one account): nothing half-keyed, no digits
        held for the wiped sessions. (Their timers find no session when they fire.)"""
        self._keyed.clear()
        self._vault.clear(account_sid)
