"""What happens to a call, written inside the caller's transaction: its status moves
(:func:`~emulator.domain.calls.can_move`), the status callbacks they cause, and the steps of
its timeline.

A status callback is sent for each move whose event (``initiated``, ``ringing``, ``answered``,
``completed``) the call's ``StatusCallbackEvent`` asked for (``completed`` alone by default),
signed, by the one outbox (:mod:`emulator.services.delivery`), in order per call, with
``SequenceNumber`` counting from 0 over the callbacks sent; none for a call canceled while it
was queued ("If the call is canceled while still in `queued` status, no status callbacks are
fired", https://www.twilio.com/docs/voice/twiml). When a call ends, a payment session still
active on it ends with ``caller-hung-up``.

Everything written to the timeline is fit to show: URLs with their password masked, texts
and documents with card numbers masked.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import replace

from emulator.clock import Clock
from emulator.domain.calls import (
    CANCELED,
    COMPLETED,
    ENDED,
    IN_PROGRESS,
    QUEUED,
    CallRecord,
    can_move,
    event_of,
    shown_step,
)
from emulator.domain.records import NewCallback
from emulator.domain.twiml import Notice
from emulator.domain.voice import status_callback_params
from emulator.ids import IdGenerator
from emulator.services.caller import Caller
from emulator.services.delivery import Delivery
from emulator.store import call_steps, calls

__all__ = ["CallEvents"]


class CallEvents:
    def __init__(
        self,
        clock: Clock,
        ids: IdGenerator,
        delivery: Delivery,
        caller: Caller,
    ) -> None:
        self._clock = clock
        self._ids = ids
        self._delivery = delivery
        self._caller = caller

    # --- the timeline ------------------------------------------------------------------------

    def step(
        self,
        conn: sqlite3.Connection,
        call_sid: str,
        kind: str,
        name: str,
        *,
        url: str | None = None,
        status_code: int | None = None,
        code: int | None = None,
        detail: Iterable[tuple[str, object]] = (),
        body: str = "",
    ) -> None:
        """Add a step to the call's timeline (masked: see the module's docstring)."""
        call_steps.add(
            conn,
            shown_step(
                call_sid,
                self._clock.now_ms(),
                kind,
                name,
                url=url,
                status_code=status_code,
                code=code,
                detail=detail,
                body=body,
            ),
        )

    def notice(
        self, conn: sqlite3.Connection, call_sid: str, notice: Notice, url: str | None = None
    ) -> None:
        """A notification, as Twilio's debugger would show it: its code, level and message."""
        self.step(
            conn,
            call_sid,
            "notice",
            notice.level,
            url=url,
            code=notice.code,
            detail=[("message", notice.message)],
        )

    # --- status --------------------------------------------------------------------------------

    def announce(
        self, conn: sqlite3.Connection, call: CallRecord, event: str, now: int
    ) -> CallRecord:
        """The status callback of ``event``, if the call asked for it (not saved: the caller
        saves the call, whose ``sequence`` moved on)."""
        if not call.status_callback or event not in call.status_callback_events:
            return call
        params = status_callback_params(call, event, now, call.sequence)
        self._delivery.enqueue(
            conn,
            NewCallback(
                payment_sid=None,
                account_sid=call.account_sid,
                call_sid=call.sid,
                event=event,
                url=call.status_callback,
                params=tuple(params),
                idempotency_token=self._ids.token(),
                created_at_ms=now,
                method=call.status_callback_method,
            ),
        )
        return replace(call, sequence=call.sequence + 1)

    def move(self, conn: sqlite3.Connection, call: CallRecord, status: str, now: int) -> CallRecord:
        """Move the call to ``status`` and write it, with its step, its status callback, and
        for an end the end of a session still active on it. Raises ValueError for a move the
        call cannot make."""
        if call.status == status:
            return call
        if not can_move(call.status, status):
            raise ValueError(f"call {call.sid} cannot move from {call.status} to {status}")
        prior = call.status
        call = replace(
            call,
            status=status,
            updated_at_ms=now,
            start_time_ms=now if status == IN_PROGRESS else call.start_time_ms,
            end_time_ms=now if status == COMPLETED else call.end_time_ms,
        )
        self.step(conn, call.sid, "status", status, detail=[("from", prior)])
        event = event_of(status)
        if event is not None and not (status == CANCELED and prior == QUEUED):
            call = self.announce(conn, call, event, now)
        calls.save(conn, call)
        if status in ENDED:
            self._caller.end_sessions(conn, call.sid, now)
        return call
