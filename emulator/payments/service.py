"""Payments: one request, one transaction. Idempotency, the machine, the store, the outbox.

``create`` and ``update`` (the Twilio endpoints) each run as one unit of the database's group
commit: look up the IdempotencyKey (a stored answer is returned as it was, byte for byte),
load what the request acts on, ask the machine for the next state, write the session, the
callback the event causes and the idempotency record, and return the answer, which the
caller gets only once all of it is committed.

The caller's side goes through the same path: keyed digits (``enter``), a hang-up, and the
auto caller, which keys its scripted value shortly after each accepted Capture.

A request arrives already parsed by the edge, or as the error its parsing raised: that error
is an answer of the endpoint like any other, stored against the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final, Generic, TypeVar

from emulator.callbacks import payloads
from emulator.callbacks.outbox import Outbox, enqueue
from emulator.clock import Clock, format_iso_ms
from emulator.errors import (
    ConnectorUnknown,
    IdempotencyKeyReused,
    InvalidCallState,
    InvalidPayOperation,
    ResourceNotFound,
    TwilioError,
)
from emulator.ids import IdGenerator
from emulator.payments import connectors, machine
from emulator.payments.caller import CALLER_MODES, CallerScripts
from emulator.payments.model import CreatePayment, SessionRecord, UpdatePayment
from emulator.store import calls, idempotency, sessions
from emulator.store import connectors as connector_store
from emulator.store.db import Database
from emulator.twilio_api.render import Answer, payment_body

__all__ = ["PaymentService", "Requested", "ServiceSettings", "UnknownResource"]

logger = logging.getLogger("emulator.payments")

T = TypeVar("T")

AUTO: Final = "auto"


class UnknownResource(LookupError):
    """The call, session or account a control-plane request names does not exist."""


@dataclass(frozen=True, slots=True)
class Requested(Generic[T]):
    """What the edge hands over: the request's identity, and the request or its parse error."""

    account_sid: str
    path: str
    idempotency_key: str
    fingerprint: str
    parsed: T | TwilioError

    def request(self) -> T:
        if isinstance(self.parsed, TwilioError):
            raise self.parsed
        return self.parsed


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    strict_calls: bool = False
    idempotency_ttl_ms: int = 24 * 3600 * 1000
    caller: str = AUTO  # the default mode of a call's simulated caller
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

    # --- the Twilio endpoints --------------------------------------------------------------

    async def create(self, call_sid: str, requested: Requested[CreatePayment]) -> Answer:
        return await self._idempotent(
            requested, call_sid, lambda conn, now: self._create(conn, now, call_sid, requested)
        )

    async def update(
        self, call_sid: str, payment_sid: str, requested: Requested[UpdatePayment]
    ) -> Answer:
        return await self._idempotent(
            requested,
            payment_sid,
            lambda conn, now: self._update(conn, now, call_sid, payment_sid, requested),
        )

    async def _idempotent(
        self,
        requested: Requested[CreatePayment] | Requested[UpdatePayment],
        scope_sid: str,
        work: Callable[[sqlite3.Connection, int], Answer],
    ) -> Answer:
        key = requested.idempotency_key

        def replay(conn: sqlite3.Connection, now: int) -> Answer | None:
            not_before = now - self._settings.idempotency_ttl_ms
            stored = idempotency.lookup(conn, requested.account_sid, scope_sid, key, not_before)
            if stored is None:
                return None
            if stored.fingerprint != requested.fingerprint:
                raise IdempotencyKeyReused(
                    f"IdempotencyKey '{key}' was already used with different parameters"
                )
            return Answer(stored.status, stored.body)

        def remember(conn: sqlite3.Connection, now: int, answer: Answer) -> Answer:
            record = idempotency.StoredAnswer(requested.fingerprint, answer.status, answer.body)
            idempotency.remember(conn, requested.account_sid, scope_sid, key, record, now)
            return answer

        def answering(
            produce: Callable[[sqlite3.Connection, int], Answer],
        ) -> Callable[[sqlite3.Connection], Answer]:
            """A unit of work: the key's stored answer, else ``produce``'s, remembered."""

            def unit(conn: sqlite3.Connection) -> Answer:
                now = self._clock.now_ms()
                return replay(conn, now) or remember(conn, now, produce(conn, now))

            return unit

        try:
            return await self._db.write(answering(work))
        except TwilioError as error:
            if error.status >= 500 or isinstance(error, IdempotencyKeyReused):
                raise
            # The endpoint refused the request: what the work wrote is rolled back, and the
            # refusal becomes the key's answer (written at once: nothing runs in between).
            refusal = Answer(error.status, error.body())
            return await self._db.write(answering(lambda conn, now: refusal))
        except sqlite3.IntegrityError:
            # Another process stored this key between our look-up and our insert: its
            # answer is committed now, so a second pass replays it.
            return await self._db.write(answering(work))

    async def purge_expired_keys(self) -> int:
        not_before = self._clock.now_ms() - self._settings.idempotency_ttl_ms
        return await self._db.write(lambda conn: idempotency.purge(conn, not_before))

    def _create(
        self,
        conn: sqlite3.Connection,
        now: int,
        call_sid: str,
        requested: Requested[CreatePayment],
    ) -> Answer:
        account_sid = requested.account_sid
        call = calls.get(conn, call_sid)
        if call is None and not self._settings.strict_calls:
            call = calls.insert(conn, call_sid, account_sid, now)
        if call is None or call.account_sid != account_sid:
            raise ResourceNotFound(requested.path)
        if call.status != calls.IN_PROGRESS:
            raise InvalidCallState(f"Invalid call state: call {call_sid} is {call.status}")
        request = requested.request()
        connector = connector_store.get(conn, account_sid, request.payment_connector)
        if connector is None:
            raise ConnectorUnknown(
                f"Pay: Invalid paymentConnector attribute: no connector named"
                f" '{request.payment_connector}' is installed"
            )
        connectors.check_request(
            connector,
            request.payment_method,
            request.charge_amount is not None,
            request.currency,
            request.token_type,
        )
        if sessions.active_on_call(conn, call_sid):
            raise InvalidPayOperation(
                "Pay: Invalid Operation: a payment session is already in progress on this call"
            )
        session, event = machine.start(request.session_config())
        record = SessionRecord(
            sid=self._ids.sid("PK"),
            account_sid=account_sid,
            call_sid=call_sid,
            request=request,
            session=session,
            status_callback=request.status_callback,
            caller=call.caller or self._settings.caller,
            created_at_ms=now,
            updated_at_ms=now,
        )
        sessions.insert(conn, record)
        self._announce(conn, record, event, now)
        return Answer(201, _body(record))

    def _update(
        self,
        conn: sqlite3.Connection,
        now: int,
        call_sid: str,
        payment_sid: str,
        requested: Requested[UpdatePayment],
    ) -> Answer:
        record = sessions.load(conn, payment_sid)
        if (
            record is None
            or record.account_sid != requested.account_sid
            or record.call_sid != call_sid
        ):
            raise ResourceNotFound(requested.path)
        request = requested.request()
        if request.capture is not None:
            session, event = machine.capture(record.session, request.capture)
        elif request.status == "complete":
            session, event = machine.complete(record.session, self._settler(record))
        else:
            session, event = machine.cancel(record.session)
        record = replace(
            record, session=session, status_callback=request.status_callback, updated_at_ms=now
        )
        sessions.save(conn, record)
        self._announce(conn, record, event, now)
        if event.kind is machine.EventKind.CAPTURE:
            self._typed.pop(payment_sid, None)
            if record.caller == AUTO and event.item is not None:
                item = event.item
                self._db.after_commit(lambda: self._schedule_auto_entry(payment_sid, item))
        return Answer(202, _body(record))

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
        """Write the callback ``event`` causes; the worker gets it once the commit is done.

        It goes to the StatusCallback of the latest accepted request of the session: the
        request that caused it, or for the caller's entries and hang-ups the last one before.
        """
        pending = enqueue(
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
        self._db.after_commit(lambda: self._outbox.add(pending))

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
            if (
                conn.execute("SELECT 1 FROM accounts WHERE sid = ?", (account_sid,)).fetchone()
                is None
            ):
                raise UnknownResource(f"account {account_sid} does not exist")
            return calls.insert(conn, call_sid, account_sid, now, url=url, caller=caller)

        self._scripts.set(call_sid, script)  # validates before anything is written
        return await self._db.write(insert)

    async def enter(
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
            entry = machine.Entry(whole, partial, self._fingerprint(item or "", whole))
            session, event = machine.enter(record.session, entry, self._clock.now().date())
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
        message = (item.removesuffix(machine.MATCHER_SUFFIX) + ":" + digits).encode()
        return hmac.new(self._fingerprint_key, message, hashlib.sha256).hexdigest()[:32]

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
            await self.enter(payment_sid, value, partial=False, expected_item=item)
        except (UnknownResource, machine.NothingToCapture):
            pass  # the session ended or was wiped meanwhile
        except Exception:
            logger.exception("the auto caller could not key in %s for %s", item, payment_sid)

    def resume_auto_callers(self) -> int:
        """After a restart: key in what auto callers were about to key in."""
        rows = self._db.conn.execute(
            "SELECT sid, capturing FROM payment_sessions"
            " WHERE state = 'active' AND caller = 'auto' AND capturing IS NOT NULL"
        ).fetchall()
        for sid, item in rows:
            self._schedule_auto_entry(sid, item)
        return len(rows)

    async def stop(self) -> None:
        for task in list(self._auto_tasks):
            task.cancel()
        await asyncio.gather(*self._auto_tasks, return_exceptions=True)

    def forget_typing(self) -> None:
        self._typed.clear()

    # --- what the control plane sees -------------------------------------------------------

    def view(self, payment_sid: str) -> dict[str, Any] | None:
        record = sessions.load(self._db.conn, payment_sid)
        if record is None:
            return None
        session = record.session
        history = []
        rows = self._db.conn.execute(
            "SELECT event, params, created_at_ms FROM callbacks WHERE payment_sid = ? ORDER BY id",
            (payment_sid,),
        ).fetchall()
        for event, params, created_at_ms in rows:
            fields = dict(json.loads(params))
            entry: dict[str, Any] = {"event": event, "at": format_iso_ms(created_at_ms)}
            if "Capture" in fields:
                entry["item"] = fields["Capture"]
            if event == machine.EventKind.INPUT.value:
                entry["partial"] = fields.get("PartialResult") == "true"
                entry["error_type"] = fields.get("ErrorType") or None
            if "Result" in fields:
                entry["result"] = fields["Result"]
            history.append(entry)
        return {
            "sid": record.sid,
            "account_sid": record.account_sid,
            "call_sid": record.call_sid,
            "state": session.state.value,
            "capturing": session.capturing,
            "required": list(machine.required(session)),
            "captured": {item: c.value for item, c in session.captured.items()},
            "card_type": session.card_brand,
            "result": session.result.value if session.result else None,
            "caller": record.caller,
            "status_callback": record.status_callback,
            "history": history,
        }


def _body(record: SessionRecord) -> bytes:
    return payment_body(
        record.account_sid, record.call_sid, record.sid, record.created_at_ms, record.updated_at_ms
    )
