"""Calls, as the Calls API and the control plane make and change them.

* :meth:`CallService.place`: ``POST .../Calls.json``, an ``outbound-api`` call, ``queued``
  when answered (201), then dialled and run by :mod:`.call_runner`.
* :meth:`CallService.update`: ``POST .../Calls/{Sid}.json``: ``Status=completed|canceled``
  ends it as :func:`~emulator.domain.calls.requested_end` says; ``Url`` or ``Twiml``
  redirects it ("begin processing TwiML from either a new URL or from the TwiML provided");
  a call that has ended refuses both (21220).
* :meth:`CallService.create`: ``POST /_emulator/calls``: with a ``voice_url`` an ``inbound``
  call that fetches its TwiML while ringing; without, a call in progress that runs no TwiML
  (as before calls had TwiML), for the Payments API to run sessions on.
* :meth:`CallService.hang_up` and :meth:`CallService.key`: the caller hangs up, or keys
  digits into the call's ``<Gather>`` or ``<Pay>``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Final

from emulator.clock import Clock
from emulator.domain.calls import (
    CANCELED,
    COMPLETED,
    DEFAULT_EVENTS,
    IN_PROGRESS,
    INBOUND,
    OUTBOUND_API,
    QUEUED,
    RINGING,
    CallNotLive,
    CallRecord,
    CallStep,
    CreateCall,
    UpdateCall,
    requested_end,
)
from emulator.domain.machine import NothingToCapture
from emulator.domain.masking import mask_card_numbers
from emulator.domain.phones import Phone
from emulator.domain.records import CallbackRecord
from emulator.domain.scripts import CallerScripts
from emulator.domain.twiml import Notice
from emulator.domain.vocabulary import CALLER_MODES
from emulator.ids import IdGenerator
from emulator.services.call_events import CallEvents
from emulator.services.call_flow import Fetch, Inline, Instruction
from emulator.services.call_runner import CallRunner
from emulator.services.callback_log import CallbackLog
from emulator.services.caller import Caller
from emulator.services.pay_events import PAY_EVENTS
from emulator.services.phones import PhoneBook
from emulator.services.sessions import UnknownResource
from emulator.store import accounts, call_steps, calls
from emulator.store.db import Database

__all__ = ["DEFAULT_FROM", "DEFAULT_TO", "CallService", "InboundCall", "NotGathering"]

DEFAULT_FROM: Final = "+15555550100"
DEFAULT_TO: Final = "+15555550199"
"""The numbers of a control-plane call that names none (555-01xx: reserved for fiction)."""


class NotGathering(LookupError):
    """Digits were keyed on a call that is not in a ``<Gather>`` (or a ``<Pay>`` asking)."""


@dataclass(frozen=True, slots=True)
class InboundCall:
    """What ``POST /_emulator/calls`` gives for a call (all but the account optional)."""

    account_sid: str
    caller: str | None = None
    script: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    voice_url: str | None = None
    method: str = "POST"
    from_: str | None = None
    to: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = DEFAULT_EVENTS


class CallService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        events: CallEvents,
        runner: CallRunner,
        scripts: CallerScripts,
        log: CallbackLog,
        caller: Caller,
        phones: PhoneBook,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._events = events
        self.runner = runner
        self._scripts = scripts
        self._log = log
        self._caller = caller
        self._phones = phones

    # --- the Calls API ---------------------------------------------------------------------------

    async def place(self, account_sid: str, request: CreateCall) -> CallRecord:
        """A call to ``To``, ``queued``; dialled once committed. A phone set up at ``To``
        gives the call its caller and script."""
        now = self._clock.now_ms()
        phone = self._phones.at(account_sid, request.to)
        record = CallRecord(
            self._ids.sid("CA"),
            account_sid,
            QUEUED,
            now,
            now,
            direction=OUTBOUND_API,
            to=request.to,
            from_=request.from_,
            runs_twiml=True,
            voice_url=request.url,
            voice_method=request.method,
            twiml=_kept(request.twiml) if request.url is None else None,
            fallback_url=request.fallback_url,
            fallback_method=request.fallback_method,
            status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_events=request.status_callback_events,
            timeout=request.timeout,
            time_limit=request.time_limit,
            caller=phone.caller if phone is not None else None,
        )

        def unit(conn: sqlite3.Connection) -> CallRecord:
            calls.insert_record(conn, record)
            if phone is not None:
                self._events.step(conn, record.sid, "note", "phone", detail=_answered_by(phone))
            for code, message in request.warnings:
                self._events.notice(conn, record.sid, Notice(code, message))
            self._db.after_commit(partial(self.runner.start, record.sid, account_sid))
            return record

        if phone is not None:
            self._scripts.set(record.sid, phone.script)
        return await self._db.write(unit)

    def fetch(self, account_sid: str, sid: str) -> CallRecord:
        call = calls.load(self._db.conn, sid)
        if call is None or call.account_sid != account_sid:
            raise UnknownResource(f"call {sid} does not exist")
        return call

    async def update(self, account_sid: str, sid: str, request: UpdateCall) -> CallRecord:
        """End or redirect the call (see the module's docstring). Raises
        :class:`UnknownResource`, or :class:`~emulator.domain.calls.CallNotLive` (21220)."""
        call = self.fetch(account_sid, sid)
        if not call.live:
            raise CallNotLive(call.status)
        if request.status is not None:
            ending = requested_end(call.status, request.status)
            if ending is None:  # canceled: "it will not affect calls already in progress"
                return call
            return await self._end(sid, ending)
        if request.url is None and request.twiml is None:
            return call  # StatusCallback needs Url "in the same statement": accepted, ignored

        def unit(conn: sqlite3.Connection) -> CallRecord:
            current = calls.load(conn, sid)
            if current is None or not current.live:
                raise CallNotLive(current.status if current else COMPLETED)
            changed = replace(
                current,
                runs_twiml=True,
                voice_url=request.url,
                voice_method=request.method,
                twiml=_kept(request.twiml) if request.url is None else None,
                fallback_url=request.fallback_url or current.fallback_url,
                fallback_method=request.fallback_method or current.fallback_method,
                status_callback=request.status_callback or current.status_callback,
                status_callback_method=request.status_callback_method
                or current.status_callback_method,
                time_limit=request.time_limit or current.time_limit,
                updated_at_ms=self._clock.now_ms(),
            )
            calls.save(conn, changed)
            where = request.url or "the Twiml parameter"
            detail = [("note", f"redirected by the Calls API to {where}")]
            self._events.step(conn, sid, "note", "redirect", url=request.url, detail=detail)
            return changed

        changed = await self._db.write(unit)
        if changed.status != QUEUED:  # a queued call reads its new TwiML when it is dialled
            instruction: Instruction = (
                Fetch(request.url, request.method, fallback=True)
                if request.url is not None
                else Inline(_kept(request.twiml) or "")
            )
            await self.runner.redirect(sid, account_sid, instruction)  # starts one if none ran
        return changed

    # --- the control plane -----------------------------------------------------------------------

    async def create(self, request: InboundCall) -> CallRecord:
        """A control-plane call (see the module's docstring)."""
        if request.caller is not None and request.caller not in CALLER_MODES:
            raise ValueError(f"caller must be one of {', '.join(CALLER_MODES)}")
        now = self._clock.now_ms()
        sid = self._ids.sid("CA")
        twiml = request.voice_url is not None
        from_ = request.from_ or (DEFAULT_FROM if twiml else None)
        phone = None  # a call naming its own caller keeps it
        if request.caller is None and not request.script:
            phone = self._phones.at(request.account_sid, from_)
        if phone is not None:
            request = replace(request, caller=phone.caller, script=dict(phone.script))
        record = CallRecord(
            sid,
            request.account_sid,
            RINGING if twiml else IN_PROGRESS,
            now,
            now,
            direction=INBOUND,
            to=request.to or (DEFAULT_TO if twiml else None),
            from_=from_,
            caller=request.caller,
            url=request.url,
            runs_twiml=twiml,
            voice_url=request.voice_url,
            voice_method=request.method,
            fallback_url=request.fallback_url,
            fallback_method=request.fallback_method,
            status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_events=request.status_callback_events,
            start_time_ms=None if twiml else now,
        )

        def unit(conn: sqlite3.Connection) -> CallRecord:
            if accounts.get(conn, request.account_sid) is None:
                raise UnknownResource(f"account {request.account_sid} does not exist")
            calls.insert_record(conn, record)
            if phone is not None:
                self._events.step(conn, sid, "note", "phone", detail=_answered_by(phone))
            if twiml:
                self._events.step(conn, sid, "status", RINGING, detail=[("note", "inbound call")])
                self._db.after_commit(partial(self.runner.start, sid, request.account_sid))
            return record

        self._scripts.set(sid, request.script)  # validates before anything is written
        return await self._db.write(unit)

    async def hang_up(self, sid: str) -> CallRecord:
        """The caller hangs up: the call ends (``completed``, or ``canceled`` before it was
        answered); a session still active on it ends with ``caller-hung-up``. A call that has
        ended stays as it is."""
        call = calls.load(self._db.conn, sid)
        if call is None:
            raise UnknownResource(f"call {sid} does not exist")
        if not call.live:
            return call
        return await self._end(sid, COMPLETED if call.status == IN_PROGRESS else CANCELED)

    async def _end(self, sid: str, status: str) -> CallRecord:
        await self.runner.stop(sid)

        def unit(conn: sqlite3.Connection) -> CallRecord:
            call = calls.load(conn, sid)
            if call is None:
                raise UnknownResource(f"call {sid} does not exist")
            if not call.live:
                return call
            return self._events.move(conn, call, status, self._clock.now_ms())

        ended = await self._db.write(unit)
        self._scripts.forget(sid)
        return ended

    async def key(self, sid: str, digits: str) -> CallRecord:
        """The caller keys ``digits`` into the call's ``<Gather>``, or into the item its
        ``<Pay>`` asks for: up to a ``#`` an entry (the keys after it are not taken: the next
        prompt has not been played yet), without one part of it, ``*`` ends the ``<Pay>``.
        Raises :class:`UnknownResource`, or :class:`NotGathering`."""
        call = calls.load(self._db.conn, sid)
        if call is None:
            raise UnknownResource(f"call {sid} does not exist")
        payment_sid = self.runner.paying(sid)
        if payment_sid is not None:
            entry, ended, _ = digits.partition("#")
            star = entry.find("*")
            try:
                if star >= 0:
                    await self._caller.key_in(payment_sid, "*", partial=False)
                elif entry or ended:
                    await self._caller.key_in(payment_sid, entry, partial=not ended)
            except NothingToCapture:
                raise NotGathering(f"call {sid}'s <Pay> is not asking for anything") from None
            return call
        if not self.runner.key(sid, digits):
            raise NotGathering(f"call {sid} is not in a <Gather> or a <Pay>")
        return call

    # --- reads -------------------------------------------------------------------------------------

    def get(self, sid: str) -> CallRecord | None:
        return calls.load(self._db.conn, sid)

    def steps(self, sid: str) -> list[CallStep]:
        return call_steps.of_call(self._db.conn, sid)

    def status_callbacks(self, sid: str) -> list[CallbackRecord]:
        """The call's own status callbacks (not its sessions', not its ``<Pay>``s'), in
        order."""
        found = self._log.find({"call_sid": sid})
        return [c for c in found if c.payment_sid is None and c.event not in PAY_EVENTS]

    def pay_callbacks(self, sid: str) -> list[CallbackRecord]:
        """What the call's ``<Pay>``s sent on the outbox (statusCallbacks, an ``action``
        requested after the call ended), in order."""
        return [c for c in self._log.find({"call_sid": sid}) if c.event in PAY_EVENTS]

    def waiting(self, sid: str) -> str | None:
        return self.runner.waiting(sid)


def _kept(twiml: str | None) -> str | None:
    """A ``Twiml`` parameter as the emulator keeps and runs it: card numbers masked (the
    emulator says nothing aloud; what it records must hold no card data)."""
    return mask_card_numbers(twiml) if twiml is not None else None


def _answered_by(phone: Phone) -> list[tuple[str, object]]:
    """A timeline note: the call's caller came from a phone set up ahead (its items only)."""
    items = ", ".join(phone.items) or "none: the defaults"
    return [
        ("note", f"the caller is the phone set up at {phone.number}"),
        ("caller", phone.caller),
        ("script_items", items),
    ]
