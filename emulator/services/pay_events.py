"""What the events of a session a ``<Pay>`` verb runs do, written inside the transaction that
makes them: a step on the call's timeline, the ``<Pay>``'s statusCallback, and news for the
verb waiting on the session (:mod:`emulator.services.pay_verb`).

A ``<Pay>`` session reports nothing the Payments API's way (no ``Capture``/``Required``
callbacks); its statusCallback (https://www.twilio.com/docs/voice/twiml/pay, "Whenever a
status change happens in <Pay>, Twilio makes a POST request to this URL") carries ``For``,
``Attempt``, ``ErrorType`` and the fields captured so far. When it is sent is the emulator's
choice (Twilio documents no cadence): as each item is asked for (``For`` the item,
``Attempt`` n), at each refused entry or silence (``ErrorType``), and once before the
connector processes the payment (``For=payment-processing``). Signed, through the one outbox
(:mod:`emulator.services.delivery`), in order for the session, with
``statusCallbackMethod``'s method.

A session that ends after its call ended (the caller hung up, or a Generic Pay Connector
answered after that) has no verb left to request the ``action``: it is sent from here, on
the outbox, with the call's standard parameters (its TwiML is not run: the call is over).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from functools import partial
from typing import Final

from emulator.clock import Clock
from emulator.domain import machine
from emulator.domain.calls import CallRecord, shown_step
from emulator.domain.pay_payloads import PROCESSING, action_params, status_params
from emulator.domain.records import NewCallback, SessionRecord
from emulator.domain.voice import webhook_params
from emulator.ids import IdGenerator
from emulator.services.delivery import Delivery
from emulator.store import call_steps, calls
from emulator.store.db import Database

__all__ = ["ACTION", "PAY_EVENTS", "STATUS", "PayEvents"]

STATUS: Final = "pay-status"
"""The event of a ``<Pay>`` statusCallback in the outbox."""
ACTION: Final = "pay-action"
"""The event of an ``action`` request sent on the outbox (the call had ended)."""
PAY_EVENTS: Final = (STATUS, ACTION)

_ENDS: Final = frozenset(
    {
        machine.EventKind.COMPLETE,
        machine.EventKind.CANCEL,
        machine.EventKind.HANG_UP,
        machine.EventKind.STAR,
        machine.EventKind.ATTEMPTS_EXHAUSTED,
    }
)


class PayEvents:
    def __init__(self, db: Database, clock: Clock, ids: IdGenerator, delivery: Delivery) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._delivery = delivery
        self._watchers: dict[str, asyncio.Queue[machine.Event]] = {}

    # --- the verb's side -----------------------------------------------------------------------

    def watch(self, payment_sid: str) -> asyncio.Queue[machine.Event]:
        """The session's events, as each one commits (for the verb running it)."""
        queue: asyncio.Queue[machine.Event] = asyncio.Queue()
        self._watchers[payment_sid] = queue
        return queue

    def unwatch(self, payment_sid: str) -> None:
        self._watchers.pop(payment_sid, None)

    def _notify(self, payment_sid: str, event: machine.Event) -> None:
        queue = self._watchers.get(payment_sid)
        if queue is not None:
            queue.put_nowait(event)

    # --- inside the transaction ----------------------------------------------------------------

    def step(
        self,
        conn: sqlite3.Connection,
        call_sid: str,
        kind: str,
        name: str,
        detail: Iterable[tuple[str, object]] = (),
        code: int | None = None,
    ) -> None:
        """A step on the call's timeline (masked)."""
        at = self._clock.now_ms()
        call_steps.add(conn, shown_step(call_sid, at, kind, name, code=code, detail=detail))

    def announce(
        self, conn: sqlite3.Connection, record: SessionRecord, event: machine.Event, now: int
    ) -> None:
        """What ``event`` of a ``<Pay>`` session does (see the module's docstring)."""
        pay = record.pay
        assert pay is not None
        kind = event.kind
        if kind is machine.EventKind.KEY_IN and event.partial:
            detail: list[tuple[str, object]] = [("for", event.item), ("keyed", event.value)]
            self.step(conn, record.call_sid, "pay", "keying", [("session", record.sid), *detail])
        else:
            self.step(conn, record.call_sid, "pay", kind.value, self._detail(record, event))
        error = event.error_type.value if event.error_type else ""
        if kind is machine.EventKind.CAPTURE or (
            kind in (machine.EventKind.KEY_IN, machine.EventKind.INPUT_TIMEOUT) and error
        ):
            assert event.item is not None
            params = status_params(record, event.item, pay.attempt, error, event.payment_error)
            self._status(conn, record, params, now)
        if kind in _ENDS:
            call = calls.load(conn, record.call_sid)
            if call is not None and not call.live and kind is not machine.EventKind.CANCEL:
                self._action_on_outbox(conn, record, call, now)
        self._db.after_commit(partial(self._notify, record.sid, event))

    def processing(self, conn: sqlite3.Connection, record: SessionRecord, now: int) -> None:
        """The statusCallback before the connector processes the payment."""
        pay = record.pay
        assert pay is not None
        self._status(conn, record, status_params(record, PROCESSING, 1), now)

    def refused(
        self,
        conn: sqlite3.Connection,
        account_sid: str,
        call_sid: str,
        status_callback: str,
        method: str,
        error_type: str,
        now: int,
    ) -> None:
        """The statusCallback of a ``<Pay>`` that started no session (``session-in-progress``:
        another one is active on the call)."""
        params = [
            ("AccountSid", account_sid),
            ("CallSid", call_sid),
            ("For", ""),
            ("ErrorType", error_type),
            ("Attempt", "1"),
        ]
        self._enqueue(
            conn, None, account_sid, call_sid, (STATUS, status_callback, method), params, now
        )

    # --- what they send --------------------------------------------------------------------------

    def _detail(self, record: SessionRecord, event: machine.Event) -> list[tuple[str, object]]:
        pay = record.pay
        assert pay is not None
        detail: list[tuple[str, object]] = [("session", record.sid)]
        if event.item is not None:
            detail.append(("for", event.item))
        if event.kind in (
            machine.EventKind.CAPTURE,
            machine.EventKind.KEY_IN,
            machine.EventKind.INPUT_TIMEOUT,
            machine.EventKind.ATTEMPTS_EXHAUSTED,
        ):
            detail.append(("attempt", f"{pay.attempt} of {pay.tries}"))
        if event.error_type is not None:
            detail.append(("errorType", event.error_type.value))
        if event.payment_error is not None:
            detail.append(("paymentError", event.payment_error))
        captured = record.session.captured.get(event.item or "")
        if event.kind is machine.EventKind.KEY_IN and event.error_type is None and captured:
            detail.append(("entered", captured.value))
        settlement = record.session.settlement
        if event.kind in _ENDS and settlement is not None:
            detail.append(("result", settlement.result.value))
            detail += [
                ("paymentError", settlement.error or None),
                ("payErrorCode", settlement.pay_error_code),
                ("connectorError", settlement.connector_error or None),
                ("confirmationCode", settlement.confirmation_code or None),
                ("token", settlement.token or None),
            ]
        return detail

    def _status(
        self,
        conn: sqlite3.Connection,
        record: SessionRecord,
        params: list[tuple[str, str]],
        now: int,
    ) -> None:
        pay = record.pay
        assert pay is not None
        if pay.status_callback:
            where = (STATUS, pay.status_callback, pay.status_callback_method)
            self._enqueue(conn, record.sid, record.account_sid, record.call_sid, where, params, now)

    def _action_on_outbox(
        self, conn: sqlite3.Connection, record: SessionRecord, call: CallRecord, now: int
    ) -> None:
        pay = record.pay
        assert pay is not None
        params = webhook_params(call, call.status) + action_params(record)
        where = (ACTION, pay.action, "POST")
        self._enqueue(conn, record.sid, record.account_sid, record.call_sid, where, params, now)
        note = "the call has ended: the action is requested, and its TwiML is not run"
        self.step(conn, record.call_sid, "note", "action", [("url", pay.action), ("note", note)])

    def _enqueue(
        self,
        conn: sqlite3.Connection,
        payment_sid: str | None,
        account_sid: str,
        call_sid: str,
        where: tuple[str, str, str],
        params: list[tuple[str, str]],
        now: int,
    ) -> None:
        """Onto the outbox: ``where`` is (event, URL, method)."""
        event, url, method = where
        self._delivery.enqueue(
            conn,
            NewCallback(
                payment_sid=payment_sid,
                account_sid=account_sid,
                call_sid=call_sid,
                event=event,
                url=url,
                params=tuple(params),
                idempotency_token=self._ids.token(),
                created_at_ms=now,
                method=method,
            ),
        )
