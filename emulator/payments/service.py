"""Payments: the two Twilio requests and the caller's side, applied to stored sessions.

``create`` and ``update`` run inside a transaction that their caller opened (the Twilio edge
wraps them with the IdempotencyKey's look-up and record, so that the state change and the
answer are committed together): each loads what the request acts on, asks the machine for
the next state, writes the session and the callback the event causes, and returns the
session. Errors are the machine's and the connectors' :class:`~emulator.errors.TwilioError`
subclasses, or :class:`UnknownResource` for a call or session that does not exist.

The caller's side (keyed digits, a hang-up, the auto caller, which keys its scripted value
shortly after each accepted Capture) owns its transactions.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from emulator.callbacks import payloads
from emulator.callbacks.outbox import Outbox
from emulator.clock import Clock
from emulator.errors import ConnectorUnknown, InvalidCallState, InvalidPayOperation
from emulator.ids import IdGenerator
from emulator.payments import connectors, machine
from emulator.payments.caller import CallerScripts
from emulator.payments.model import CreatePayment, SessionRecord, UpdatePayment
from emulator.payments.vocabulary import AUTO, CALLER_MODES, MATCHER_SUFFIX, CallerMode
from emulator.store import accounts, calls, sessions
from emulator.store import connectors as connector_store
from emulator.store.callbacks import CallbackRecord
from emulator.store.db import Database

__all__ = ["PaymentService", "ServiceSettings", "UnknownResource"]

logger = logging.getLogger("emulator.payments")


class UnknownResource(LookupError):
    """The call, session or account a request names does not exist (or is another
    account's)."""


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    strict_calls: bool = False
    caller: CallerMode = AUTO  # the default mode of a call's simulated caller
    caller_delay_s: float = 0.05


class PaymentService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        outbox: Outbox,
        scripts: CallerScripts,
        settings: ServiceSettings,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._outbox = outbox
        self._scripts = scripts
        self._settings = settings
        self._typed: dict[str, tuple[str, str]] = {}  # session -> (item, digits keyed so far)
        self._fingerprint_key = secrets.token_bytes(32)  # in memory only
        self._auto_tasks: set[asyncio.Task[None]] = set()

    # --- the Twilio requests (inside the caller's transaction) ------------------------------

    def create(
        self,
        conn: sqlite3.Connection,
        now: int,
        account_sid: str,
        call_sid: str,
        request: Callable[[], CreatePayment],
    ) -> SessionRecord:
        """Start a session on the call. ``request`` parses the request: it is called once the
        call is known to exist, so that an unknown call is reported before a bad parameter."""
        call = calls.get(conn, call_sid)
        if call is None and not self._settings.strict_calls:
            call = calls.insert(conn, call_sid, account_sid, now)
        if call is None or call.account_sid != account_sid:
            raise UnknownResource(f"call {call_sid} does not exist")
        if call.status != calls.IN_PROGRESS:
            raise InvalidCallState(f"Invalid call state: call {call_sid} is {call.status}")
        create = request()
        connector = connector_store.get(conn, account_sid, create.payment_connector)
        if connector is None:
            raise ConnectorUnknown(
                f"Pay: Invalid paymentConnector attribute: no connector named"
                f" '{create.payment_connector}' is installed"
            )
        connectors.check_request(
            connector,
            create.payment_method,
            create.charge_amount is not None,
            create.currency,
            create.token_type,
        )
        if sessions.active_on_call(conn, call_sid):
            raise InvalidPayOperation(
                "Pay: Invalid Operation: a payment session is already in progress on this call"
            )
        session, event = machine.start(create.session_config())
        record = SessionRecord(
            sid=self._ids.sid("PK"),
            account_sid=account_sid,
            call_sid=call_sid,
            request=create,
            session=session,
            status_callback=create.status_callback,
            caller=call.caller or self._settings.caller,
            created_at_ms=now,
            updated_at_ms=now,
        )
        sessions.insert(conn, record)
        self._announce(conn, record, event, now)
        return record

    def update(
        self,
        conn: sqlite3.Connection,
        now: int,
        account_sid: str,
        call_sid: str,
        payment_sid: str,
        request: Callable[[], UpdatePayment],
    ) -> SessionRecord:
        """Capture, complete or cancel. ``request`` parses the request: it is called once the
        session is known to exist."""
        record = sessions.load(conn, payment_sid)
        if record is None or record.account_sid != account_sid or record.call_sid != call_sid:
            raise UnknownResource(f"payment session {payment_sid} does not exist")
        update = request()
        if update.capture is not None:
            session, event = machine.capture(record.session, update.capture)
        elif update.status == "complete":
            session, event = machine.complete(record.session, self._settler(record))
        else:
            session, event = machine.cancel(record.session)
        record = replace(
            record, session=session, status_callback=update.status_callback, updated_at_ms=now
        )
        sessions.save(conn, record)
        self._announce(conn, record, event, now)
        if event.kind is machine.EventKind.CAPTURE:
            self._typed.pop(payment_sid, None)
            if record.caller == AUTO and event.item is not None:
                item = event.item
                self._db.after_commit(lambda: self._schedule_auto_entry(payment_sid, item))
        return record

    def _settler(self, record: SessionRecord) -> Callable[[machine.Session], machine.Settlement]:
        def settle(session: machine.Session) -> machine.Settlement:
            return connectors.settle(
                record.request.payment_method,
                record.request.charge_amount is not None,
                record.request.token_type,
                session.card_outcome,
                self._ids.token,
            )

        return settle

    def _announce(
        self, conn: sqlite3.Connection, record: SessionRecord, event: machine.Event, now: int
    ) -> None:
        """Write the callback ``event`` causes; the outbox delivers it once the commit is done.

        It goes to the StatusCallback of the latest accepted request of the session: the
        request that caused it, or for the caller's entries and hang-ups the last one before.
        """
        self._outbox.enqueue(
            conn,
            payment_sid=record.sid,
            account_sid=record.account_sid,
            call_sid=record.call_sid,
            event=event.kind.value,
            url=record.status_callback,
            params=payloads.build(record, event),
            idempotency_token=self._ids.token(),
            now_ms=now,
        )

    # --- the caller's side -----------------------------------------------------------------

    async def create_call(
        self,
        account_sid: str,
        caller: str | None,
        script: dict[str, str],
        url: str | None,
    ) -> calls.CallRow:
        call_sid = self._ids.sid("CA")
        if caller is not None and caller not in CALLER_MODES:
            raise ValueError(f"caller must be one of {', '.join(CALLER_MODES)}")
        now = self._clock.now_ms()

        def insert(conn: sqlite3.Connection) -> calls.CallRow:
            if accounts.get(conn, account_sid) is None:
                raise UnknownResource(f"account {account_sid} does not exist")
            return calls.insert(conn, call_sid, account_sid, now, url=url, caller=caller)

        self._scripts.set(call_sid, script)  # validates before anything is written
        return await self._db.write(insert)

    async def key_in(
        self, payment_sid: str, digits: str, partial: bool, expected_item: str | None = None
    ) -> SessionRecord | None:
        """The caller keys ``digits`` into the item being captured.

        Partial entries add up until an entry with ``partial`` false completes the item; ``*``
        ends the session. With ``expected_item`` (the auto caller), nothing happens unless that
        item is still the one being captured. Raises :class:`UnknownResource`, or
        :class:`~emulator.payments.machine.NothingToCapture`.
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
            typed_item, typed = self._typed.get(payment_sid, ("", ""))
            so_far = typed if typed_item == item else ""
            whole = digits if digits == machine.STAR else so_far + digits
            keyed = machine.KeyedDigits(whole, partial, self._fingerprint(item or "", whole))
            session, event = machine.key_in(record.session, keyed, self._clock.now().date())
            record = replace(record, session=session, updated_at_ms=now)
            sessions.save(conn, record)
            self._announce(conn, record, event, now)
            if partial and digits != machine.STAR and item is not None:
                self._typed[payment_sid] = (item, whole)
            else:
                self._typed.pop(payment_sid, None)
            return record

        return await self._db.write(unit)

    def _fingerprint(self, item: str, digits: str) -> str:
        """A keyed hash of an entry, so that a matched item can be compared with its first
        entry without storing the digits (the key never leaves this process)."""
        message = (item.removesuffix(MATCHER_SUFFIX) + ":" + digits).encode()
        return hmac.new(self._fingerprint_key, message, hashlib.sha256).hexdigest()[:32]

    async def set_caller(self, call_sid: str, mode: CallerMode) -> calls.CallRow:
        """Switch the call's simulated caller (and its active session's) to ``auto`` or
        ``manual``; an auto caller at once keys the item being captured, if any."""

        def unit(conn: sqlite3.Connection) -> calls.CallRow:
            call = calls.get(conn, call_sid)
            if call is None:
                raise UnknownResource(f"call {call_sid} does not exist")
            calls.set_caller(conn, call_sid, mode)
            for sid in sessions.active_on_call(conn, call_sid):
                sessions.set_caller(conn, sid, mode)
                record = sessions.load(conn, sid)
                item = record.session.capturing if record is not None else None
                if mode == AUTO and item is not None:
                    self._db.after_commit(partial(self._schedule_auto_entry, sid, item))
            return replace(call, caller=mode)

        return await self._db.write(unit)

    async def hang_up(self, call_sid: str) -> calls.CallRow:
        """The call ends; a session still active on it ends with ``caller-hung-up``."""

        def unit(conn: sqlite3.Connection) -> calls.CallRow:
            now = self._clock.now_ms()
            call = calls.get(conn, call_sid)
            if call is None:
                raise UnknownResource(f"call {call_sid} does not exist")
            calls.end(conn, call_sid)
            for sid in sessions.active_on_call(conn, call_sid):
                record = sessions.load(conn, sid)
                assert record is not None
                ended = machine.hang_up(record.session)
                if ended is not None:
                    session, event = ended
                    record = replace(record, session=session, updated_at_ms=now)
                    sessions.save(conn, record)
                    self._announce(conn, record, event, now)
                    self._typed.pop(sid, None)
            return replace(call, status=calls.COMPLETED)

        return await self._db.write(unit)

    def _schedule_auto_entry(self, payment_sid: str, item: str) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(self._settings.caller_delay_s, self._start_auto_entry, payment_sid, item)

    def _start_auto_entry(self, payment_sid: str, item: str) -> None:
        task = asyncio.get_running_loop().create_task(self._auto_entry(payment_sid, item))
        self._auto_tasks.add(task)
        task.add_done_callback(self._auto_tasks.discard)

    async def _auto_entry(self, payment_sid: str, item: str) -> None:
        record = sessions.load(self._db.conn, payment_sid)
        if record is None or record.session.capturing != item:
            return
        value = self._scripts.value(
            record.call_sid, item, record.session.card_brand, self._clock.now().date()
        )
        try:
            await self.key_in(payment_sid, value, partial=False, expected_item=item)
        except (UnknownResource, machine.NothingToCapture):
            pass  # the session ended or was wiped meanwhile
        except Exception:
            logger.exception("the auto caller could not key in %s for %s", item, payment_sid)

    def resume_auto_callers(self) -> int:
        """After a restart: key in what auto callers were about to key in."""
        waiting = sessions.waiting_for_auto_caller(self._db.conn)
        for sid, item in waiting:
            self._schedule_auto_entry(sid, item)
        return len(waiting)

    async def stop(self) -> None:
        for task in list(self._auto_tasks):
            task.cancel()
        await asyncio.gather(*self._auto_tasks, return_exceptions=True)

    def forget_typing(self) -> None:
        self._typed.clear()

    # --- reads -----------------------------------------------------------------------------

    def session(self, payment_sid: str) -> SessionRecord | None:
        return sessions.load(self._db.conn, payment_sid)

    def history(self, payment_sid: str) -> list[CallbackRecord]:
        """The session's events, as the callbacks they caused, in order."""
        return self._outbox.find({"payment_sid": payment_sid})
