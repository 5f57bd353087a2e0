"""Sessions as the services write and read them: where a session has got to, and the
callback each step causes.

Every service that moves a session on (the Payments requests, ``<Pay>``, the caller,
settlement) writes it through :meth:`Sessions.save`, which also sets the moment the caller's
silence will end the prompt, and :meth:`Sessions.announce`, which writes the StatusCallback the
step causes (for a session a ``<Pay>`` verb runs, what :mod:`.pay_events` makes of it); both
run inside the caller's transaction.

A ``<Pay>`` session's Timeout runs from each prompt (``capture``), whatever
``input_timeout_from`` says for the agent's sessions: ``<Pay>`` "reprompts one more time" when
"it receives a timeout when prompted", so a caller who keys nothing is timed out there.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from functools import partial

from emulator.domain import machine, payloads
from emulator.domain.payloads import CANCEL_RESULT
from emulator.domain.records import TWIML, CallbackRecord, NewCallback, SessionRecord
from emulator.domain.timeouts import INPUT_TIMEOUT_FROM, InputTimeoutFrom, input_deadline_ms
from emulator.ids import IdGenerator
from emulator.services.callback_log import CallbackLog
from emulator.services.deadlines import Deadlines
from emulator.services.delivery import Delivery
from emulator.services.pay_events import PayEvents
from emulator.store import sessions
from emulator.store.db import Database

__all__ = ["Sessions", "UnknownResource"]


class UnknownResource(LookupError):
    """The call, session or account a request names does not exist (or is another
    account's)."""


class Sessions:
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        delivery: Delivery,
        log: CallbackLog,
        deadlines: Deadlines,
        *,
        input_timeout_from: InputTimeoutFrom = INPUT_TIMEOUT_FROM,
        cancel_result: str = CANCEL_RESULT,
        pay_events: PayEvents | None = None,
    ) -> None:
        self._db = db
        self._ids = ids
        self._delivery = delivery
        self._log = log
        self.deadlines = deadlines
        self._input_timeout_from = input_timeout_from
        self._cancel_result = cancel_result
        self._pay_events = pay_events

    # --- writes (inside the caller's transaction) ----------------------------------------

    def save(
        self,
        conn: sqlite3.Connection,
        record: SessionRecord,
        now: int,
        *,
        entry_under_way: bool = False,
    ) -> SessionRecord:
        """Write where the session has got to, with the moment the caller's silence will end
        the prompt (:func:`~emulator.domain.timeouts.input_deadline_ms`: the session's Timeout
        from now, while an item is being captured and, by default, once the caller keyed part
        of it: ``entry_under_way``); the timer follows once the transaction commits."""
        deadline = input_deadline_ms(
            record.session,
            record.request.timeout,
            now,
            entry_under_way=entry_under_way,
            starts="capture" if record.origin == TWIML else self._input_timeout_from,
        )
        record = replace(record, input_deadline_ms=deadline)
        sessions.save(conn, record)
        self._db.after_commit(partial(self.deadlines.set, record.sid, deadline))
        return record

    def announce(
        self, conn: sqlite3.Connection, record: SessionRecord, event: machine.Event, now: int
    ) -> None:
        """Write the callback ``event`` causes; it is delivered once the commit is done.

        It goes to the StatusCallback of the latest accepted request of the session: the
        request that caused it, or for the caller's entries and hang-ups the last one before.
        A ``<Pay>`` session's events are :class:`~emulator.services.pay_events.PayEvents`'.
        """
        if record.origin == TWIML:
            assert self._pay_events is not None
            self._pay_events.announce(conn, record, event, now)
            return
        callback = NewCallback(
            payment_sid=record.sid,
            account_sid=record.account_sid,
            call_sid=record.call_sid,
            event=event.kind.value,
            url=record.status_callback,
            params=tuple(payloads.build(record, event, cancel_result=self._cancel_result)),
            idempotency_token=self._ids.token(),
            created_at_ms=now,
        )
        self._delivery.enqueue(conn, callback)

    # --- reads -----------------------------------------------------------------------------

    def get(self, payment_sid: str) -> SessionRecord | None:
        return sessions.load(self._db.conn, payment_sid)

    def history(self, payment_sid: str) -> list[CallbackRecord]:
        """The session's events, as the callbacks they caused, in order."""
        return self._log.find({"payment_sid": payment_sid})
