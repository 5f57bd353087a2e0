"""``<Pay>`` on a call: the verb runs a payment session of the same machine, stored like an
agent's, and drives it step by step as an agent would.

For each item ``<Pay>`` needs, in Twilio's order (a card's number, expiry, security code when
``securityCode``, postal code when ``postalCode`` is true; a bank account's routing number,
then account number, each entered twice when a ``<Prompt requireMatchingInputs="true">`` asks
for it), the verb chooses the ``<Prompt>`` the caller hears (:mod:`emulator.domain.prompts`;
recorded on the call's timeline, nothing is spoken), captures the item and waits for the
caller: the auto caller keys its script, a manual one what a test keys
(``POST /_emulator/payments/{Sid}/input``, or the call's digits ending with ``#``); the
``timeout`` runs from the prompt, on the emulator's clock. A refused entry or silence is a
failed try: the item is asked again until its tries run out (``Result=too-many-failed-attempts``,
``PaymentError`` naming the last error). ``*`` ends it (``caller-interrupted-with-star``).
Then the session's connector processes the payment (built-in: at once; a Generic Pay
Connector: its endpoint, with the ``<Parameter>``s as ``parameters``) and the ``action`` is
requested; the TwiML it answers continues the call ("Twilio continues the current call using
the TwiML message returned in the response from the action URL").

Before any of that, :mod:`.pay_start` checks the attributes, the connector and the call (an
agent's session already on it); a ``<Pay>`` they stop asks nothing and requests the
``action`` with its ``Result`` at once.

A hang-up ends the session with ``caller-hung-up`` (its action is sent by
:mod:`.pay_events`); a redirect by the Calls API ends it too, cancelled, and requests
nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from functools import partial
from typing import Final
from urllib.parse import urlsplit

from emulator.clock import Clock
from emulator.domain import machine
from emulator.domain.pay_payloads import Params, action_params
from emulator.domain.prompts import Asking, choose
from emulator.domain.records import SessionRecord
from emulator.domain.twiml import Notice, Pause, Pay, Play, Say
from emulator.domain.twiml_pay import MaxAttemptsMeans
from emulator.domain.twiml_prompt import Prompt
from emulator.domain.vocabulary import AUTO, MATCHER_SUFFIX
from emulator.domain.voice import resolve
from emulator.ids import IdGenerator
from emulator.services.call_flow import Fetch, Live, Loaded, Outcome, Runtime
from emulator.services.caller import Caller
from emulator.services.pay_events import PayEvents
from emulator.services.pay_start import PayStarts
from emulator.services.sessions import Sessions
from emulator.services.settlement import SettlementService
from emulator.services.vault import KeyedSoFar, Vault
from emulator.store import sessions as session_store
from emulator.store.db import Database

__all__ = ["PayVerb"]

_ENDED: Final = "ended"  # what waiting for the caller comes to when the session ended
_STARTED = SessionRecord | Params


def _heard(prompt: Prompt | None, step: str) -> list[tuple[str, object]]:
    """The prompt's step detail: which one, and what the caller hears."""
    if prompt is None:
        return [("prompt", f"Twilio's default prompt for {step}")]
    heard: list[str] = []
    for child in prompt.children:
        if isinstance(child, Say):
            heard.append(child.text)
        elif isinstance(child, Play):
            heard.append(f"(plays {child.url or child.digits})")
        elif isinstance(child, Pause):
            heard.append(f"(pauses {child.length} s)")
    return [("prompt", prompt.describe()), ("says", " ".join(heard) or None)]


