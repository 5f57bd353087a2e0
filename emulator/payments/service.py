"""Payments: the two Twilio requests and the caller's side, applied to stored sessions.

``create`` and ``update`` run inside a transaction that their caller opened (the Twilio edge
wraps them with the IdempotencyKey's look-up and record, so that the state change and the
answer are committed together): each loads what the request acts on, asks the machine for
the next state, writes the session and the callback the event causes, and returns the
session. Errors are the machine's and the connectors' :class:`~emulator.errors.TwilioError`
subclasses, or :class:`UnknownResource` for a call or session that does not exist.

The caller's side (keyed digits, a hang-up, the auto caller, which keys its scripted value
shortly after each accepted Capture, and the caller's silence: the session's ``Timeout`` on the
emulator's clock) owns its transactions.

A session on a Generic Pay Connector ends in two steps: ``Status=complete`` makes it
``processing`` (answered 202 at once), and the merchant's endpoint is called off the request
path; its answer completes the session. The full card number, security code and bank account
number it needs are held in memory only (:class:`_Vault`), from the keying to the end of that
request.
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

import httpx

from emulator import gpc
from emulator.callbacks import payloads
from emulator.callbacks.outbox import Outbox
from emulator.clock import Clock
from emulator.errors import (
    ConnectorUnknown,
    InvalidCallState,
    InvalidPayOperation,
    RequiredInformationIncomplete,
)
from emulator.ids import IdGenerator
from emulator.payments import connectors, machine
from emulator.payments.caller import CallerScripts
from emulator.payments.deadlines import Deadlines
from emulator.payments.model import CreatePayment, ForcedOutcome, SessionRecord, UpdatePayment
from emulator.payments.vocabulary import (
    ACH_DEBIT,
    AUTO,
    CALLER_MODES,
    MATCHER_SUFFIX,
    SILENCE,
    CallerMode,
)
from emulator.store import accounts, calls, sessions
from emulator.store import connectors as connector_store
from emulator.store.callbacks import CallbackRecord
from emulator.store.db import Database

__all__ = ["SECRET_ITEMS", "PaymentService", "ServiceSettings", "SessionOver", "UnknownResource"]

logger = logging.getLogger("emulator.payments")


class UnknownResource(LookupError):
    """The call, session or account a request names does not exist (or is another
    account's)."""


class SessionOver(Exception):
    """A request for an active session found it no longer active."""


# The items whose digits only the merchant's endpoint may see: held in memory, never stored.
SECRET_ITEMS = ("payment-card-number", "security-code", "bank-account-number")


class _Vault:
    """The full digits of secret items, per session, in memory only: from the keying to the
    end of the connector request (or the end of the session)."""

    def __init__(self) -> None:
        self._digits: dict[str, tuple[str, dict[str, str]]] = {}  # sid -> (account, digits)

    def keep(self, account_sid: str, payment_sid: str, item: str, digits: str) -> None:
        self._digits.setdefault(payment_sid, (account_sid, {}))[1][item] = digits

    def get(self, payment_sid: str) -> dict[str, str]:
        return dict(self._digits.get(payment_sid, ("", {}))[1])

    def drop(self, payment_sid: str) -> None:
        self._digits.pop(payment_sid, None)

    def clear(self, account_sid: str | None = None) -> None:
        for sid, (owner, _) in list(self._digits.items()):
            if account_sid is None or owner == account_sid:
                del self._digits[sid]


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
        self._deadlines = Deadlines(clock, self._input_timed_out)
        self._vault = _Vault()
        self._connector_tasks: set[asyncio.Task[None]] = set()
        self._connector_client: httpx.AsyncClient | None = None

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
        connector: connectors.Connector | None = None
        if update.capture is not None:
            session, event = machine.capture(record.session, update.capture)
        elif update.status == "complete":
            connector = (
                connector_store.get(conn, account_sid, record.request.payment_connector)
                or connectors.DEFAULT_CONNECTOR
            )
            session, event = machine.complete(record.session, self._settler(record, connector))
        else:
            session, event = machine.cancel(record.session)
        record = replace(
            record, session=session, status_callback=update.status_callback, updated_at_ms=now
        )
        record = self._save(conn, record, now)
        if event.kind is machine.EventKind.PROCESS:
            assert connector is not None
            assert connector.generic is not None
            generic, data = connector.generic, self._payment_data(record)
            self._db.after_commit(partial(self._start_connector_request, record, generic, data))
        else:
            self._announce(conn, record, event, now)
        if event.kind is machine.EventKind.CAPTURE:
            self._typed.pop(payment_sid, None)
            if record.caller == AUTO and event.item is not None:
                item = event.item
                self._db.after_commit(lambda: self._schedule_auto_entry(payment_sid, item))
        elif event.kind is not machine.EventKind.PROCESS:
            self._db.after_commit(partial(self._vault.drop, payment_sid))
        return record

    def _settler(
        self, record: SessionRecord, connector: connectors.Connector
    ) -> Callable[[machine.Session], machine.Settlement | None]:
        """What ``Status=complete`` gets: the outcome a test forced, a built-in connector's
        answer, a Generic Pay Connector's TEST mode refusal, or None (the endpoint answers
        later: the session is processing)."""
        charging = record.request.charge_amount is not None

        def settle(session: machine.Session) -> machine.Settlement | None:
            forced = record.forced_outcome
            if forced is not None and forced.result != machine.Result.SUCCESS:
                return machine.Settlement(
                    machine.Result(forced.result),
                    error=forced.payment_error,
                    pay_error_code=forced.pay_error_code,
                    connector_error=forced.connector_error,
                )
            if forced is not None or connector.generic is None:
                return connectors.settle(
                    record.request.payment_method,
                    charging,
                    record.request.token_type,
                    None if forced is not None else session.gateway_outcome,
                    self._ids.token,
                )
            missing = self._forgotten(record)
            if missing:
                raise RequiredInformationIncomplete(
                    "Pay: Required payment information incomplete: capture "
                    + ", ".join(missing)
                    + " again (the emulator no longer holds what was keyed: it restarted,"
                    " or the connector changed since)"
                )
            return gpc.refusal_in_test_mode(connector.generic, self._payment_data(record))

        return settle

    def _forgotten(self, record: SessionRecord) -> list[str]:
        """The secret items a Generic Pay Connector needs whose digits are not in memory."""
        held = self._vault.get(record.sid)
        return [
            item
            for item in SECRET_ITEMS
            if item in record.session.config.items() and item not in held
        ]

    def _payment_data(self, record: SessionRecord) -> gpc.PaymentData:
        """What the merchant's endpoint gets: the held digits, and the rest as captured."""
        held = self._vault.get(record.sid)
        captured = record.session.captured
        request = record.request

        def clear(item: str) -> str | None:
            value = captured.get(item)
            return value.value if value is not None else None

        card = request.payment_method != ACH_DEBIT
        return gpc.PaymentData(
            charging=request.charge_amount is not None,
            payment_method=request.payment_method,  # type: ignore[arg-type]
            card_number=held.get("payment-card-number") if card else None,
            security_code=held.get("security-code") if card else None,
            expiration_date=clear("expiration-date") if card else None,
            postal_code=clear("postal-code") if card else None,
            routing_number=None if card else clear("bank-routing-number"),
            account_number=None if card else held.get("bank-account-number"),
            amount=str(request.charge_amount) if request.charge_amount is not None else None,
            currency=request.currency,
            description=request.description or None,
            parameters=dict(request.parameter or {}),
        )

    def _save(self, conn: sqlite3.Connection, record: SessionRecord, now: int) -> SessionRecord:
        """Write where the session has got to, with the moment the caller's silence will end
        the prompt (the session's Timeout from now, while an item is being captured); the
        timer follows once the transaction commits."""
        session = record.session
        deadline = None
        if session.state is machine.State.ACTIVE and session.capturing is not None:
            deadline = now + record.request.timeout * 1000
        record = replace(record, input_deadline_ms=deadline)
        sessions.save(conn, record)
        self._db.after_commit(partial(self._deadlines.set, record.sid, deadline))
        return record

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
            record = self._keyed(conn, record, session, event, whole, now)
            if partial and digits != machine.STAR and item is not None:
                self._typed[payment_sid] = (item, whole)
            else:
                self._typed.pop(payment_sid, None)
            return record

        return await self._db.write(unit)

    def _keyed(
        self,
        conn: sqlite3.Connection,
        record: SessionRecord,
        session: machine.Session,
        event: machine.Event,
        digits: str,
        now: int,
    ) -> SessionRecord:
        """Write what the caller's keying did, and keep the digits of a secret item a Generic
        Pay Connector will need (in memory: ``_Vault``)."""
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
        record = self._save(conn, replace(record, session=session, updated_at_ms=now), now)
        self._announce(conn, record, event, now)
        return record

    async def _input_timed_out(self, payment_sid: str) -> None:
        """The session's Timeout passed since the caller last keyed (or since the Capture):
        what was keyed is validated as it stands, or the callback says ``input-timeout``."""

        def unit(conn: sqlite3.Connection) -> None:
            now = self._clock.now_ms()
            record = sessions.load(conn, payment_sid)
            if record is None or record.input_deadline_ms is None:
                return
            if record.input_deadline_ms > now:  # the clock moved back, or the timer was early
                deadline = record.input_deadline_ms
                self._db.after_commit(partial(self._deadlines.set, payment_sid, deadline))
                return
            item = record.session.capturing
            typed_item, typed = self._typed.pop(payment_sid, ("", ""))
            keyed = None
            if item is not None and typed_item == item and typed:
                keyed = machine.KeyedDigits(typed, False, self._fingerprint(item, typed))
            try:
                session, event = machine.input_timeout(
                    record.session, keyed, self._clock.now().date()
                )
            except machine.NothingToCapture:
                return
            self._keyed(conn, record, session, event, typed, now)

        await self._db.write(unit)

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
                    self._save(conn, record, now)
                    self._announce(conn, record, event, now)
                    self._typed.pop(sid, None)
                    self._db.after_commit(partial(self._vault.drop, sid))
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

    async def resume(self) -> None:
        """After a restart: auto callers key in what they were about to key in; the callers'
        timeouts run on (a deadline already past fires at once, and since half-keyed digits
        are not kept across a restart, it reports ``input-timeout``); a session that was
        waiting for a Generic Pay Connector, whose request was cut short and whose digits are
        gone, ends as if the endpoint never answered."""
        conn = self._db.conn
        for sid, item in sessions.waiting_for_auto_caller(conn):
            self._schedule_auto_entry(sid, item)
        for sid, deadline in sessions.with_deadlines(conn):
            self._deadlines.set(sid, deadline)
        for sid in sessions.processing(conn):
            record = sessions.load(conn, sid)
            if record is not None:
                charging = record.request.charge_amount is not None
                await self._settle(sid, gpc.no_answer_settlement(charging))

    async def stop(self) -> None:
        await self._deadlines.stop()
        tasks = self._auto_tasks | self._connector_tasks
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._connector_client is not None:
            await self._connector_client.aclose()

    def forget_typing(self, account_sid: str | None = None) -> None:
        """After a reset (of everything, or of one account): nothing half-keyed, no digits
        held for the wiped sessions. (Their timers find no session when they fire.)"""
        self._typed.clear()
        self._vault.clear(account_sid)

    # --- the Generic Pay Connector ----------------------------------------------------------

    def _start_connector_request(
        self, record: SessionRecord, connector: gpc.GenericConnector, data: gpc.PaymentData
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            self._connector_request(record, connector, data)
        )
        self._connector_tasks.add(task)
        task.add_done_callback(self._connector_tasks.discard)

    async def _connector_request(
        self, record: SessionRecord, connector: gpc.GenericConnector, data: gpc.PaymentData
    ) -> None:
        """POST the payment to the merchant's endpoint (retries and all), record every attempt,
        then complete the session with what it answered."""
        sid, account_sid = record.sid, record.account_sid

        async def recorded(attempt: gpc.ConnectorAttempt) -> None:
            await self._db.write(
                lambda conn: connector_store.insert_attempt(conn, sid, account_sid, attempt)
            )

        try:
            settlement = await gpc.run(
                connector,
                data,
                now_ms=self._clock.now_ms,
                on_attempt=recorded,
                client=self._client(),
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # a wiped session (its attempts cannot be recorded), or worse
            logger.exception("the connector request of %s failed", sid)
            settlement = gpc.no_answer_settlement(data.charging)
        finally:
            self._vault.drop(sid)
        await self._settle(sid, settlement)

    async def _settle(self, payment_sid: str, settlement: machine.Settlement) -> None:
        def unit(conn: sqlite3.Connection) -> None:
            now = self._clock.now_ms()
            record = sessions.load(conn, payment_sid)
            if record is None or record.session.state is not machine.State.PROCESSING:
                return  # wiped by a reset meanwhile
            session, event = machine.settle(record.session, settlement)
            record = self._save(conn, replace(record, session=session, updated_at_ms=now), now)
            self._announce(conn, record, event, now)

        await self._db.write(unit)

    def _client(self) -> httpx.AsyncClient:
        """One client for every connector request (its pool is shared; its timeouts are not
        used: each connector has its own)."""
        if self._connector_client is None:
            self._connector_client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        return self._connector_client

    # --- what a test can ask for -----------------------------------------------------------

    async def force_outcome(self, payment_sid: str, outcome: ForcedOutcome) -> SessionRecord:
        """Decide what the session's next ``Status=complete`` produces, whatever the card.
        Raises :class:`UnknownResource`, or :class:`SessionOver` for a session that ended."""

        def unit(conn: sqlite3.Connection) -> SessionRecord:
            record = sessions.load(conn, payment_sid)
            if record is None:
                raise UnknownResource(f"payment session {payment_sid} does not exist")
            if record.session.state is not machine.State.ACTIVE:
                raise SessionOver(f"payment session {payment_sid} is {record.session.state}")
            record = replace(record, forced_outcome=outcome)
            sessions.save(conn, record)
            return record

        return await self._db.write(unit)

    # --- reads -----------------------------------------------------------------------------

    def session(self, payment_sid: str) -> SessionRecord | None:
        return sessions.load(self._db.conn, payment_sid)

    def connector_requests(self, payment_sid: str) -> list[gpc.ConnectorAttempt]:
        """The requests made to the session's Generic Pay Connector, in order."""
        return connector_store.attempts_of(self._db.conn, payment_sid)

    async def put_connector(self, account_sid: str, connector: connectors.Connector) -> None:
        """Install a connector on the account (replacing one of the same name)."""

        def unit(conn: sqlite3.Connection) -> None:
            if accounts.get(conn, account_sid) is None:
                raise UnknownResource(f"account {account_sid} does not exist")
            connector_store.put(conn, account_sid, connector)

        await self._db.write(unit)

    def history(self, payment_sid: str) -> list[CallbackRecord]:
        """The session's events, as the callbacks they caused, in order."""
        return self._outbox.find({"payment_sid": payment_sid})