class PayVerb:
    """Runs ``<Pay>`` (``CallRunner.handle(Pay, pay_verb.run)``)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        sessions: Sessions,
        caller: Caller,
        settlement: SettlementService,
        vault: Vault,
        keyed: KeyedSoFar,
        events: PayEvents,
        *,
        max_attempts_means: MaxAttemptsMeans = "retries",
        action_https_only: bool = False,
    ) -> None:
        self._db = db
        self._clock = clock
        self._sessions = sessions
        self._caller = caller
        self._settlement = settlement
        self._vault = vault
        self._keyed = keyed
        self._events = events
        self._https_only = action_https_only
        self._starts = PayStarts(
            db, clock, ids, sessions, caller, vault, events, max_attempts_means
        )

    # --- the verb ----------------------------------------------------------------------------

    async def run(self, run: Runtime, live: Live, verb: Pay, loaded: Loaded) -> Outcome:
        action = resolve(loaded.base, verb.action) if verb.action else loaded.base
        if action is None:
            notice = Notice(
                15004,
                "Action Callback URL must be an absolute URL when using TwiML to update"
                f" in-progress calls: <Pay> action {verb.action or '(none)'!r} has no document"
                " URL to resolve against",
                "error",
            )
            await run.application_error(live, notice, None)
            return None
        if self._https_only and urlsplit(action).scheme != "https":
            notice = Notice(
                64016, f"Pay: Invalid Action URL: {action[:200]} does not use https://", "error"
            )
            await run.application_error(live, notice, None)
            return None
        status_callback = None
        if verb.status_callback:
            status_callback = resolve(loaded.base, verb.status_callback)
            if status_callback is None:
                why = f"<Pay> statusCallback {verb.status_callback[:200]!r} has no document URL"
                notice = Notice(11100, f"Invalid URL format: {why}: none is sent")
                await run.write(lambda conn: run.events.notice(conn, live.sid, notice))
        live.waiting = "pay"  # before the step: whoever sees the step sees the wait
        started: _STARTED | None = None
        try:
            started = await run.write(
                partial(self._start, run, live, verb, action, status_callback)
            )
            if not isinstance(started, SessionRecord):
                return Fetch(action, "POST", tuple(started))
            live.paying = started.sid
            queue = self._events.watch(started.sid)
            ended = False
            for item in started.session.config.items():
                if not item.endswith(MATCHER_SUFFIX) and await self._ask(
                    run, live, verb, started, item, queue
                ):
                    ended = True
                    break
            if not ended:
                await self._process(run, verb, started.sid, queue)
            record = session_store.load(self._db.conn, started.sid)
            if record is None:
                return None  # wiped by a reset
            return Fetch(action, "POST", tuple(action_params(record)))
        except asyncio.CancelledError:
            if isinstance(started, SessionRecord) and live.redirected:
                await self._abandon(started.sid)
            raise
        finally:
            live.waiting, live.paying = None, None
            if isinstance(started, SessionRecord):
                self._events.unwatch(started.sid)

    # --- the start ---------------------------------------------------------------------------

    def _start(
        self,
        run: Runtime,
        live: Live,
        verb: Pay,
        action: str,
        status_callback: str | None,
        conn: sqlite3.Connection,
    ) -> _STARTED:
        """The session, or the action request's parameters of a ``<Pay>`` that asks nothing;
        the verb's step on the timeline either way."""
        call = run.call(conn, live.sid)
        started, detail = self._starts.start(conn, call, verb, action, status_callback)
        run.events.step(conn, live.sid, "verb", "Pay", detail=detail)
        return started

    # --- asking for an item ------------------------------------------------------------------

    async def _ask(
        self,
        run: Runtime,
        live: Live,
        verb: Pay,
        record: SessionRecord,
        item: str,
        queue: asyncio.Queue[machine.Event],
    ) -> bool:
        """Ask for ``item`` until it is entered or its tries run out; True: the session
        ended."""
        assert record.pay is not None
        error: str | None = None
        for attempt in range(1, record.pay.tries + 1):
            outcome = await self._entry(run, verb, record.sid, item, attempt, error, queue)
            if outcome is None and item in verb.matching:  # entered: now once more
                second = item + MATCHER_SUFFIX
                outcome = await self._entry(
                    run, verb, record.sid, second, attempt, None, queue, matching=True
                )
            if outcome is None:
                return False
            if outcome == _ENDED:
                return True
            error = outcome
        assert error is not None
        await run.write(partial(self._give_up, record.sid, machine.ErrorType(error)))
        return True

    async def _entry(
        self,
        run: Runtime,
        verb: Pay,
        sid: str,
        item: str,
        attempt: int,
        error: str | None,
        queue: asyncio.Queue[machine.Event],
        *,
        matching: bool = False,
    ) -> str | None:
        """One try: the prompt, the capture, the caller's entry. None: it was accepted; else
        the error that refused it, or :data:`_ENDED`."""
        while not queue.empty():  # what came before this prompt is not its answer
            queue.get_nowait()

        def unit(conn: sqlite3.Connection) -> bool:
            now = self._clock.now_ms()
            record = session_store.load(conn, sid)
            if record is None or record.session.state is not machine.State.ACTIVE:
                return False
            assert record.pay is not None
            step = item.removesuffix(MATCHER_SUFFIX)
            asking = Asking(step, attempt, error, record.session.card_brand, matching)
            prompt = choose(verb.prompts, asking)
            detail: list[tuple[str, object]] = [("session", sid), ("for", step)]
            detail.append(("attempt", attempt))
            if matching:
                detail.append(("entry", "second (requireMatchingInputs)"))
            if error is not None:
                detail.append(("after", error))
            self._events.step(
                conn, record.call_sid, "prompt", step, [*detail, *_heard(prompt, step)]
            )
            session, event = machine.capture(record.session, item)
            pay = replace(record.pay, attempt=attempt)
            record = replace(record, session=session, pay=pay, updated_at_ms=now)
            record = self._sessions.save(conn, record, now)
            self._sessions.announce(conn, record, event, now)
            self._keyed.drop(sid)
            if record.caller == AUTO:
                self._db.after_commit(partial(self._caller.schedule_auto_entry, sid, item))
            return True

        if not await run.write(unit):
            return _ENDED
        while True:
            event = await queue.get()
            kind = event.kind
            if kind is machine.EventKind.CAPTURE or (
                kind is machine.EventKind.KEY_IN and event.partial
            ):
                continue
            if kind in (machine.EventKind.KEY_IN, machine.EventKind.INPUT_TIMEOUT):
                if event.item != item:
                    continue  # an entry for an earlier prompt
                return event.error_type.value if event.error_type is not None else None
            return _ENDED

    def _give_up(self, sid: str, error: machine.ErrorType, conn: sqlite3.Connection) -> None:
        """The tries at the item ran out: the session ends."""
        now = self._clock.now_ms()
        record = session_store.load(conn, sid)
        if record is None or record.session.state is not machine.State.ACTIVE:
            return
        session, event = machine.attempts_exhausted(record.session, error)
        record = self._sessions.save(conn, replace(record, session=session, updated_at_ms=now), now)
        self._sessions.announce(conn, record, event, now)
        self._keyed.drop(sid)
        self._db.after_commit(partial(self._vault.drop, sid))

    # --- processing --------------------------------------------------------------------------

    async def _process(
        self, run: Runtime, verb: Pay, sid: str, queue: asyncio.Queue[machine.Event]
    ) -> None:
        """Everything is entered: the connector processes the payment; until it has."""
        while not queue.empty():
            queue.get_nowait()

        def unit(conn: sqlite3.Connection) -> bool:
            now = self._clock.now_ms()
            record = session_store.load(conn, sid)
            if record is None or record.session.state is not machine.State.ACTIVE:
                return False
            step = "payment-processing"
            prompt = choose(verb.prompts, Asking(step))
            heard = [("session", sid), *_heard(prompt, step)]
            self._events.step(conn, record.call_sid, "prompt", step, heard)
            self._events.processing(conn, record, now)
            connector = self._settlement.connector_of(conn, record)
            session, event = machine.complete(
                record.session, self._settlement.settler(record, connector)
            )
            record = self._sessions.save(
                conn, replace(record, session=session, updated_at_ms=now), now
            )
            if event.kind is machine.EventKind.PROCESS:
                self._settlement.start_connector_request(record, connector)
            else:
                self._db.after_commit(partial(self._vault.drop, sid))
            self._sessions.announce(conn, record, event, now)
            return event.kind is machine.EventKind.PROCESS

        if not await run.write(unit):
            return
        while (await queue.get()).kind not in _DONE:
            pass

    # --- a redirect --------------------------------------------------------------------------

    async def _abandon(self, sid: str) -> None:
        """The Calls API redirected the call: the session, if still active, is cancelled (no
        action is requested: the call runs its new TwiML)."""

        def unit(conn: sqlite3.Connection) -> None:
            now = self._clock.now_ms()
            record = session_store.load(conn, sid)
            if record is None or record.session.state is not machine.State.ACTIVE:
                return
            session, event = machine.cancel(record.session)
            record = replace(record, session=session, updated_at_ms=now)
            record = self._sessions.save(conn, record, now)
            self._sessions.announce(conn, record, event, now)
            note = "the call was redirected: the <Pay> ends, and no action is requested"
            self._events.step(conn, record.call_sid, "note", "redirect", [("note", note)])
            self._keyed.drop(sid)
            self._db.after_commit(partial(self._vault.drop, sid))

        await self._db.write(unit)


_DONE: Final = frozenset(
    {
        machine.EventKind.COMPLETE,
        machine.EventKind.HANG_UP,
        machine.EventKind.STAR,
        machine.EventKind.CANCEL,
    }
)
